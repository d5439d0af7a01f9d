"""Gaps the review of issue 13 found, on both engines: limitation deadlines follow a corrected
birth date and a changed national rule (around the 18th birthday and 29 February), a refused
attempt to record a child victim as a suspect for images of themselves stays on record, and a
referral without consent is a case supervisor's grant only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from factories import create_actor, logged_in_client
from opschub import config
from opschub.accounts.permissions import Role, permissions_of
from opschub.accounts.principal import Principal
from opschub.audit.models import AuditEvent
from opschub.audit.service import verify_chain
from opschub.cases import proceedings, referrals, service
from opschub.cases.followup_common import FollowupRefused
from opschub.cases.models import CasePerson
from opschub.clock import frozen
from opschub.db import Database
from opschub.jobs import service as jobs
from opschub.jobs.runner import run_job

OPENED = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
LATER = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set OPSCHUB_* variables for one test; the settings are read again after each change."""
    config.get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    config.get_settings.cache_clear()


def _set(env: pytest.MonkeyPatch, name: str, value: str) -> None:
    env.setenv(name, value)
    config.get_settings.cache_clear()


def _case_with_victim(database: Database, actor: Principal, **birth: Any) -> tuple[str, str]:
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
            session, actor, case.id, service.PersonIn(role="victim", **birth)
        )
        return case.id, victim.id


def _offence(
    database: Database, actor: Principal, case_id: str, victim_id: str, code: str, on: date
) -> str:
    with frozen(OPENED), database.transaction() as session:
        return proceedings.add_offence(
            session, actor, case_id=case_id, offence_code=code, committed_on=on, victim_id=victim_id
        ).id


def _offences(database: Database, case_id: str) -> dict[str, proceedings.OffenceView]:
    with frozen(LATER), database.read() as session:
        return {o.id: o for o in proceedings.offences_of(session, case_id)}


def _edit_birth(database: Database, actor: Principal, person_id: str, **birth: Any) -> None:
    with frozen(LATER), database.transaction() as session:
        person = session.get(CasePerson, person_id)
        assert person is not None
        service.update_person(session, actor, person_id, version=person.version_id, changes=birth)


def _events(database: Database, action: str) -> list[AuditEvent]:
    with database.read() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
            )
        )


# -- 1. the limitation clock follows a corrected birth ------------------------------------------


@pytest.mark.parametrize(
    ("born", "starts", "falls"),
    [
        # grooming: 10 years from the later of the offence (2024-01-10) and the 18th birthday
        (date(2006, 1, 9), date(2024, 1, 10), date(2034, 1, 10)),  # 18 the day before
        (date(2006, 1, 10), date(2024, 1, 10), date(2034, 1, 10)),  # 18 on the day
        (date(2006, 1, 11), date(2024, 1, 11), date(2034, 1, 11)),  # 18 the day after
    ],
)
def test_a_corrected_birth_date_around_the_18th_birthday_moves_the_deadline(
    units: Database, settings_env: pytest.MonkeyPatch, born: date, starts: date, falls: date
) -> None:
    worker = create_actor(units)
    case_id, victim_id = _case_with_victim(units, worker, estimated_age=40)
    offence_id = _offence(units, worker, case_id, victim_id, "grooming", date(2024, 1, 10))
    before = _offences(units, case_id)[offence_id]
    assert (before.starts_on, before.falls_on, before.exact) == (
        date(2024, 1, 10),
        date(2034, 1, 10),
        False,
    )
    _edit_birth(units, worker, victim_id, birth_date=born)
    after = _offences(units, case_id)[offence_id]
    assert (after.starts_on, after.falls_on, after.exact) == (starts, falls, True)
    (event,) = _events(units, "cases.offence.recomputed")
    assert event.actor_id == worker.id and event.target_id == case_id
    assert event.details["cause"] == "birth" and event.details["falls_on"] == falls.isoformat()
    assert event.details["falls_on_before"] == "2034-01-10"
    with units.read() as session:
        person = session.get(CasePerson, victim_id)
        assert person is not None
        assert (person.birth_date, person.estimated_age) == (born, None)
        assert person.age_at_opening == 18 and person.age_band is None
        assert verify_chain(session).intact


