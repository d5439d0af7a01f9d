"""The demo cases: small realistic counts through the service; the large generator for
benchmarks writes whole chunks that the facts and the case list read like any other case."""

from __future__ import annotations

from sqlalchemy import func, select

from opschub.accounts.permissions import Role, permissions_of
from opschub.accounts.principal import Principal
from opschub.cases import demo, facts, service
from opschub.cases.models import Case, CasePerson
from opschub.db import Database


def test_small_demo_spreads_cases_over_the_districts(database: Database) -> None:
    with database.transaction() as session:
        assert demo.load(session) == demo.SMALL_CASES
        assert demo.load(session) == 0  # once only
    with database.read() as session:
        rows = session.execute(facts.case_facts()).mappings().all()
        assert len(rows) == demo.SMALL_CASES
        assert len({r["org_unit_code"] for r in rows}) > 3
        victims = session.execute(facts.victim_facts()).mappings().all()
        assert all(v["age_band"] in ("5-9", "10-14", "15-17") for v in victims)


def test_large_demo_generates_cases_and_people_in_chunks(database: Database) -> None:
    summary = demo.load_large(database, cases=250)
    assert (summary.cases, summary.people) == (250, 750)
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 250
        protected = session.scalar(
            select(func.count()).select_from(CasePerson).where(CasePerson.protected_track)
        )
        assert protected and protected > 0
        everyone = Principal(
            "token", "t", "bench", Role.CASE_WORKER, permissions_of(Role.CASE_WORKER)
        )
        page = service.list_cases(session, everyone, limit=50)
        assert len(page) == 50 and not any(r.restricted for r in page)
        assert page == sorted(page, key=lambda r: (r.opened_at, r.id), reverse=True)
