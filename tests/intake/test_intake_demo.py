"""Demo data: loads into an empty system, covers every status, matches its list, removes cleanly."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from opschub.db import Database
from opschub.intake import demo, service
from opschub.intake.models import STATUSES, Report, ReportUrl
from opschub.matching.store import HashListStore


def test_demo_load_and_remove(database: Database, store: HashListStore) -> None:
    with database.transaction() as session:
        summary = demo.load(session, store)
    assert summary.reports > 0
    with database.transaction() as session:
        reports = session.scalars(select(Report)).all()
        assert all(r.is_demo for r in reports)
        assert {r.status for r in reports} == set(STATUSES)
        assert {r.channel for r in reports} == {"public", "self_report", "partner"}
        assert any("known_match" in r.priority_reasons for r in reports)
        hosts = set(session.scalars(select(ReportUrl.host)))
        assert hosts <= {"example.org", "www.example.net", "example.net"}
    assert store.exists(demo.DEMO_LIST)
    # Demo self-reports stay out of the real self-reported list shared with partners.
    assert not store.exists(service.SELF_REPORTED_LIST)
    with database.transaction() as session, pytest.raises(demo.DemoError, match="already"):
        demo.load(session, store)
    with database.transaction() as session:
        assert demo.remove(session, store) == summary.reports
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Report)) == 0
    assert not store.exists(demo.DEMO_LIST)


def test_demo_refuses_a_system_with_real_reports(database: Database, store: HashListStore) -> None:
    with database.transaction() as session:
        service.submit_report(
            session, service.ReportIn(channel="public", urls=["https://example.org/real"])
        )
    with database.transaction() as session, pytest.raises(demo.DemoError, match="real reports"):
        demo.load(session, store)
