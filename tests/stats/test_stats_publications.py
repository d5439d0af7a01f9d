"""Publications: protected and audited before anything leaves, blocked when the audit fails,
versioned, recording which data and which method made them, and reproducible."""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from stats_helpers import HIERARCHY, random_rows, victim_source

from opschub.db import Database
from opschub.stats import engine, service
from opschub.stats.models import Publication

CONTENTS = [{"indicator": "victims", "by": ["region", "sex"]}]


@pytest.fixture
def disclosure() -> types.ModuleType:
    from opschub.stats import disclosure

    return disclosure


@pytest.fixture
def victims(database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with victim_source(database, monkeypatch, random_rows(400, seed=3)):
        monkeypatch.setattr(engine, "region_parents", lambda session: dict(HIERARCHY))
        yield


@pytest.mark.usefixtures("victims")
def test_a_publication_withholds_small_cells_and_is_reproducible(
    database: Database, disclosure: types.ModuleType
) -> None:
    with database.transaction() as session:
        pub = service.publish(session, None, "2026", contents=CONTENTS)
    assert pub.version == 1
    (table,) = pub.tables
    raw_small = [c for c in table["cells"] if c["status"] == "suppressed"]
    assert raw_small and all(c["value"] is None for c in raw_small)
    assert all("raw_value" not in c for c in table["cells"])  # never in what is published
    assert pub.parameters == {"method": "suppress", "threshold": 10, "interval": 0.3, "base": 5}
    with database.read() as session:
        again = service.reproduce(session, 1)
    assert again.same and again.input_digest == pub.input_digest
    # New data: the same method no longer reproduces version 1, and says it is the data.
    from datetime import date

    from sqlalchemy import insert
    from stats_helpers import FACTS

    with database.transaction() as session:
        session.execute(
            insert(FACTS),
            [
                {
                    "id": 10_000,
                    "opened_on": date(2026, 5, 1),
                    "org_unit_code": "XA-01-01",
                    "sex": "female",
                    "age_band": "5-9",
                    "form": "csam",
                    "setting": "online",
                }
            ],
        )
    with database.read() as session:
        changed = service.reproduce(session, 1)
    assert not changed.same and not changed.input_same
    with database.transaction() as session:
        second = service.publish(session, None, "2026", contents=CONTENTS)
    assert second.version == 2 and second.input_digest != pub.input_digest


@pytest.mark.usefixtures("victims")
def test_a_failing_audit_blocks_publication_and_stores_nothing(
    database: Database, disclosure: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    def leaky(table: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Withholds one small district cell and nothing else: its value is its province's
        total minus its published neighbours, and the other small cells are in plain sight."""
        cells = [dict(c) for c in table["cells"]]
        for cell in cells:
            if cell["key"]["region"].count("-") == 2 and 0 < cell["value"] < 10:
                cell.update(value=None, status="primary")
                break
        return {**table, "cells": cells}

    monkeypatch.setattr(disclosure, "protect_table", leaky)
    with database.transaction() as session, pytest.raises(service.PublicationBlocked) as caught:
        service.publish(session, None, "2026", contents=CONTENTS)
    assert caught.value.at_risk and all(c.startswith("victims ") for c in caught.value.at_risk)
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Publication)) == 0
