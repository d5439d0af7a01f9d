"""The follow-up services on SQLite and PostgreSQL: consent overrides, the order of proceedings,
stage alarms with an injected clock, limitation deadlines stored and listed, informing
reminders, and personal text encrypted at rest."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from cases_followup_helpers import (
    SUPERVISOR,
    WORKER,
    FakeBackend,
    case_with_people,
    fake_cases,
    store_case_rows,
)
from sqlalchemy import select, text

from opschub.audit.models import AuditEvent
from opschub.cases import informing, proceedings, referrals
from opschub.cases.followup_common import (
    FollowupInvalid,
    FollowupNotFound,
    FollowupRefused,
    StaleEdit,
)
from opschub.cases.limitation import Birth
from opschub.clock import frozen
from opschub.db import Database

CASE = "c" * 32
VICTIM = "v" * 32
SUSPECT = "s" * 32
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def cases(database: Database) -> Iterator[FakeBackend]:
    with fake_cases() as backend, frozen(NOW):
        store_case_rows(database, case_with_people(backend))
        yield backend


def _service(database: Database, **kwargs: object) -> str:
    with database.transaction() as session:
        return referrals.add_service(
            session,
            WORKER,
            **{"org_unit_code": "XA-01", "kind": "one_stop_centre", "name": "Centre", **kwargs},  # type: ignore[arg-type]
        ).id


def _actions(database: Database) -> list[tuple[str, str]]:
    with database.read() as session:
        return [
            (e.action, e.outcome)
            for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
        ]


def test_a_referral_records_who_consented_and_is_audited(
    database: Database, cases: FakeBackend
) -> None:
    service_id = _service(database, languages=["zh", "en"])
    with database.transaction() as session:
        view = referrals.refer(
            session,
            WORKER,
            case_id=CASE,
            service_id=service_id,
            consent_by="guardian",
            person_id=VICTIM,
            due_on=date(2026, 12, 15),
        )
    assert (view.status, view.consent_by, view.delivery_state) == ("sent", "guardian", "not_sent")
    assert ("cases.referral.created", "ok") in _actions(database)


def test_a_consent_override_needs_the_permission(database: Database, cases: FakeBackend) -> None:
    service_id = _service(database)
    with (
        pytest.raises(FollowupRefused, match=r"cases\.consent_override"),
        database.transaction() as session,
    ):
        referrals.refer(
            session,
            WORKER,
            case_id=CASE,
            service_id=service_id,
            consent_by="override",
            override_reason="The guardian is the suspect and the child is 4.",
        )
    with database.read() as session:
        assert referrals.referrals_of(session, CASE) == []


def test_a_consent_override_needs_a_reason_even_with_the_permission(
    database: Database, cases: FakeBackend
) -> None:
    service_id = _service(database)
    with pytest.raises(FollowupInvalid) as caught, database.transaction() as session:
        referrals.refer(
            session, SUPERVISOR, case_id=CASE, service_id=service_id, consent_by="override"
        )
    assert [e.field for e in caught.value.errors] == ["override_reason"]
    with database.transaction() as session:
        view = referrals.refer(
            session,
            SUPERVISOR,
            case_id=CASE,
            service_id=service_id,
            consent_by="override",
            override_reason="The guardian is the suspect and the child is 4.",
        )
    assert view.consent_by == "override"


def test_the_override_reason_is_encrypted_at_rest(database: Database, cases: FakeBackend) -> None:
    service_id = _service(database, contact="Ms Example, 555-0100")
    reason = "The guardian is the suspect and the child is 4."
    with database.transaction() as session:
        referrals.refer(
            session,
            SUPERVISOR,
            case_id=CASE,
            service_id=service_id,
            consent_by="override",
            override_reason=reason,
        )
    with database.engine.connect() as connection:
        raw = connection.execute(text("SELECT override_reason FROM case_referrals")).scalar_one()
        contact = connection.execute(text("SELECT contact FROM referral_services")).scalar_one()
    assert reason.encode() not in bytes(raw)
    assert b"555-0100" not in bytes(contact)


def test_a_referral_moves_only_along_its_states_and_refuses_stale_edits(
    database: Database, cases: FakeBackend
) -> None:
    service_id = _service(database)
    with database.transaction() as session:
        view = referrals.refer(
            session, WORKER, case_id=CASE, service_id=service_id, consent_by="child"
        )
    with (
        pytest.raises(FollowupInvalid, match="cannot become service_given"),
        database.transaction() as session,
    ):
        referrals.follow_up(
            session, WORKER, view.id, to_status="service_given", expected_version=view.version
        )
    with database.transaction() as session:
        accepted = referrals.follow_up(
            session,
            WORKER,
            view.id,
            to_status="accepted",
            expected_version=view.version,
            next_due_on=date(2026, 12, 20),
        )
    assert accepted.status == "accepted" and accepted.version == view.version + 1
    with pytest.raises(StaleEdit) as stale, database.transaction() as session:
        referrals.follow_up(
            session, WORKER, view.id, to_status="closed", expected_version=view.version
        )
    assert stale.value.current["status"] == "accepted"


def test_overdue_referrals_are_listed(database: Database, cases: FakeBackend) -> None:
    service_id = _service(database)
    with database.transaction() as session:
        referrals.refer(
            session,
            WORKER,
            case_id=CASE,
            service_id=service_id,
            consent_by="child",
            due_on=date(2026, 12, 5),
        )
    with database.read() as session:
        assert referrals.overdue(session, today=date(2026, 12, 5)) == []
        (late,) = referrals.overdue(session, today=date(2026, 12, 6))
    assert late.case_id == CASE and late.overdue


def test_a_case_one_may_not_see_does_not_exist(database: Database, cases: FakeBackend) -> None:
    cases.cases[CASE].hidden_from.add(WORKER.id)
    with pytest.raises(FollowupNotFound), database.transaction() as session:
        informing.log_told(
            session,
            WORKER,
            case_id=CASE,
            told_on=date(2026, 11, 1),
            who="child",
            language="zh",
            form="in_person",
            what="x",
        )


def _step(database: Database, kind: str, on: date, **kwargs: object) -> proceedings.StepView:
    with database.transaction() as session:
        return proceedings.record_step(
            session, WORKER, case_id=CASE, suspect_id=SUSPECT, kind=kind, on=on, **kwargs
        )  # type: ignore[arg-type]


def test_a_conviction_without_prosecution_is_refused_and_nothing_is_stored(
    database: Database, cases: FakeBackend
) -> None:
    _step(database, "investigation_opened", date(2026, 2, 1))
    with pytest.raises(FollowupInvalid) as caught:
        _step(database, "conviction", date(2026, 5, 1))
    assert [(e.field, e.code) for e in caught.value.errors] == [("kind", "requires")]
    with database.read() as session:
        assert [s.kind for s in proceedings.steps_of(session, CASE)] == ["investigation_opened"]


def test_steps_must_be_in_date_order_and_name_a_suspect_of_the_case(
    database: Database, cases: FakeBackend
) -> None:
    _step(database, "investigation_opened", date(2026, 2, 1))
    with pytest.raises(FollowupInvalid) as caught:
        _step(database, "charged", date(2026, 1, 20))
    assert {e.code for e in caught.value.errors} == {"before_required"}
    with pytest.raises(FollowupInvalid) as caught, database.transaction() as session:
        proceedings.record_step(
            session, WORKER, case_id=CASE, suspect_id=VICTIM, kind="charged", on=date(2026, 3, 1)
        )
    assert "suspect_id" in [e.field for e in caught.value.errors]


def test_the_check_shows_the_same_problems_before_saving(
    database: Database, cases: FakeBackend
) -> None:
    with database.read() as session:
        problems = proceedings.check(
            session, case_id=CASE, suspect_id=SUSPECT, kind="sentence", on=date(2026, 5, 1)
        )
    assert [p.code for p in problems] == ["requires"]


def test_stage_alarms_follow_the_injected_clock(database: Database, cases: FakeBackend) -> None:
    _step(database, "investigation_opened", date(2026, 2, 1))
    _step(database, "charged", date(2026, 3, 1))
    with database.read() as session:
        targets = {"charged": 60}
        assert proceedings.stage_alarms(session, today=date(2026, 4, 30), targets=targets) == []
        (alarm,) = proceedings.stage_alarms(session, today=date(2026, 5, 1), targets=targets)
    assert (alarm.case_id, alarm.suspect_id, alarm.stage, alarm.days) == (
        CASE,
        SUSPECT,
        "charged",
        61,
    )


def test_an_open_case_with_a_suspect_and_no_investigation_raises_an_alarm(
    database: Database, cases: FakeBackend
) -> None:
    with database.read() as session:
        (alarm,) = proceedings.stage_alarms(session, today=date(2026, 2, 1), targets={"opened": 14})
    assert alarm.stage == "opened" and alarm.since == date(2026, 1, 10)


def test_the_limitation_deadline_is_computed_from_the_victims_birth(
    database: Database, cases: FakeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opschub import config

    monkeypatch.setenv("OPSCHUB_CASES_LIMITATION_RULES", '{"grooming": "10y"}')
    config.get_settings.cache_clear()
    cases.cases[CASE].births[VICTIM] = Birth(on=date(2008, 2, 29))
    with database.transaction() as session:
        offence = proceedings.add_offence(
            session,
            WORKER,
            case_id=CASE,
            offence_code="grooming",
            committed_on=date(2020, 6, 1),
            victim_id=VICTIM,
        )
    assert (offence.rule, offence.starts_on, offence.falls_on) == (
        "10y",
        date(2026, 3, 1),
        date(2036, 3, 1),
    )
    assert offence.state == "running"
    with database.read() as session:
        assert proceedings.limitation_warnings(session, today=date(2034, 3, 1), warn_days=730) == []
        (warning,) = proceedings.limitation_warnings(session, today=date(2034, 3, 2), warn_days=730)
    assert warning.state == "warning"
    config.get_settings.cache_clear()


def test_an_offence_code_must_be_a_form_of_exploitation(
    database: Database, cases: FakeBackend
) -> None:
    with pytest.raises(FollowupInvalid, match="offence_code"), database.transaction() as session:
        proceedings.add_offence(
            session, WORKER, case_id=CASE, offence_code="burglary", committed_on=date(2020, 1, 1)
        )


def test_a_step_that_must_be_told_stays_a_reminder_until_logged(
    database: Database, cases: FakeBackend
) -> None:
    _step(database, "investigation_opened", date(2026, 2, 1))
    charged = _step(database, "charged", date(2026, 11, 20))
    with database.read() as session:
        (reminder,) = informing.reminders(session, today=date(2026, 12, 1), within_days=7)
    assert (reminder.step_id, reminder.overdue) == (charged.id, True)
    what = "We explained that the man was charged and what happens next."
    with database.transaction() as session:
        informing.log_told(
            session,
            WORKER,
            case_id=CASE,
            told_on=date(2026, 11, 30),
            who="child_and_guardian",
            language="zh",
            form="in_person",
            what=what,
            steps=[charged.id],
        )
    with database.read() as session:
        assert informing.reminders(session, today=date(2026, 12, 1), within_days=7) == []
        (entry,) = informing.log_of(session, CASE)
    assert entry.what == what
    with database.engine.connect() as connection:
        raw = connection.execute(text("SELECT what FROM case_informed_log")).scalar_one()
    assert b"charged" not in bytes(raw)
    assert ("cases.informed.logged", "ok") in _actions(database)


def test_the_informed_log_names_every_bad_field(database: Database, cases: FakeBackend) -> None:
    with pytest.raises(FollowupInvalid) as caught, database.transaction() as session:
        informing.log_told(
            session,
            WORKER,
            case_id=CASE,
            told_on=date(2027, 1, 1),
            who="neighbour",
            language="",
            form="smoke",
            what=" ",
            steps=["nope"],
        )
    assert {e.field for e in caught.value.errors} == {
        "told_on",
        "who",
        "language",
        "form",
        "what",
        "steps",
    }
