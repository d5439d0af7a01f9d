"""The follow-up over real cases (cases-core's service behind the port), on both engines: a case
followed from opening to compensation paid, scopes applied to the dashboard lists, the protected
track kept out of proceedings, and the statistics facts grouped by the database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from factories import create_actor
from opschub.accounts.principal import Principal
from opschub.cases import followup_facts, followup_port, informing, proceedings, referrals, service
from opschub.cases.followup_common import FollowupInvalid, FollowupNotFound
from opschub.clock import frozen
from opschub.db import Database

OPENED = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def _case(database: Database, actor: Principal) -> tuple[str, str, str]:
    with frozen(OPENED), database.transaction() as session:
        case = service.open_case(
            session,
            actor,
            service.CaseIn(
                title="Grooming in a game chat",
                org_unit="XA-01-01",
                setting="online",
                forms=[("grooming", "committed")],
            ),
        )
        victim = service.add_person(
            session, actor, case.id, service.PersonIn(role="victim", birth_date=date(2012, 2, 29))
        )
        suspect = service.add_person(
            session,
            actor,
            case.id,
            service.PersonIn(role="suspect", estimated_age=35, offender_category="adult"),
        )
        return case.id, victim.id, suspect.id


def test_a_case_is_followed_from_opening_to_compensation_paid(units: Database) -> None:
    database = units
    worker = create_actor(database)
    case_id, victim_id, suspect_id = _case(database, worker)
    steps = [
        ("investigation_opened", date(2024, 3, 5), None),
        ("charged", date(2024, 6, 1), None),
        ("prosecution", date(2024, 7, 1), None),
        ("hearing", date(2024, 9, 1), None),
        ("conviction", date(2024, 9, 15), None),
        ("sentence", date(2024, 10, 1), None),
        ("compensation_ordered", date(2024, 10, 1), "5000"),
        ("compensation_paid", date(2025, 1, 10), "5000"),
    ]
    with frozen(datetime(2025, 2, 1, tzinfo=UTC)):
        with database.transaction() as session:
            service_id = referrals.add_service(
                session, worker, org_unit_code="XA-01", kind="one_stop_centre", name="Centre"
            ).id
            referrals.refer(
                session,
                worker,
                case_id=case_id,
                service_id=service_id,
                consent_by="guardian",
                person_id=victim_id,
            )
            offence = proceedings.add_offence(
                session,
                worker,
                case_id=case_id,
                offence_code="grooming",
                committed_on=date(2023, 12, 1),
                victim_id=victim_id,
            )
        # Born 29 Feb 2012: 18 on 1 March 2030 (the default leap-day rule), then 10 years.
        assert (offence.starts_on, offence.falls_on) == (date(2030, 3, 1), date(2040, 3, 1))
        for kind, on, amount in steps:
            with database.transaction() as session:
                proceedings.record_step(
                    session,
                    worker,
                    case_id=case_id,
                    suspect_id=suspect_id,
                    kind=kind,
                    on=on,
                    amount=amount,
                )
        with database.read() as session:
            kinds = [
                r.kind for r in informing.reminders(session, today=date(2025, 2, 1), within_days=7)
            ]
        assert kinds == ["charged", "hearing", "conviction", "sentence"]
        with database.transaction() as session:
            informing.log_told(
                session,
                worker,
                case_id=case_id,
                told_on=date(2025, 1, 20),
                who="child_and_guardian",
                language="zh",
                form="in_person",
                what="Everything so far, in words for a 12-year-old.",
            )
        with database.read() as session:
            assert informing.reminders(session, today=date(2025, 2, 1), within_days=7) == []
            # Compensation paid, sentence served: nothing waits any more.
            assert (
                proceedings.stage_alarms(
                    session,
                    today=date(2025, 2, 1),
                    targets={"sentence": 1, "compensation_ordered": 1},
                )
                == []
            )
            facts = followup_facts.proceeding_facts().subquery()
            stages = dict(
                session.execute(select(facts.c.stage, func.count()).group_by(facts.c.stage)).all()
            )
            comp = followup_facts.compensation_facts().subquery()
            paid = session.execute(
                select(comp.c.kind, func.sum(comp.c.amount))
                .group_by(comp.c.kind)
                .order_by(comp.c.kind)
            ).all()
            ref = followup_facts.referral_facts().subquery()
            referred = session.execute(
                select(ref.c.org_unit_code, ref.c.service_kind, ref.c.status)
            ).all()
    assert stages == {"investigation": 1, "prosecution": 3, "conviction": 1, "sentence": 1}
    assert [(k, Decimal(a)) for k, a in paid] == [
        ("ordered", Decimal("5000")),
        ("paid", Decimal("5000")),
    ]
    assert referred == [("XA-01-01", "one_stop_centre", "sent")]


def test_another_case_workers_case_stays_out_of_the_lists(units: Database) -> None:
    database = units
    owner, other = create_actor(database), create_actor(database)
    case_id, _victim, _suspect = _case(database, owner)
    with database.read() as session:
        with pytest.raises(FollowupNotFound):
            followup_port.require_case(session, other, case_id)
        mine = followup_port.visible_case_ids(session, owner)
        theirs = followup_port.visible_case_ids(session, other)
        assert proceedings.stage_alarms(
            session, today=date(2025, 1, 1), targets={"opened": 1}, case_ids=mine
        )
        assert (
            proceedings.stage_alarms(
                session, today=date(2025, 1, 1), targets={"opened": 1}, case_ids=theirs
            )
            == []
        )


def test_no_proceedings_against_a_child_on_the_protected_track(units: Database) -> None:
    database = units
    worker = create_actor(database)
    case_id, _victim, _suspect = _case(database, worker)
    with frozen(OPENED), database.transaction() as session:
        child = service.add_person(
            session, worker, case_id, service.PersonIn(role="suspect", estimated_age=15)
        )
    with pytest.raises(FollowupInvalid) as caught, database.transaction() as session:
        proceedings.record_step(
            session,
            worker,
            case_id=case_id,
            suspect_id=child.id,
            kind="investigation_opened",
            on=date(2024, 3, 5),
        )
    assert [e.field for e in caught.value.errors] == ["suspect_id"]
