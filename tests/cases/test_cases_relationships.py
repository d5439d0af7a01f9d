"""Relationships between people in a case, changed after the people were added, on both engines:
listed from either person by alias and role, the kind changed, one removed, one added; each
change audited in its own transaction; a relationship with oneself, with someone of another case
or a second one for the same pair refused naming the field; a child suspect on the protected
track never shown, offered or reachable through a relationship for those without
``cases.protected``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from factories import create_user
from opschub.accounts.permissions import Role, permissions_of
from opschub.accounts.principal import Principal
from opschub.audit.models import AuditEvent
from opschub.cases import facts, service
from opschub.cases.models import CaseRelationship
from opschub.clock import frozen
from opschub.db import Database
from opschub.orgunits import demo as orgunits_demo

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def _worker(database: Database) -> Principal:
    user, _ = create_user(database, Role.CASE_WORKER, totp=False)
    return Principal(
        kind="user",
        id=user.id,
        name=user.username,
        role=Role.CASE_WORKER,
        permissions=permissions_of(Role.CASE_WORKER),
    )


def _without_protected(actor: Principal) -> Principal:
    """The same person, as one who may manage cases but not see the protected track."""
    return Principal(
        kind=actor.kind,
        id=actor.id,
        name=actor.name,
        role=actor.role,
        permissions=actor.permissions - {"cases.protected"},
    )


@pytest.fixture
def world(database: Database) -> dict[str, object]:
    """A case with a victim V1 (12), an adult suspect S1, a guardian G1 and a child suspect S2 on
    the protected track, related to V1; and another case with its own victim."""
    with database.transaction() as session:
        orgunits_demo.load(session)
    worker = _worker(database)
    with frozen(NOW), database.transaction() as session:
        case = service.open_case(
            session, worker, service.CaseIn(title="Grooming in a game chat", org_unit="XA-01-01")
        )

        def add(**kwargs: object) -> str:
            return service.add_person(session, worker, case.id, service.PersonIn(**kwargs)).id  # type: ignore[arg-type]

        victim = add(role="victim", estimated_age=12)
        adult = add(role="suspect", estimated_age=40)
        guardian = add(role="guardian", estimated_age=38)
        child = add(role="suspect", estimated_age=15)
        service.add_relationship(session, worker, case.id, child, victim, "acquaintance")
        other_case = service.open_case(
            session, worker, service.CaseIn(title="Another case", org_unit="XA-01-01")
        )
        stranger = service.add_person(
            session, worker, other_case.id, service.PersonIn(role="victim", estimated_age=9)
        ).id
    return {
        "db": database,
        "worker": worker,
        "case": case.id,
        "victim": victim,
        "adult": adult,
        "guardian": guardian,
        "child": child,
        "stranger": stranger,
    }


def _actions(database: Database, prefix: str) -> list[AuditEvent]:
    with database.read() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action.like(f"{prefix}%"))
                .order_by(AuditEvent.seq)
            )
        )


def _fields(exc: pytest.ExceptionInfo[service.CaseInvalid]) -> dict[str, str]:
    return {e.field: e.text() for e in exc.value.errors}


def test_a_relationship_added_from_the_victim_is_stored_towards_the_victim_and_listed_both_ways(
    world: dict[str, object],
) -> None:
    db, worker, case = world["db"], world["worker"], world["case"]
    assert isinstance(db, Database) and isinstance(worker, Principal) and isinstance(case, str)
    victim, adult = str(world["victim"]), str(world["adult"])
    with db.transaction() as session:
        row = service.add_relationship(session, worker, case, victim, adult, "position_of_trust")
        # A suspect's relationship to the child: the suspect first, as statistics count it.
        assert (row.person_id, row.other_person_id) == (adult, victim)
    with db.read() as session:
        from_victim = service.person_relationships(session, worker, case, victim)
        from_adult = service.person_relationships(session, worker, case, adult)
        counted = session.execute(facts.suspect_facts()).mappings().all()
    assert [(r.other_alias, r.other_role, r.relationship) for r in from_adult] == [
        ("V1", "victim", "position_of_trust")
    ]
    assert ("S1", "suspect", "position_of_trust") in [
        (r.other_alias, r.other_role, r.relationship) for r in from_victim
    ]
    assert {r["relationship"] for r in counted} == {"position_of_trust", "acquaintance"}
    (event,) = [e for e in _actions(db, "cases.relationship.") if e.details["people"][0] == adult]
    assert event.action == "cases.relationship.added"
    assert event.details["relationship"] == "position_of_trust"


def test_the_kind_is_changed_and_a_relationship_removed_each_on_record(
    world: dict[str, object],
) -> None:
    db, worker, case = world["db"], world["worker"], str(world["case"])
    assert isinstance(db, Database) and isinstance(worker, Principal)
    victim, guardian = str(world["victim"]), str(world["guardian"])
    with db.transaction() as session:
        rid = service.add_relationship(session, worker, case, guardian, victim, "unknown").id
    with db.transaction() as session:
        service.change_relationship(session, worker, case, victim, rid, "family")
    with db.read() as session:
        assert session.get(CaseRelationship, rid).relationship == "family"  # type: ignore[union-attr]
    changed = _actions(db, "cases.relationship.changed")
    assert [(e.details["relationship_before"], e.details["relationship"]) for e in changed] == [
        ("unknown", "family")
    ]
    with db.transaction() as session:
        service.remove_relationship(session, worker, case, guardian, rid)
    with db.read() as session:
        assert session.get(CaseRelationship, rid) is None
        assert service.person_relationships(session, worker, case, guardian) == []
    (removed,) = _actions(db, "cases.relationship.removed")
    assert removed.details["relationship"] == "family" and removed.target_id == case


def test_a_failed_change_leaves_neither_the_change_nor_its_audit_event(
    world: dict[str, object],
) -> None:
    db, worker, case = world["db"], world["worker"], str(world["case"])
    assert isinstance(db, Database) and isinstance(worker, Principal)
    victim, adult = str(world["victim"]), str(world["adult"])
    with db.transaction() as session:
        rid = service.add_relationship(session, worker, case, adult, victim, "stranger").id
    with pytest.raises(RuntimeError), db.transaction() as session:
        service.change_relationship(session, worker, case, adult, rid, "family")
        raise RuntimeError("the request failed after the change")
    with db.read() as session:
        assert session.get(CaseRelationship, rid).relationship == "stranger"  # type: ignore[union-attr]
    assert _actions(db, "cases.relationship.changed") == []


def test_bad_relationships_are_refused_naming_the_field(world: dict[str, object]) -> None:
    db, worker, case = world["db"], world["worker"], str(world["case"])
    assert isinstance(db, Database) and isinstance(worker, Principal)
    victim, adult, stranger = str(world["victim"]), str(world["adult"]), str(world["stranger"])
    with db.transaction() as session:
        service.add_relationship(session, worker, case, adult, victim, "online_contact")
    with db.transaction() as session:
        with pytest.raises(service.CaseInvalid) as itself:
            service.add_relationship(session, worker, case, adult, adult, "family")
        with pytest.raises(service.CaseInvalid) as elsewhere:
            service.add_relationship(session, worker, case, adult, stranger, "family")
        # the same pair, from the other side
        with pytest.raises(service.CaseInvalid) as twice:
            service.add_relationship(session, worker, case, victim, adult, "family")
        with pytest.raises(service.CaseInvalid) as kind:
            service.add_relationship(session, worker, case, adult, str(world["guardian"]), "boss")
        (rid,) = [r.id for r in service.person_relationships(session, worker, case, adult)]
        with pytest.raises(service.CaseInvalid) as changed:
            service.change_relationship(session, worker, case, adult, rid, "")
        # a relationship reached through a person who is not one of its ends
        with pytest.raises(service.NotFound):
            service.remove_relationship(session, worker, case, str(world["guardian"]), rid)
    assert _fields(itself) == {
        "other_person_id": "A person cannot have a relationship with themselves."
    }
    assert _fields(elsewhere) == {"other_person_id": "No such person in this case."}
    assert _fields(twice) == {
        "other_person_id": "V1 and S1 already have a relationship recorded; change its kind "
        "instead of adding another."
    }
    assert set(_fields(kind)) == {"relationship"} and set(_fields(changed)) == {"relationship"}
    with db.read() as session:
        assert len(service.person_relationships(session, worker, case, victim)) == 2


def test_the_protected_track_never_shows_through_a_relationship(
    world: dict[str, object],
) -> None:
    db, worker, case = world["db"], world["worker"], str(world["case"])
    assert isinstance(db, Database) and isinstance(worker, Principal)
    victim, child, adult = str(world["victim"]), str(world["child"]), str(world["adult"])
    unprotected = _without_protected(worker)
    with db.read() as session:
        seen = service.person_relationships(session, worker, case, victim)
        hidden = service.person_relationships(session, unprotected, case, victim)
        offered = service.relationship_candidates(session, unprotected, case, adult)
        offered_all = service.relationship_candidates(session, worker, case, adult)
        (rid,) = [r.id for r in seen if r.other_person_id == child]
    assert [r.other_alias for r in seen] == ["S2"]
    assert hidden == []
    assert child not in {p.id for p in offered} and child in {p.id for p in offered_all}
    with db.transaction() as session:
        with pytest.raises(service.NotFound):
            service.person_relationships(session, unprotected, case, child)
        with pytest.raises(service.NotFound):
            service.change_relationship(session, unprotected, case, victim, rid, "family")
        with pytest.raises(service.NotFound):
            service.remove_relationship(session, unprotected, case, victim, rid)
        with pytest.raises(service.CaseInvalid) as refused:
            service.add_relationship(session, unprotected, case, adult, child, "family")
    # the same answer as for someone who is not in the case at all
    assert _fields(refused) == {"other_person_id": "No such person in this case."}
    with db.read() as session:
        assert session.get(CaseRelationship, rid).relationship == "acquaintance"  # type: ignore[union-attr]
