"""Tables add up: every total and sub-total of every dimension and of the region hierarchy is
the sum of the cells below it, on SQLite and PostgreSQL, for any period."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date
from typing import Any

import pytest
from stats_helpers import random_rows, victim_source

from opschub.db import Database
from opschub.stats import catalogue, engine, periods, service, sources

TOTAL = "total"


def _cells(table: dict[str, Any]) -> dict[tuple[str, ...], Any]:
    dims = table["dimensions"]
    return {tuple(c["key"][d] for d in dims): c["value"] for c in table["cells"]}


def _children(table: dict[str, Any], dim: str, value: str, domain: list[str]) -> list[str]:
    if value != TOTAL:
        return [c for c, p in table["hierarchy"].items() if p == value] if dim == "region" else []
    if dim == "region":
        return [c for c, p in table["hierarchy"].items() if p == TOTAL]
    return [v for v in domain if v != TOTAL]


def assert_adds_up(table: dict[str, Any]) -> int:
    """Every cell that has children along any dimension equals their sum; returns the number
    of relations checked."""
    dims = table["dimensions"]
    cells = _cells(table)
    domains = [sorted({k[i] for k in cells}) for i in range(len(dims))]
    checked = 0
    for key, value in cells.items():
        for i, dim in enumerate(dims):
            children = _children(table, dim, key[i], domains[i])
            if not children:
                continue
            parts = [cells[(*key[:i], c, *key[i + 1 :])] for c in children]
            assert value == sum(parts), (key, dim, value, parts)
            checked += 1
    return checked


@pytest.mark.parametrize("period", ["2026", "2026-Q2", "2026-03", "all"])
def test_victims_by_region_sex_and_age_add_up_at_every_level(
    database: Database, monkeypatch: pytest.MonkeyPatch, period: str
) -> None:
    rows = random_rows(600)
    with victim_source(database, monkeypatch, rows), database.read() as session:
        table = service.table(session, "victims", ["region", "sex", "age_band"], period)
    parsed = periods.parse(period)
    inside = [
        r
        for r in rows
        if parsed.start is None or parsed.start <= r["opened_on"] < parsed.end  # type: ignore[operator]
    ]
    cells = _cells(table)
    # The grand total is the number of rows in the period; every level adds up.
    assert cells[(TOTAL, TOTAL, TOTAL)] == len(inside)
    assert assert_adds_up(table) > 300
    # The hierarchy: districts roll up to provinces, provinces to the country, the country and
    # the unknown region to the total.
    assert table["hierarchy"]["XA-01-02"] == "XA-01"
    assert table["hierarchy"]["XA-01"] == "XA"
    assert table["hierarchy"]["XA"] == TOTAL
    assert table["hierarchy"]["unknown"] == TOTAL
    # Facts recorded at a province that has districts sit in its "not allocated" part.
    assert table["hierarchy"]["XA-02-unallocated"] == "XA-02"
    expected = Counter(r["org_unit_code"] for r in inside)
    assert cells[("XA-02-unallocated", TOTAL, TOTAL)] == expected["XA-02"]
    assert cells[("XA-01-03", TOTAL, TOTAL)] == expected["XA-01-03"]
    assert cells[("unknown", TOTAL, TOTAL)] == expected[None]
    # NULL sex is counted as unknown; zeros are cells too (a full table).
    sex = Counter(r["sex"] or "unknown" for r in inside)
    assert cells[(TOTAL, "unknown", TOTAL)] == sex["unknown"]
    assert cells[(TOTAL, "other", TOTAL)] == 0


def test_each_dimension_alone_gives_the_same_total(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = random_rows(300, seed=11)
    dims = ["region", "sex", "age_band", "form", "setting"]
    with victim_source(database, monkeypatch, rows), database.read() as session:
        totals = set()
        for pair in itertools.combinations(dims, 2):
            table = service.table(session, "victims", list(pair), "2026")
            assert_adds_up(table)
            totals.add(_cells(table)[(TOTAL, TOTAL)])
        assert totals == {300}
        plain = service.table(session, "victims", [], "2026")
    assert plain["cells"] == [{"key": {}, "value": 300, "status": "published"}]
    assert plain["hierarchy"] == {}


def test_a_dimension_the_indicator_does_not_allow_is_refused(database: Database) -> None:
    with database.read() as session, pytest.raises(engine.StatsError, match="allowed: channel"):
        service.table(session, "reports_received", ["sex"], "2026")


def test_an_unknown_indicator_names_the_known_ones(database: Database) -> None:
    with database.read() as session, pytest.raises(catalogue.CatalogueError, match="victims"):
        service.table(session, "victim", [], "2026")


def test_a_source_not_yet_installed_says_so(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        sources.SOURCES,
        "cases.victims",
        sources.Source("cases.victims", "opschub.nowhere", "victim_facts", "on"),
    )
    with database.read() as session:
        assert "source not available" in (
            service.source_status(session, catalogue.builtin().get("victims")) or ""
        )
        with pytest.raises(sources.SourceUnavailable, match="source not available"):
            service.table(session, "victims", ["sex"], "2026")


def test_periods() -> None:
    assert periods.parse("2026-Q1") == periods.Period("2026-Q1", date(2026, 1, 1), date(2026, 4, 1))
    assert periods.parse("2026-12").end == date(2027, 1, 1)
    assert periods.parse("2026Q4").label == "2026-Q4" and periods.parse("202603").label == "2026-03"
    assert periods.parse("2026").contains(periods.parse("2026-03"))
    assert not periods.parse("2026-Q1").contains(periods.parse("2026-04"))
    with pytest.raises(periods.PeriodError, match="2026-Q1"):
        periods.parse("2026-13")


def test_the_catalogue_has_every_built_in_the_issue_asks_for() -> None:
    ids = set(catalogue.builtin().indicators)
    assert {
        "reports_received",
        "self_reports_received",
        "items_confirmed",
        "notices_sent",
        "mean_hours_to_removal",
        "cases_opened",
        "victims",
        "suspects",
        "investigations",
        "prosecutions",
        "convictions",
        "sanctions",
        "referrals",
        "services_given",
        "compensation_ordered",
        "compensation_paid",
    } <= ids
    victims = catalogue.builtin().get("victims")
    assert {"sex", "age_band", "region"} <= set(victims.dimensions)
    assert victims.name("zh-Hans") == "儿童被害人"


def test_a_bad_indicator_definition_names_each_field() -> None:
    text = """
[[indicator]]
id = "Bad Id"
name_en = "x"
numerator = { source = "cases.cases", measure = "median:age" }
unit = "cases"
dimensions = ["planet"]
"""
    with pytest.raises(catalogue.CatalogueError) as caught:
        catalogue.parse(text, builtin=False, base=catalogue.builtin())
    errors = "\n".join(caught.value.errors)
    assert "indicator 1.id" in errors and "indicator 1.name_zh: required" in errors
    assert "indicator 1.numerator.measure: 'median:age'" in errors
    assert "unknown dimension 'planet'" in errors
