"""The indexes a large installation needs, on both engines: the case-blind duplicate-person hints
find a long mixed-case alias through ``ix_case_people_alias_lower`` (the plan says so), and
deleting a case still takes everything that refers to it and its people (the foreign keys that
cascade or set NULL now each lead an index, so PostgreSQL no longer scans for every row)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import PrimaryKeyConstraint, UniqueConstraint, event, func, select, text

from factories import create_user
from opschub.accounts.permissions import Role, permissions_of
from opschub.accounts.principal import Principal
from opschub.cases import demo, demo_large, service, stages_state
from opschub.cases.followup_models import (
    CaseInformed,
    CaseOffence,
    CaseProceeding,
    CaseReferral,
    CaseStageWait,
    ReferralService,
)
from opschub.cases.models import Case, CaseForm, CaseLink, CasePerson, CaseRelationship
from opschub.clock import frozen
from opschub.db import Base, Database, import_all_models
from opschub.orgunits import demo as orgunits_demo

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
# Longer than the six letters the old spelling list could cover (64 spellings).
LONG_ALIAS = "Sunny Riverside Child of the Example District"


def _worker(database: Database) -> Principal:
    user, _ = create_user(database, Role.CASE_WORKER, totp=False)
    with database.transaction() as session:
        session.execute(
            text(
                "INSERT INTO case_scopes (user_id, scope, team, org_unit_id, senior, created_at)"
                " VALUES (:u, 'all', NULL, NULL, :no, :now)"
            ),
            {"u": user.id, "no": False, "now": NOW},
        )
    return Principal(
        "user", user.id, user.username, Role.CASE_WORKER, permissions_of(Role.CASE_WORKER)
    )


def _case(database: Database, actor: Any, title: str, *, is_demo: bool = False) -> str:
    data = service.CaseIn(
        title=title, org_unit="XA-01-01", setting="online", forms=[("grooming", "committed")]
    )
    with frozen(NOW), database.transaction() as session:
        return service.open_case(session, actor, data, is_demo=is_demo).id


def _person(database: Database, actor: Any, case_id: str, **kwargs: Any) -> str:
    with frozen(NOW), database.transaction() as session:
        return service.add_person(session, actor, case_id, service.PersonIn(**kwargs)).id


@contextmanager
def _statements(database: Database) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        seen.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(database.engine, "before_cursor_execute", keep)


def _plan(database: Database, statement: str, parameters: Any) -> str:
    """The engine's plan of ``statement`` as the application sent it (same parameters)."""
    with database.engine.connect() as conn:
        if database.engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            return "\n".join(str(row[-1]) for row in rows)
        conn.exec_driver_sql("ANALYZE case_people")
        # on a table this small a sequential read is cheapest; forbid it, as on a large one
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        rows = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        plan = "\n".join(str(row[0]) for row in rows)
        conn.rollback()
        return plan


def test_duplicate_hints_for_a_long_mixed_case_alias_use_the_lower_alias_index(
    database: Database,
) -> None:
    with database.transaction() as session:
        orgunits_demo.load(session)
    worker = _worker(database)
    here = _case(database, worker, "A case")
    there = _case(database, worker, "Another case")
    elsewhere = _case(database, worker, "A third case")
    # people enough that a plan has something to choose between
    for n in range(30):
        _person(database, worker, elsewhere, role="witness", alias=f"Witness {n:02d}")
    twin = _person(database, worker, there, role="victim", alias=LONG_ALIAS.lower())
    _person(database, worker, there, role="witness", alias=LONG_ALIAS[:-1])  # not the same
    shouting = _person(database, worker, elsewhere, role="victim", alias=LONG_ALIAS.upper())
    asked = _person(
        database, worker, here, role="victim", alias="sUnNy RiVeRsIdE cHiLd Of ThE eXaMpLe DiStRiCt"
    )

    with _statements(database) as seen, database.read() as session:
        hints = service.duplicate_hints(session, worker, asked)
    # found whatever the case of the letters, and only the same alias
    assert {(h.person_id, h.case_id, h.why) for h in hints} == {
        (twin, there, "alias"),
        (shouting, elsewhere, "alias"),
    }
    hint_statements = [(s, p) for s, p in seen if "lower(" in s.lower() and "UNION" not in s]
    assert len(hint_statements) == 1, [s for s, _ in seen]
    statement, parameters = hint_statements[0]
    assert " IN (" not in statement  # no list of spellings any more
    plan = _plan(database, statement, parameters)
    assert "ix_case_people_alias_lower" in plan, plan


