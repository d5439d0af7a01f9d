"""The attacker against random tables: 2 to 4 dimensions, a three-level region hierarchy, many small
cells. Whatever the table, protection hides every small count, the totals still add up, and the
attacker's programs cannot narrow any hidden cell; and the attacker does catch a table that hides a
cell alone."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opschub.stats.disclosure import audit_table, protect_table
from opschub.stats.disclosure.model import DisclosureError, check_additive, parse_table
from opschub.stats.disclosure.synthetic import random_table

tables = st.builds(
    lambda seed, provinces, districts, flat, share: random_table(
        np.random.default_rng(seed),
        provinces=provinces,
        districts=districts,
        flat=tuple(flat),
        small_share=share,
    ),
    seed=st.integers(0, 2**32 - 1),
    provinces=st.integers(2, 3),
    districts=st.integers(2, 3),
    flat=st.lists(st.integers(2, 3), min_size=1, max_size=3).filter(
        lambda f: int(np.prod([s + 1 for s in f])) <= 27
    ),
    share=st.floats(0.3, 0.7),
)


def _internal(protected: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    return {
        **protected,
        "cells": [
            {**p, "raw_value": r["value"]} if p["value"] is None else p
            for p, r in zip(protected["cells"], raw["cells"], strict=True)
        ],
    }


@settings(
    max_examples=6, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(raw=tables)
def test_protected_random_tables_survive_the_attacker(raw: dict[str, Any]) -> None:
    protected = protect_table(raw)
    for p, r in zip(protected["cells"], raw["cells"], strict=True):
        if 1 <= r["value"] <= 9:
            assert p["value"] is None and p["status"] == "primary"
        elif p["value"] is not None:
            assert p["value"] == r["value"] and p["status"] == "published"
        else:
            assert p["status"] == "secondary"
    result = audit_table(_internal(protected, raw))
    assert result.ok, result.reasons
    assert audit_table(protected).ok  # also with the published values alone


@settings(
    max_examples=6, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(raw=tables)
def test_controlled_rounding_of_random_tables_adds_up(raw: dict[str, Any]) -> None:
    try:
        rounded = protect_table(raw, method="round", base=5)
    except DisclosureError as exc:
        # A two-way table always has a controlled rounding; three or more dimensions may have
        # none (a known property of controlled rounding), and then the method says so.
        assert len(raw["dimensions"]) >= 3, exc
        assert "protect it by suppression instead" in str(exc)
        return
    for c, r in zip(rounded["cells"], raw["cells"], strict=True):
        assert c["value"] % 5 == 0 and abs(c["value"] - r["value"]) < 5
    check_additive(parse_table(rounded, need_values=True))


@settings(max_examples=20, deadline=None, derandomize=True)
@given(raw=tables, pick=st.integers(0, 10**6))
def test_the_attacker_catches_a_cell_hidden_alone(raw: dict[str, Any], pick: int) -> None:
    leaky = json.loads(json.dumps(raw))
    # hide exactly one cell: it is its total minus the published rest
    target = leaky["cells"][pick % len(leaky["cells"])]
    target["raw_value"] = target["value"]
    target["value"] = None
    target["status"] = "primary"
    result = audit_table(leaky)
    assert not result.ok
    keys = [r.key for r in result.at_risk]
    assert target["key"] in keys
    hit = result.at_risk[keys.index(target["key"])]
    assert hit.low == hit.high  # recovered exactly