@pytest.mark.parametrize(
    ("leap", "starts", "falls"),
    [
        ("march_1", date(2030, 3, 1), date(2040, 3, 1)),
        ("february_28", date(2030, 2, 28), date(2040, 2, 28)),
    ],
)
def test_a_victim_born_on_29_february_gets_the_deadline_of_the_leap_day_rule(
    units: Database, settings_env: pytest.MonkeyPatch, leap: str, starts: date, falls: date
) -> None:
    _set(settings_env, "OPSCHUB_CASES_LEAP_DAY_BIRTHDAY", leap)
    worker = create_actor(units)
    # Only the month was known: the earliest 18th birthday is 1 March 2030.
    case_id, victim_id = _case_with_victim(units, worker, birth_month="2012-03")
    offence_id = _offence(units, worker, case_id, victim_id, "grooming", date(2024, 1, 10))
    assert _offences(units, case_id)[offence_id].falls_on == date(2040, 3, 1)
    _edit_birth(units, worker, victim_id, birth_date=date(2012, 2, 29))
    after = _offences(units, case_id)[offence_id]
    assert (after.starts_on, after.falls_on, after.exact) == (starts, falls, True)
    (event,) = _events(units, "cases.offence.recomputed")
    assert event.details["falls_on"] == falls.isoformat()
    with units.read() as session:
        person = session.get(CasePerson, victim_id)
        assert person is not None and person.birth_month is None  # replaced, not added


def test_an_edit_that_leaves_the_birth_alone_recomputes_nothing(units: Database) -> None:
    worker = create_actor(units)
    case_id, victim_id = _case_with_victim(units, worker, birth_date=date(2012, 2, 29))
    _offence(units, worker, case_id, victim_id, "grooming", date(2024, 1, 10))
    _edit_birth(units, worker, victim_id, nationality="CN")
    _edit_birth(units, worker, victim_id, birth_date=date(2012, 2, 29))
    assert _events(units, "cases.offence.recomputed") == []


def test_a_bad_birth_edit_names_the_field_and_changes_nothing(units: Database) -> None:
    worker = create_actor(units)
    case_id, victim_id = _case_with_victim(units, worker, birth_month="2012-03")
    offence_id = _offence(units, worker, case_id, victim_id, "grooming", date(2024, 1, 10))
    with pytest.raises(service.CaseInvalid) as invalid:
        _edit_birth(units, worker, victim_id, birth_month="2012-13")
    assert [e.field for e in invalid.value.errors] == ["birth_month"]
    with pytest.raises(service.CaseInvalid) as invalid:
        _edit_birth(units, worker, victim_id, birth_date=date(2012, 1, 1), estimated_age=12)
    assert [e.field for e in invalid.value.errors] == ["estimated_age"]
    assert _offences(units, case_id)[offence_id].falls_on == date(2040, 3, 1)
    assert _events(units, "cases.offence.recomputed") == []


def test_a_suspect_found_to_be_a_child_goes_to_the_protected_track_and_never_leaves_it(
    units: Database,
) -> None:
    worker = create_actor(units)
    case_id, _victim = _case_with_victim(units, worker, estimated_age=12)
    with frozen(OPENED), units.transaction() as session:
        suspect = service.add_person(
            session, worker, case_id, service.PersonIn(role="suspect", estimated_age=30)
        ).id
    _edit_birth(units, worker, suspect, birth_date=date(2008, 5, 1))
    with units.read() as session:
        person = session.get(CasePerson, suspect)
        assert person is not None
        assert person.protected_track and person.offender_category == "child"
        assert person.age_band == "15-17"
    with pytest.raises(service.CaseInvalid) as invalid:
        _edit_birth(units, worker, suspect, birth_date=date(1990, 5, 1))
    assert [e.field for e in invalid.value.errors] == ["birth_date"]


# -- 1. ... and a changed national rule ---------------------------------------------------------


def _review(database: Database, key: str) -> dict[str, Any]:
    with frozen(LATER), database.transaction() as session:
        job_id = jobs.schedule(session, kind="cases.stage_alarms", key=key).id
    with frozen(LATER):
        assert run_job(database, job_id, "test-worker") == "done"
    reviewed = _events(database, "cases.followup.reviewed")[-1]
    return dict(reviewed.details)