def test_the_duplicate_hints_of_a_short_alias_still_ignore_its_case(database: Database) -> None:
    with database.transaction() as session:
        orgunits_demo.load(session)
    worker = _worker(database)
    here = _case(database, worker, "A case")
    there = _case(database, worker, "Another case")
    twin = _person(database, worker, there, role="victim", alias="Mei")
    _person(database, worker, there, role="witness", alias="Meili")
    asked = _person(database, worker, here, role="victim", alias="mEI")
    with database.read() as session:
        hints = service.duplicate_hints(session, worker, asked)
    assert [(h.person_id, h.alias, h.why) for h in hints] == [(twin, "Mei", "alias")]


def test_an_alias_with_a_letter_beyond_ascii_finds_its_own_spelling(database: Database) -> None:
    """The database lowers both sides: SQLite's lower() leaves É as it is, so comparing its
    lower(alias) with Python's "émile" would miss even the identical alias."""
    with database.transaction() as session:
        orgunits_demo.load(session)
    worker = _worker(database)
    here = _case(database, worker, "A case")
    there = _case(database, worker, "Another case")
    twin = _person(database, worker, there, role="victim", alias="Émile")
    asked = _person(database, worker, here, role="victim", alias="émile")
    same = _person(database, worker, here, role="witness", alias="Émile")
    with database.read() as session:
        assert [h.person_id for h in service.duplicate_hints(session, worker, same)] == [twin]
        small = [h.person_id for h in service.duplicate_hints(session, worker, asked)]
    # PostgreSQL (a UTF-8 locale) lowers É too; SQLite lowers only A-Z
    assert small == ([twin] if database.engine.dialect.name == "postgresql" else [])


