"""The demo cases: small realistic counts through the service; the large generator for
benchmarks writes whole chunks that the facts and the case list read like any other case."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opschub.accounts.permissions import Role, permissions_of
from opschub.accounts.principal import Principal
from opschub.cases import demo, demo_large, facts, service, stages_state
from opschub.cases.followup_models import (
    CaseInformed,
    CaseOffence,
    CaseProceeding,
    CaseReferral,
    CaseStageWait,
    ReferralService,
)
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
    summary = demo_large.load_large(database, cases=250)
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


def _follow_up_state(session: Session) -> tuple[set[tuple[object, ...]], set[tuple[object, ...]]]:
    waits = {
        tuple(row)
        for row in session.execute(
            select(
                CaseStageWait.suspect_id,
                CaseStageWait.track,
                CaseStageWait.case_id,
                CaseStageWait.stage,
                CaseStageWait.since,
            )
        )
    }
    told = {tuple(row) for row in session.execute(select(CaseProceeding.id, CaseProceeding.told))}
    return waits, told


def test_large_demo_follows_every_case_and_stores_what_the_writers_would(
    database: Database,
) -> None:
    summary = demo_large.load_large(database, cases=600)
    assert summary.steps > 0 and summary.waits > 0
    with database.read() as session:
        before = _follow_up_state(session)
        count = lambda model: session.scalar(select(func.count()).select_from(model))  # noqa: E731
        assert count(CaseOffence) == count(CaseReferral) == 600
        assert count(CaseProceeding) == summary.steps
        assert count(CaseStageWait) == summary.waits
        assert 100 < count(CaseInformed) < 300  # about a third
        # no proceedings step against a child suspect (the protected track)
        children = select(CasePerson.id).where(CasePerson.protected_track.is_(True))
        assert (
            session.scalar(select(func.count()).where(CaseProceeding.suspect_id.in_(children))) == 0
        )
        # some steps must be told and some of those were told, some not
        marks = {told for _, told in before[1]}
        assert marks == {True, False, None}
    with database.transaction() as session:
        # what the writers keep at write time, computed again from what is recorded
        stages_state.refresh(session)
    with database.read() as session:
        after = _follow_up_state(session)
    assert after == before


def test_large_demo_raises_stage_alarms_and_limitation_warnings(database: Database) -> None:
    from datetime import date

    from opschub.cases import proceedings

    demo_large.load_large(database, cases=300)
    with database.read() as session:
        alarms = proceedings.stage_alarms(
            session, today=date.today(), targets={"opened": 30, "charged": 60}, limit=20
        )
        assert alarms and {a.stage for a in alarms} <= {"opened", "charged"}
        assert all(a.days > a.target for a in alarms)
        assert proceedings.limitation_warnings(
            session, today=date.today(), warn_days=365 * 60, case_ids=None
        )


def test_demo_remove_takes_the_demo_cases_people_and_unused_regions_and_keeps_real_data(
    database: Database,
) -> None:
    from opschub.orgunits import demo as orgunits_demo
    from opschub.orgunits import service as orgunits
    from opschub.orgunits.models import OrgUnit

    with database.transaction() as session:
        demo.load(session)
    demo_large.load_large(database, cases=120)
    real_unit = {"code": "XR", "parent": "", "level": "1", "name_en": "Real", "name_zh": "真实"}
    cli = service.Importer(name="command line")
    with database.transaction() as session:
        orgunits.load_rows(session, None, [real_unit])
        # a real case in a demo district keeps that district and the regions above it
        real = service.open_case(
            session, cli, service.CaseIn(title="A real case", org_unit="XA-02-03")
        )
        service.add_person(session, cli, real.id, service.PersonIn(role="victim"))
    with database.transaction() as session:
        gone = demo.remove(session)
    assert gone.cases == demo.SMALL_CASES + 120
    assert gone.people >= 360
    assert set(gone.units) == {u["code"] for u in orgunits_demo.DEMO_UNITS} - {
        "XA",
        "XA-02",
        "XA-02-03",
    }
    with database.read() as session:
        assert [c for c in session.scalars(select(Case.id))] == [real.id]
        assert session.scalar(select(func.count()).select_from(CasePerson)) == 1
        assert set(session.scalars(select(OrgUnit.code))) == {"XA", "XA-02", "XA-02-03", "XR"}
        assert orgunits.descendants(session, "XA") == ["XA", "XA-02", "XA-02-03"]
        assert demo.loaded(session) == 0
        assert session.scalar(select(func.count()).select_from(ReferralService)) == 0
        assert session.scalar(select(func.count()).select_from(CaseProceeding)) == 0
    with database.transaction() as session:
        again = demo.remove(session)
    assert (again.cases, again.people, again.units) == (0, 0, ())


def test_demo_remove_on_the_command_line_leaves_no_demo_case_or_region(
    database: Database,
) -> None:
    from typer.testing import CliRunner

    from opschub.cli import app
    from opschub.orgunits.models import OrgUnit

    runner = CliRunner()
    loaded = runner.invoke(app, ["demo", "load", "--size", "large", "--cases", "40"])
    assert loaded.exit_code == 0, loaded.output
    assert "Added 40 demo cases with 120 people and " in loaded.output
    removed = runner.invoke(app, ["demo", "remove"])
    assert removed.exit_code == 0, removed.output
    assert f"Removed {demo.SMALL_CASES + 40} demo cases" in removed.output
    assert "13 demo regions" in removed.output
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0
        assert session.scalar(select(func.count()).select_from(CasePerson)) == 0
        assert session.scalar(select(func.count()).select_from(OrgUnit)) == 0