@pytest.mark.parametrize(
    ("leap", "grooming_falls", "offence_rule_falls"),
    [
        ("march_1", date(2045, 3, 1), date(2039, 3, 1)),
        ("february_28", date(2045, 2, 28), date(2039, 2, 28)),
    ],
)
def test_a_changed_national_rule_moves_stored_deadlines_in_the_daily_review(
    units: Database,
    settings_env: pytest.MonkeyPatch,
    leap: str,
    grooming_falls: date,
    offence_rule_falls: date,
) -> None:
    _set(settings_env, "OPSCHUB_CASES_LEAP_DAY_BIRTHDAY", leap)
    worker = create_actor(units)
    case_id, victim_id = _case_with_victim(units, worker, birth_date=date(2012, 2, 29))
    grooming = _offence(units, worker, case_id, victim_id, "grooming", date(2024, 1, 10))
    extortion = _offence(units, worker, case_id, victim_id, "sexual_extortion", date(2024, 2, 29))
    csam = _offence(units, worker, case_id, victim_id, "csam", date(2024, 1, 10))
    before = _offences(units, case_id)
    assert before[grooming].rule == "10y" and before[extortion].rule == "15y"
    assert _review(units, "review:1")["recomputed"] == 0

    _set(
        settings_env,
        "OPSCHUB_CASES_LIMITATION_RULES",
        json.dumps({"grooming": "15y", "sexual_extortion": "15y-offence", "csam": "20y"}),
    )
    assert _review(units, "review:2")["recomputed"] == 2
    after = _offences(units, case_id)
    # 15 years from the 18th birthday of a child born on 29 February
    assert (after[grooming].rule, after[grooming].falls_on) == ("15y", grooming_falls)
    # 15 years from an offence committed on 29 February
    assert after[extortion].starts_on == date(2024, 2, 29)
    assert (after[extortion].rule, after[extortion].falls_on) == ("15y-offence", offence_rule_falls)
    assert after[csam] == before[csam]
    events = _events(units, "cases.offence.recomputed")
    assert sorted(
        (e.details["offence"], e.details["rule_before"], e.details["rule"]) for e in events
    ) == [
        ("grooming", "10y", "15y"),
        ("sexual_extortion", "15y", "15y-offence"),
    ]
    assert {e.details["cause"] for e in events} == {"rule"}
    assert {e.actor_label for e in events} == {"daily case review"}
    # Nothing left to do the next day.
    assert _review(units, "review:3")["recomputed"] == 0
    assert len(_events(units, "cases.offence.recomputed")) == 2


def test_a_changed_leap_day_rule_moves_the_deadlines_it_governs_in_the_daily_review(
    units: Database, settings_env: pytest.MonkeyPatch
) -> None:
    worker = create_actor(units)
    case_id, victim_id = _case_with_victim(units, worker, birth_date=date(2012, 2, 29))
    # the clock starts on the 18th birthday of a child born on 29 February: 1 March 2030
    grooming = _offence(units, worker, case_id, victim_id, "grooming", date(2024, 1, 10))
    other_case, other_victim = _case_with_victim(units, worker, birth_date=date(2012, 5, 4))
    untouched = _offence(units, worker, other_case, other_victim, "grooming", date(2024, 1, 10))
    before = _offences(units, case_id)[grooming]
    assert (before.starts_on, before.falls_on) == (date(2030, 3, 1), date(2040, 3, 1))
    assert _review(units, "review:1")["recomputed"] == 0

    _set(settings_env, "OPSCHUB_CASES_LEAP_DAY_BIRTHDAY", "february_28")
    assert _review(units, "review:2")["recomputed"] == 1
    after = _offences(units, case_id)[grooming]
    assert (after.starts_on, after.falls_on) == (date(2030, 2, 28), date(2040, 2, 28))
    assert _offences(units, other_case)[untouched].falls_on == date(2040, 5, 4)
    (event,) = _events(units, "cases.offence.recomputed")
    assert (event.details["falls_on_before"], event.details["falls_on"]) == (
        "2040-03-01",
        "2040-02-28",
    )
    assert _review(units, "review:3")["recomputed"] == 0


# -- 3. a refused attempt is on record -----------------------------------------------------------


