"""The case rules, on both engines: protected track, victims as suspects, scopes, restricted
cases, audited name reads, encryption at rest, optimistic locking, data quality, facts."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select, text

from factories import create_actor
from opschub.accounts.permissions import Role
from opschub.accounts.principal import Principal
from opschub.audit.models import AuditEvent
from opschub.cases import facts, service
from opschub.cases.models import CasePerson
from opschub.clock import frozen
from opschub.db import Database
from opschub.ids import new_id

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def _open(database: Database, actor: Principal, **kwargs: object) -> str:
    data = service.CaseIn(
        title=str(kwargs.pop("title", "Grooming through a game chat")),
        org_unit=str(kwargs.pop("org_unit", "XA-01-01")),
        setting="online",
        forms=[("grooming", "committed")],
        **kwargs,  # type: ignore[arg-type]
    )
    with frozen(NOW), database.transaction() as session:
        return service.open_case(session, actor, data).id


def _add(database: Database, actor: Principal, case_id: str, **kwargs: object) -> str:
    with frozen(NOW), database.transaction() as session:
        return service.add_person(session, actor, case_id, service.PersonIn(**kwargs)).id  # type: ignore[arg-type]


def test_a_child_suspect_is_on_the_protected_track_and_only_counted(
    units: Database,
) -> None:
    worker = create_actor(units)
    police = create_actor(units, Role.POLICE_LIAISON)
    with units.transaction() as session:
        service.set_scope(session, _admin(units), police.id, scope="all")
    case_id = _open(units, worker)
    victim = _add(units, worker, case_id, role="victim", sex="female", birth_month="2013-04")
    child = _add(units, worker, case_id, role="suspect", sex="male", estimated_age=16)
    adult = _add(units, worker, case_id, role="suspect", sex="male", estimated_age=40)
    with units.transaction() as session:
        service.add_relationship(session, worker, case_id, adult, victim, "online_contact")
    with units.read() as session:
        seen_by_worker = service.get_case(session, worker, case_id)
        seen_by_police = service.get_case(session, police, case_id)
        person = session.get(CasePerson, child)
        assert person is not None and person.protected_track and person.offender_category == "child"
        with pytest.raises(service.NotFound):
            service.duplicate_hints(session, police, child)
        rows = session.execute(facts.suspect_facts()).mappings().all()
        victims = session.execute(facts.victim_facts()).mappings().all()
    assert {p.id for p in seen_by_worker.people} == {victim, child, adult}
    assert {p.id for p in seen_by_police.people} == {victim, adult}
    assert seen_by_police.hidden_people == 1
    assert sorted((r["offender_category"], r["relationship"]) for r in rows) == [
        ("adult", "online_contact"),
        ("child", None),
    ]
    assert "id" not in rows[0] and "alias" not in rows[0]
    assert [(v["sex"], v["age_band"], v["org_unit_code"]) for v in victims] == [
        ("female", "10-14", "XA-01-01")
    ]


def _admin(database: Database) -> Principal:
    return create_actor(database, Role.ADMIN)


def test_a_child_victim_is_never_a_suspect_for_images_of_themselves(units: Database) -> None:
    worker = create_actor(units)
    case_id = _open(units, worker)
    victim = _add(units, worker, case_id, role="victim", birth_date=date(2012, 5, 1))
    with pytest.raises(service.Refused) as refused, frozen(NOW), units.transaction() as session:
        service.add_person(
            session,
            worker,
            case_id,
            service.PersonIn(
                role="suspect",
                victim_person_id=victim,
                reason="Shared the images with classmates",
                acts=["self_generated_images"],
            ),
        )
    assert "para 67" in refused.value.text()
    with units.read() as session:
        assert session.scalar(select(func.count()).select_from(CasePerson)) == 1


def test_a_child_victim_as_suspect_needs_a_reason_and_a_seniors_confirmation(
    units: Database,
) -> None:
    worker = create_actor(units)
    senior = create_actor(units)
    with units.transaction() as session:
        service.set_scope(session, _admin(units), senior.id, scope="all", senior=True)
    case_id = _open(units, worker)
    victim = _add(units, worker, case_id, role="victim", birth_date=date(2011, 2, 28))
    with pytest.raises(service.CaseInvalid) as invalid, frozen(NOW), units.transaction() as s:
        service.add_person(
            s,
            worker,
            case_id,
            service.PersonIn(role="suspect", victim_person_id=victim, acts=["csam"]),
        )
    assert [e.field for e in invalid.value.errors] == ["reason"]
    suspect = _add(
        units,
        worker,
        case_id,
        role="suspect",
        victim_person_id=victim,
        reason="Recruited two younger children for the abuser",
        acts=["sale_sexual_exploitation"],
    )
    with units.read() as session:
        assert list(session.execute(facts.suspect_facts())) == []  # pending: not counted
    with pytest.raises(service.Refused), units.transaction() as session:
        service.confirm_suspect(session, worker, suspect)  # not a senior, and the one who asked
    other = create_actor(units)
    with units.transaction() as session:
        service.set_scope(session, _admin(units), other.id, scope="all")
    with pytest.raises(service.Refused), units.transaction() as session:
        service.confirm_suspect(session, other, suspect)  # not a senior
    with units.transaction() as session:
        person = service.confirm_suspect(session, senior, suspect)
        assert person.confirmed_by_id == senior.id
    with units.read() as session:
        rows = session.execute(facts.suspect_facts()).mappings().all()
        assert [r["offender_category"] for r in rows] == ["child"]


def test_scopes_own_team_region_all(units: Database) -> None:
    owner = create_actor(units)
    team_mate = create_actor(units)
    regional = create_actor(units)
    other_region = create_actor(units)
    everyone = create_actor(units)
    nobody = create_actor(units)
    admin = _admin(units)
    with units.transaction() as session:
        service.set_scope(session, admin, team_mate.id, scope="team", team="north-1")
        service.set_scope(session, admin, regional.id, scope="region", org_unit="XA-01")
        service.set_scope(session, admin, other_region.id, scope="region", org_unit="XA-02")
        service.set_scope(session, admin, everyone.id, scope="all")
    case_id = _open(units, owner, team="north-1")
    with units.read() as session:
        for actor, sees in (
            (owner, True),
            (team_mate, True),
            (regional, True),
            (other_region, False),
            (everyone, True),
            (nobody, False),
        ):
            found = [r.id for r in service.list_cases(session, actor)]
            assert (case_id in found) is sees, actor.name
            if not sees:
                with pytest.raises(service.NotFound):
                    service.get_case(session, actor, case_id)


def test_a_restricted_case_is_seen_by_its_named_members_only(units: Database) -> None:
    owner = create_actor(units)
    member = create_actor(units)
    everyone = create_actor(units)
    with units.transaction() as session:
        service.set_scope(session, _admin(units), everyone.id, scope="all")
    case_id = _open(units, owner, restricted=True)
    with units.transaction() as session:
        service.add_member(session, owner, case_id, member.id)
    with units.read() as session:
        assert service.get_case(session, member, case_id).restricted
        assert case_id in [r.id for r in service.list_cases(session, owner)]
        assert service.list_cases(session, everyone) == []
        with pytest.raises(service.NotFound):
            service.get_case(session, everyone, case_id)


def test_real_names_are_encrypted_at_rest_and_each_read_is_audited(units: Database) -> None:
    worker = create_actor(units)
    police = create_actor(units, Role.POLICE_LIAISON)
    case_id = _open(units, worker)
    person = _add(units, worker, case_id, role="victim", real_name="Mei Lin Example")
    with units.read() as session:
        raw = session.execute(
            text("SELECT real_name FROM case_people WHERE id = :id"), {"id": person}
        ).scalar_one()
        assert b"Mei Lin" not in bytes(raw)
        view = service.get_case(session, worker, case_id)
        assert view.people[0].has_real_name
    with units.transaction() as session:
        assert service.read_real_name(session, worker, person) == "Mei Lin Example"
    with pytest.raises(service.NotFound), units.transaction() as session:
        service.read_real_name(session, police, person)  # police sees no case outside scope
    with units.read() as session:
        reads = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "cases.person.name_read")
        ).all()
        assert [(e.actor_id, e.target_id) for e in reads] == [(worker.id, person)]


def test_a_stale_edit_is_refused_with_what_changed(units: Database) -> None:
    worker = create_actor(units)
    colleague = create_actor(units)
    with units.transaction() as session:
        service.set_scope(session, _admin(units), colleague.id, scope="all")
    case_id = _open(units, worker)
    with units.read() as session:
        version = service.get_case(session, worker, case_id).version
    with units.transaction() as session:
        service.update_case(
            session, colleague, case_id, version=version, changes={"priority": "urgent"}
        )
    with pytest.raises(service.StaleEdit) as stale, units.transaction() as session:
        service.update_case(
            session,
            worker,
            case_id,
            version=version,
            changes={"status": "in_progress"},
            seen={"status": "open", "priority": "normal"},
        )
    assert stale.value.changed == {"priority": "urgent"}
    with units.read() as session:
        view = service.get_case(session, worker, case_id)
        assert (view.status, view.priority, view.version) == ("open", "urgent", version + 1)


def test_bad_fields_are_all_named_and_nothing_is_saved(units: Database) -> None:
    worker = create_actor(units)
    with pytest.raises(service.CaseInvalid) as invalid, units.transaction() as session:
        service.open_case(
            session,
            worker,
            service.CaseIn(
                title="",
                org_unit="ZZ",
                setting="space",
                forms=[("grooming", "maybe")],
                report_ids=[new_id()],
            ),
        )
    assert {e.field for e in invalid.value.errors} == {
        "title",
        "org_unit",
        "setting",
        "forms/0/participation",
        "report_ids/0",
    }
    case_id = _open(units, worker)
    with pytest.raises(service.CaseInvalid) as invalid, frozen(NOW), units.transaction() as s:
        service.add_person(
            s,
            worker,
            case_id,
            service.PersonIn(
                role="victim",
                birth_date=date(2030, 1, 1),
                nationality="china",
                offender_category="adult",
            ),
        )
    assert {e.field for e in invalid.value.errors} == {
        "birth_date",
        "nationality",
        "offender_category",
    }


def test_duplicate_person_hints(units: Database) -> None:
    worker = create_actor(units)
    first = _open(units, worker)
    second = _open(units, worker, title="Second case")
    a = _add(
        units,
        worker,
        first,
        role="victim",
        alias="Sunny",
        birth_month="2014-03",
        residence="XA-01-02",
    )
    b = _add(units, worker, second, role="victim", alias="sunny")
    c = _add(
        units,
        worker,
        second,
        role="witness",
        alias="W-x",
        birth_month="2014-03",
        residence="XA-01-02",
    )
    with units.read() as session:
        hints = {(h.person_id, h.why) for h in service.duplicate_hints(session, worker, a)}
    assert hints == {(b, "alias"), (c, "birth_month_region")}
