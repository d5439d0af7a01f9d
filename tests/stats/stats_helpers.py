"""A synthetic case-level fact table for the stats tests: a source the engine reads like any
capability's facts Select, over a table created on the test's database (SQLite or PostgreSQL),
and a three-level region hierarchy (country > provinces > districts)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Column, Date, Integer, MetaData, String, Table, insert, select

from opschub.db import Database
from opschub.stats import engine, sources

METADATA = MetaData()
FACTS = Table(
    "stats_test_victim_facts",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("opened_on", Date, nullable=False),
    Column("org_unit_code", String(32)),
    Column("sex", String(16)),
    Column("age_band", String(16)),
    Column("form", String(32)),
    Column("setting", String(16)),
)

HIERARCHY: dict[str, str | None] = {"XA": None}
for p in (1, 2, 3):
    HIERARCHY[f"XA-0{p}"] = "XA"
    for d in (1, 2, 3):
        HIERARCHY[f"XA-0{p}-0{d}"] = f"XA-0{p}"
DISTRICTS = [c for c in HIERARCHY if c.count("-") == 2]


def victim_facts() -> Any:
    return select(
        FACTS.c.opened_on,
        FACTS.c.org_unit_code,
        FACTS.c.sex,
        FACTS.c.age_band,
        FACTS.c.form,
        FACTS.c.setting,
    )


def random_rows(count: int, seed: int = 7, year: int = 2026) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = date(year, 1, 1)
    rows = []
    for i in range(count):
        rows.append(
            {
                "id": i + 1,
                "opened_on": start + timedelta(days=rng.randrange(365)),
                # Mostly districts; some recorded at a province, one without a region.
                "org_unit_code": rng.choice([*DISTRICTS, *DISTRICTS, "XA-02", None]),
                "sex": rng.choice(["female", "female", "male", "unknown", None]),
                "age_band": rng.choice(["5-9", "10-14", "10-14", "15-17", "unknown"]),
                "form": rng.choice(["csam", "grooming", "prostitution", "sexual_extortion"]),
                "setting": rng.choice(["online", "offline", "both"]),
            }
        )
    return rows


@contextmanager
def victim_source(
    database: Database, monkeypatch: pytest.MonkeyPatch, rows: list[dict[str, Any]]
) -> Iterator[None]:
    """cases.victims answered by the synthetic table, with the demo-like hierarchy."""
    METADATA.create_all(database.engine)
    try:
        if rows:
            with database.transaction() as session:
                session.execute(insert(FACTS), rows)
        monkeypatch.setitem(
            sources.SOURCES,
            "cases.victims",
            sources.Source("cases.victims", __name__, "victim_facts", "opened_on"),
        )
        monkeypatch.setattr(engine, "region_parents", lambda session: dict(HIERARCHY))
        yield
    finally:
        METADATA.drop_all(database.engine)
