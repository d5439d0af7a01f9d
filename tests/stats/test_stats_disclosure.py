"""Disclosure control: what an attacker can and cannot learn from a protected table."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from opschub.stats.disclosure import (
    DisclosureError,
    audit_table,
    protect_table,
    public_table,
    rate_table,
)
from opschub.stats.disclosure.synthetic import random_table
from opschub.stats.disclosure_cli import register


def two_way(values: dict[tuple[str, str], int]) -> dict[str, Any]:
    """A region x sex table with every total, from its inner cells."""
    regions = sorted({r for r, _ in values})
    sexes = sorted({s for _, s in values})
    cells = []
    for r in [*regions, "total"]:
        for s in [*sexes, "total"]:
            value = sum(
                v
                for (rr, ss), v in values.items()
                if (r == "total" or rr == r) and (s == "total" or ss == s)
            )
            cells.append({"key": {"region": r, "sex": s}, "value": value, "status": "published"})
    return {
        "indicator": "victims",
        "period": "2026",
        "dimensions": ["region", "sex"],
        "hierarchy": {},
        "cells": cells,
    }


def internal(protected: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    return {
        **protected,
        "cells": [
            {**p, "raw_value": r["value"]} if p["value"] is None else p
            for p, r in zip(protected["cells"], raw["cells"], strict=True)
        ],
    }


def cell(table: dict[str, Any], **key: str) -> dict[str, Any]:
    return next(c for c in table["cells"] if c["key"] == key)


SMALL = two_way(
    {
        ("XA-01", "female"): 3,
        ("XA-01", "male"): 40,
        ("XA-01", "unknown"): 25,
        ("XA-02", "female"): 30,
        ("XA-02", "male"): 0,
        ("XA-02", "unknown"): 18,
        ("XA-03", "female"): 22,
        ("XA-03", "male"): 35,
        ("XA-03", "unknown"): 50,
    }
)


def test_a_small_count_is_hidden_and_cannot_be_recovered_from_the_totals() -> None:
    protected = protect_table(SMALL)
    assert cell(protected, region="XA-01", sex="female") == {
        "key": {"region": "XA-01", "sex": "female"},
        "value": None,
        "status": "primary",
    }
    # a zero is never a small count to hide (it may serve as a complement)
    assert cell(protected, region="XA-02", sex="male")["status"] != "primary"
    assert cell(protected, region="total", sex="total")["value"] == 223
    # a lone suppressed cell in its row would be the row total minus the rest: complements exist
    row = [c for c in protected["cells"] if c["key"]["region"] == "XA-01"]
    assert sum(c["value"] is None for c in row) >= 2
    column = [c for c in protected["cells"] if c["key"]["sex"] == "female"]
    assert sum(c["value"] is None for c in column) >= 2
    assert protected["disclosure"] == {"method": "suppress", "threshold": 10, "interval": 0.3}
    for checked in (internal(protected, SMALL), protected):
        result = audit_table(checked)
        assert result.ok, result.reasons


def test_the_audit_names_a_cell_that_is_the_only_one_hidden_in_its_row() -> None:
    leaky = json.loads(json.dumps(SMALL))
    target = cell(leaky, region="XA-01", sex="female")
    target.update(value=None, status="primary", raw_value=3)
    result = audit_table(leaky)
    assert not result.ok
    assert [r.key for r in result.at_risk] == [{"region": "XA-01", "sex": "female"}]
    assert result.at_risk[0].low == pytest.approx(3)
    assert result.at_risk[0].high == pytest.approx(3)
    # without the raw value the attacker's answer is the same
    del target["raw_value"]
    assert not audit_table(leaky).ok


def test_an_unprotected_table_is_blocked_for_its_small_published_counts() -> None:
    result = audit_table(SMALL)
    assert not result.ok
    assert {"region": "XA-01", "sex": "female"} in [r.key for r in result.at_risk]


def test_threshold_is_configurable_per_call() -> None:
    protected = protect_table(SMALL, threshold=20)
    hidden = {
        c["key"]["region"] + "/" + c["key"]["sex"]
        for c in protected["cells"]
        if c["status"] == "primary"
    }
    assert hidden == {"XA-01/female", "XA-02/unknown"}  # 3 and 18 are below 20; 22 is not
    assert audit_table(internal(protected, SMALL), threshold=20).ok
    assert protect_table(SMALL, threshold=1)["cells"] == [
        {**c, "status": "published"} for c in SMALL["cells"]
    ]


def test_a_three_level_region_hierarchy_is_protected_at_every_level() -> None:
    raw = random_table(np.random.default_rng(7), provinces=3, districts=3, flat=(3,))
    protected = protect_table(raw)
    statuses = [c["status"] for c in protected["cells"]]
    assert "primary" in statuses and "secondary" in statuses
    for c, r in zip(protected["cells"], raw["cells"], strict=True):
        if 1 <= r["value"] <= 9:
            assert c["value"] is None
    assert audit_table(internal(protected, raw)).ok
    assert audit_table(protected).ok


def test_controlled_rounding_keeps_totals_additive_and_multiples_unchanged() -> None:
    raw = random_table(np.random.default_rng(3), provinces=2, districts=3, flat=(4,))
    rounded = protect_table(raw, method="round", base=5)
    values = {json.dumps(c["key"], sort_keys=True): c["value"] for c in rounded["cells"]}
    for c, r in zip(rounded["cells"], raw["cells"], strict=True):
        assert c["status"] == "rounded" and c["value"] % 5 == 0
        assert abs(c["value"] - r["value"]) < 5
        if r["value"] % 5 == 0:
            assert c["value"] == r["value"]
    # additive: every district's row total equals the sum of its categories
    for c in rounded["cells"]:
        if c["key"]["d1"] == "total":
            parts = [
                values[json.dumps({**c["key"], "d1": f"c{j}"}, sort_keys=True)] for j in range(1, 5)
            ]
            assert c["value"] == sum(parts)
    assert audit_table(rounded).ok
    assert protect_table(raw, method="round", base=3)["disclosure"] == {
        "method": "round",
        "base": 3,
    }


def test_rates_on_suppressed_counts_are_suppressed() -> None:
    protected = protect_table(SMALL)
    population = json.loads(json.dumps(SMALL))
    for c in population["cells"]:
        c["value"] = c["value"] * 100 + 1000
    rates = rate_table(protected, population, scale=1000)
    for r, p in zip(rates["cells"], protected["cells"], strict=True):
        if p["value"] is None:
            assert r["value"] is None and r["status"] == p["status"]
        else:
            assert r["value"] is not None
    assert cell(rates, region="XA-01", sex="female")["value"] is None


def test_the_public_table_does_not_tell_small_counts_from_complements() -> None:
    protected = internal(protect_table(SMALL), SMALL)
    public = public_table(protected)
    hidden = [c for c in public["cells"] if c["value"] is None]
    assert hidden and {c["status"] for c in hidden} == {"suppressed"}
    assert all("raw_value" not in c for c in public["cells"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t["cells"][0].update(value=99), "not additive"),
        (lambda t: t["cells"][0].update(value=-1), "cells[0]"),
        (lambda t: t["cells"][1]["key"].pop("sex"), "cells[1]"),
        (lambda t: t.update(dimensions=[]), "dimensions"),
        (lambda t: t["cells"].pop(), "missing"),
        (lambda t: t["cells"][2].update(value=None), "value is missing"),
    ],
)
def test_a_bad_table_is_refused_naming_what_is_wrong(change: Any, message: str) -> None:
    bad = json.loads(json.dumps(SMALL))
    change(bad)
    with pytest.raises(DisclosureError, match=re.escape(message)):
        protect_table(bad)


def _cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:  # a group, like `opschub stats`
        pass

    register(app)
    return app


def test_stats_audit_command_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    safe = tmp_path / "safe.json"
    safe.write_text(json.dumps(protect_table(SMALL)), encoding="utf-8")
    done = runner.invoke(_cli(), ["audit", str(safe)])
    assert done.exit_code == 0, done.output
    assert "safe" in done.output

    leaky = json.loads(json.dumps(SMALL))
    cell(leaky, region="XA-01", sex="female").update(value=None, status="primary")
    risky = tmp_path / "risky.json"
    risky.write_text(json.dumps(leaky), encoding="utf-8")
    found = runner.invoke(_cli(), ["audit", str(risky)])
    assert found.exit_code == 1
    assert "region=XA-01, sex=female" in found.output
    assert "[3, 3]" in found.output
    as_json = runner.invoke(_cli(), ["audit", str(risky), "--format", "json"])
    assert as_json.exit_code == 1
    report = json.loads(as_json.stdout)
    assert report["ok"] is False
    assert report["at_risk"][0]["key"] == {"region": "XA-01", "sex": "female"}

    broken = tmp_path / "broken.json"
    broken.write_text('{"dimensions": ["region",\n  }', encoding="utf-8")
    bad = runner.invoke(_cli(), ["audit", str(broken)])
    assert bad.exit_code == 2
    assert "line 2" in bad.output
    shape = tmp_path / "shape.json"
    shape.write_text(
        json.dumps({"dimensions": ["region"], "cells": [{"key": {}}]}), encoding="utf-8"
    )
    wrong = runner.invoke(_cli(), ["audit", str(shape)])
    assert wrong.exit_code == 2
    assert "cells[0]" in wrong.output