def _self_images_attempt(victim_id: str) -> dict[str, Any]:
    return {
        "role": "suspect",
        "victim_person_id": victim_id,
        "reason": "Shared the images with classmates",
        "acts": ["self_generated_images"],
    }


def test_the_api_keeps_a_refused_self_images_attempt_on_record_and_nothing_else(
    app: FastAPI, units: Database
) -> None:
    with logged_in_client(app, units, Role.CASE_WORKER) as worker:
        case = worker.post(
            "/api/v1/cases",
            json={
                "title": "Images shared in a class chat",
                "org_unit": "XA-01-01",
                "setting": "online",
                "forms": [{"form": "csam", "participation": "committed"}],
            },
        ).json()
        victim = worker.post(
            f"/api/v1/cases/{case['id']}/people", json={"role": "victim", "estimated_age": 14}
        ).json()
        refused = worker.post(
            f"/api/v1/cases/{case['id']}/people", json=_self_images_attempt(victim["id"])
        )
        user_id = worker.user.id  # type: ignore[attr-defined]
    assert refused.status_code == 403 and "para 67" in refused.json()["error"]
    (event,) = _events(units, "cases.person.suspect_refused")
    assert event.outcome == "refused" and event.actor_id == user_id
    assert event.target_type == "case_person" and event.target_id == victim["id"]
    assert event.details == {"case": case["id"], "act": "self_generated_images"}
    with units.read() as session:
        assert session.scalar(select(func.count()).select_from(CasePerson)) == 1
        assert verify_chain(session).intact


def test_the_page_keeps_a_refused_self_images_attempt_on_record_and_explains(
    app: FastAPI, units: Database
) -> None:
    worker = create_actor(units)
    case_id, victim_id = _case_with_victim(units, worker, birth_date=date(2011, 6, 1))
    with logged_in_client(app, units, Role.CASE_WORKER) as client:
        with units.transaction() as session:
            admin = create_actor(units, Role.ADMIN)
            service.set_scope(session, admin, client.user.id, scope="all")  # type: ignore[attr-defined]
        response = client.post(f"/cases/{case_id}/people", data=_self_images_attempt(victim_id))
    assert response.status_code == 400 and "para 67" in response.text
    (event,) = _events(units, "cases.person.suspect_refused")
    assert event.outcome == "refused" and event.details["case"] == case_id
    with units.read() as session:
        assert session.scalar(select(func.count()).select_from(CasePerson)) == 1


def test_the_label_of_the_refusal_reads_in_both_languages() -> None:
    from opschub import labels
    from opschub.i18n import translations

    zh = translations("zh-Hans").gettext
    text = labels.action_label("cases.person.suspect_refused", zh)
    assert text != "cases.person.suspect_refused" and "儿童" in text
    assert labels.detail_value("act", "self_generated_images", zh, "zh-Hans") != (
        "self_generated_images"
    )
    assert labels.detail_value("cause", "birth", zh, "zh-Hans") != "birth"


# -- 4. a referral without consent is a case supervisor's grant ----------------------------------


def test_only_a_case_supervisor_may_refer_without_consent(units: Database) -> None:
    assert "cases.consent_override" not in permissions_of(Role.CASE_WORKER)
    assert permissions_of(Role.CASE_SUPERVISOR) == permissions_of(Role.CASE_WORKER) | {
        "cases.consent_override"
    }
    worker = create_actor(units)
    supervisor = create_actor(units, Role.CASE_SUPERVISOR)
    case_id, victim_id = _case_with_victim(units, worker, estimated_age=9)
    with units.transaction() as session:
        service.set_scope(session, create_actor(units, Role.ADMIN), supervisor.id, scope="all")
        kind = referrals.add_service(
            session, worker, org_unit_code="XA-01", kind="shelter", name="Shelter"
        ).id
    override = {
        "case_id": case_id,
        "service_id": kind,
        "person_id": victim_id,
        "consent_by": "override",
        "override_reason": "The guardian is the suspect and the child is 9.",
    }
    with pytest.raises(FollowupRefused), units.transaction() as session:
        referrals.refer(session, worker, **override)  # type: ignore[arg-type]
    with units.transaction() as session:
        view = referrals.refer(session, supervisor, **override)  # type: ignore[arg-type]
    assert view.consent_by == "override"