def _count(session: Any, model: Any, *where: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_removing_demo_cases_takes_everything_that_refers_to_them_and_keeps_the_rest(
    database: Database,
) -> None:
    with database.transaction() as session:
        orgunits_demo.load(session)
    cli = service.Importer(name="command line")
    gone = _case(database, cli, "A demo case", is_demo=True)
    kept = _case(database, cli, "A real case")
    victim = _person(database, cli, gone, role="victim", estimated_age=13)
    # a child victim recorded as a suspect (para 67): victim_person_id refers to the victim
    child_suspect = _person(
        database,
        cli,
        gone,
        role="suspect",
        estimated_age=14,
        victim_person_id=victim,
        reason="Recruited a younger child for the abuser",
        acts=["sale_sexual_exploitation"],
    )
    suspect = _person(database, cli, gone, role="suspect", estimated_age=40)
    kept_victim = _person(database, cli, kept, role="victim", estimated_age=12)
    kept_suspect = _person(database, cli, kept, role="suspect", estimated_age=35)
    with frozen(NOW), database.transaction() as session:
        service.add_relationship(session, cli, gone, suspect, victim, "online_contact")
        service.add_relationship(session, cli, kept, kept_suspect, kept_victim, "stranger")
        service.link_cases(session, cli, gone, kept)
        help_ = ReferralService(org_unit_code="XA-01-01", kind="medical", name="Clinic")
        session.add(help_)
        session.flush()
        for case_id, child, adult in ((gone, victim, suspect), (kept, kept_victim, kept_suspect)):
            session.add_all(
                [
                    CaseReferral(
                        case_id=case_id,
                        person_id=child,
                        service_id=help_.id,
                        sent_on=date(2026, 5, 2),
                        consent_by="guardian",
                    ),
                    CaseProceeding(
                        case_id=case_id,
                        suspect_id=adult,
                        kind="compensation_ordered",
                        occurred_on=date(2026, 5, 3),
                        amount=Decimal("100.00"),
                    ),
                    CaseOffence(
                        case_id=case_id,
                        victim_id=child,
                        suspect_id=adult,
                        offence_code="grooming",
                        committed_on=date(2026, 4, 1),
                        rule="none",
                    ),
                    CaseInformed(
                        case_id=case_id,
                        told_on=date(2026, 5, 4),
                        who="child",
                        language="en",
                        form="in_person",
                        what="The case was opened.",
                    ),
                ]
            )
        session.flush()
        stages_state.refresh(session, [gone, kept])
    with database.read() as session:
        assert _count(session, CaseStageWait, CaseStageWait.case_id == gone) >= 2
        waits_kept = _count(session, CaseStageWait, CaseStageWait.case_id == kept)
        assert waits_kept >= 2
        child = session.get(CasePerson, child_suspect)
        assert child is not None and child.victim_person_id == victim

    with database.transaction() as session:
        removed = demo.remove(session)
    assert (removed.cases, removed.people) == (1, 3)

    gone_people = (victim, child_suspect, suspect)
    with database.read() as session:
        assert list(session.scalars(select(Case.id))) == [kept]
        assert _count(session, CaseLink) == 0  # the link between the two cases went too
        assert _count(session, CasePerson, CasePerson.id.in_(gone_people)) == 0
        for model in (
            CaseForm,
            CaseRelationship,
            CaseReferral,
            CaseProceeding,
            CaseOffence,
            CaseInformed,
            CaseStageWait,
        ):
            assert _count(session, model, model.case_id == gone) == 0, model.__tablename__
            assert _count(session, model, model.case_id == kept) >= 1, model.__tablename__
        # nothing anywhere still names a removed person
        assert _count(session, CasePerson, CasePerson.victim_person_id.in_(gone_people)) == 0
        assert _count(session, CaseReferral, CaseReferral.person_id.in_(gone_people)) == 0
        assert _count(session, CaseProceeding, CaseProceeding.suspect_id.in_(gone_people)) == 0
        assert _count(session, CaseOffence, CaseOffence.victim_id.in_(gone_people)) == 0
        assert _count(session, CaseOffence, CaseOffence.suspect_id.in_(gone_people)) == 0
        # the real case is whole
        offence = session.scalars(select(CaseOffence).where(CaseOffence.case_id == kept)).one()
        assert (offence.victim_id, offence.suspect_id) == (kept_victim, kept_suspect)
        assert _count(session, CaseStageWait, CaseStageWait.case_id == kept) == waits_kept
        assert _count(session, CasePerson, CasePerson.case_id == kept) == 2


def test_every_foreign_key_to_a_case_or_a_person_leads_an_index() -> None:
    """A new table that refers to cases or case_people without an index fails here (and would
    make deleting a case on PostgreSQL scan it once per deleted row)."""
    import_all_models()
    missing = []
    for table in Base.metadata.sorted_tables:
        leading = {next(iter(index.columns)).name for index in table.indexes if len(index.columns)}
        leading |= {
            next(iter(c.columns)).name
            for c in table.constraints
            if isinstance(c, UniqueConstraint | PrimaryKeyConstraint) and c.columns
        }
        missing += [
            f"{table.name}.{key.parent.name}"
            for key in table.foreign_keys
            if key.column.table.name in ("cases", "case_people") and key.parent.name not in leading
        ]
    assert missing == []


def test_the_large_generator_builds_every_index_again_the_new_ones_included(
    database: Database,
) -> None:
    """Into empty tables it drops the tables' indexes while loading and builds them at the end."""
    with _statements(database) as seen:
        demo_large.load_large(database, cases=40)
    ddl = [s for s, _ in seen if "INDEX" in s and "ix_case_people_alias_lower" in s]
    assert [s.split()[0] for s in ddl] == ["DROP", "CREATE"], ddl
    names = _index_names(database)
    for index in CasePerson.__table__.indexes:  # type: ignore[attr-defined]
        assert index.name in names
    assert {"ix_case_people_alias_lower", "ix_case_people_victim_person_id"} <= names


def _index_names(database: Database) -> set[str]:
    with database.engine.connect() as conn:
        if database.engine.dialect.name == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'index'"
        else:
            query = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
        return {row[0] for row in conn.exec_driver_sql(query)}
