"""The case page's cost does not grow with the case: the same number of SQL statements for a case
with one person as for one with many people, relationships and links (counted with SQLAlchemy's
``before_cursor_execute``), on both engines, with every visibility rule still applied. And the
region tree kept in memory sees a unit that another process added."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event, text

from factories import create_actor, logged_in_client
from opschub.accounts.permissions import Role
from opschub.accounts.principal import Principal
from opschub.cases import service
from opschub.clock import frozen
from opschub.db import Database
from opschub.ids import new_id
from opschub.orgunits import demo as orgunits_demo
from opschub.orgunits import service as orgunits

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
# scope, region tree, case, people, one UNION of the rest, the duplicate hints
MOST_STATEMENTS = 6


@contextmanager
def _counting(database: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT")):
            statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(database.engine, "before_cursor_execute", count)


def _in(database: Database, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with frozen(NOW), database.transaction() as session:
        return fn(session, *args, **kwargs)


def _case(database: Database, actor: Principal, title: str, *, restricted: bool = False) -> str:
    data = service.CaseIn(
        title=title,
        org_unit="XA-01-01",
        setting="online",
        forms=[("grooming", "committed"), ("csam", "attempt")],
        restricted=restricted,
    )
    return str(_in(database, service.open_case, actor, data).id)


@pytest.fixture
def world(database: Database) -> dict[str, Any]:
    """A small case (one person) and a big one (twelve people, relationships, six links, two of
    them to a restricted case the worker is not a member of)."""
    with database.transaction() as session:
        orgunits_demo.load(session)
    worker = create_actor(database)
    with database.transaction() as session:
        session.execute(
            text(
                "INSERT INTO case_scopes (user_id, scope, team, org_unit_id, senior, created_at)"
                " SELECT :u, 'region', NULL, id, :no, :now FROM org_units WHERE code = 'XA-01'"
            ),
            {"u": worker.id, "no": False, "now": NOW},
        )
    small = _case(database, worker, "Small case")
    _in(database, service.add_person, worker, small, service.PersonIn(role="victim"))
    big = _case(database, worker, "Big case")
    victims = [
        _in(
            database,
            service.add_person,
            worker,
            big,
            service.PersonIn(
                role="victim",
                real_name="Example Child" if i % 2 else None,
                birth_month="2014-03",
                residence="XA-01-02",
            ),
        ).id
        for i in range(6)
    ]
    suspects = [
        _in(
            database,
            service.add_person,
            worker,
            big,
            service.PersonIn(role="suspect", estimated_age=15 if i == 0 else 40),
        ).id
        for i in range(6)
    ]
    for suspect, victim in zip(suspects, victims, strict=True):
        _in(database, service.add_relationship, worker, big, suspect, victim, "online_contact")
    others = [_case(database, worker, f"Related case {i}") for i in range(4)]
    secret_owner = create_actor(database)
    with database.transaction() as session:
        session.execute(
            text(
                "INSERT INTO case_scopes (user_id, scope, team, org_unit_id, senior, created_at)"
                " VALUES (:u, 'all', NULL, NULL, :no, :now)"
            ),
            {"u": secret_owner.id, "no": False, "now": NOW},
        )
    secrets = [_case(database, secret_owner, f"Restricted {i}", restricted=True) for i in range(2)]
    for other in [*others, *secrets]:
        _in(database, service.link_cases, secret_owner, big, other)
    twin = _case(database, worker, "A case with the same child")
    _in(
        database,
        service.add_person,
        worker,
        twin,
        service.PersonIn(role="victim", alias="sunny", birth_month="2014-03", residence="XA-01-02"),
    )
    return {
        "worker": worker,
        "small": small,
        "big": big,
        "victims": victims,
        "suspects": suspects,
        "others": others,
        "secrets": secrets,
        "twin": twin,
    }


def _page(database: Database, actor: Principal, case_id: str) -> tuple[Any, Any, int]:
    with _counting(database) as statements, database.read() as session:
        view = service.get_case(session, actor, case_id)
        hints = service.duplicate_hints_for_case(session, actor, view, limit=5)
    return view, hints, len(statements)


def test_the_case_page_takes_the_same_statements_for_one_person_or_twelve(
    database: Database, world: dict[str, Any]
) -> None:
    worker = world["worker"]
    _page(database, worker, world["small"])  # the region tree into memory (once a process)
    _small_view, _hints, small_cost = _page(database, worker, world["small"])
    view, hints, big_cost = _page(database, worker, world["big"])
    assert big_cost == small_cost <= MOST_STATEMENTS
    assert len(view.people) == 12 and view.hidden_people == 0
    assert [p.has_real_name for p in view.people if p.role == "victim"] == [
        bool(i % 2) for i in range(6)
    ]
    assert len(view.relationships) == 6
    assert view.forms == (("csam", "attempt"), ("grooming", "committed"))
    # the restricted linked cases are left out; the others come with their references
    assert set(view.linked_case_ids) == set(world["others"])
    assert {cid for cid, _ref in view.linked_references} == set(world["others"])
    assert all(ref.startswith("C-") for _cid, ref in view.linked_references)
    # every victim of the big case may be the child of the twin case (birth month and region);
    # V1 also has the namesake V1 of the small case
    aliases = {p.id: p.alias for p in view.people}
    for victim in world["victims"]:
        expected = {(world["twin"], "birth_month_region")}
        if aliases[victim] == "V1":
            expected.add((world["small"], "alias"))
        assert {(h.case_id, h.why) for h in hints[victim]} == expected


def test_police_see_the_same_page_without_child_suspects_at_the_same_cost(
    database: Database, world: dict[str, Any]
) -> None:
    police = create_actor(database, Role.POLICE_LIAISON)
    with database.transaction() as session:
        session.execute(
            text(
                "INSERT INTO case_scopes (user_id, scope, team, org_unit_id, senior, created_at)"
                " VALUES (:u, 'all', NULL, NULL, :no, :now)"
            ),
            {"u": police.id, "no": False, "now": NOW},
        )
    _page(database, police, world["small"])  # the region tree into memory (once a process)
    view, hints, cost = _page(database, police, world["big"])
    assert cost <= MOST_STATEMENTS
    assert view.hidden_people == 1  # the 15-year-old suspect
    assert world["suspects"][0] not in {p.id for p in view.people}
    assert world["suspects"][0] not in hints
    assert all(world["suspects"][0] not in (a, b) for a, b, _r in view.relationships)


def test_duplicate_hints_ignore_the_case_of_the_alias(
    database: Database, world: dict[str, Any]
) -> None:
    worker = world["worker"]
    person = _in(
        database,
        service.add_person,
        worker,
        world["small"],
        service.PersonIn(role="witness", alias="SuNNY"),
    )
    with database.read() as session:
        hints = service.duplicate_hints(session, worker, person.id)
    assert [(h.case_id, h.alias, h.why) for h in hints] == [(world["twin"], "sunny", "alias")]


def test_the_whole_case_page_costs_the_same_for_a_small_and_a_big_case(
    app: FastAPI, database: Database, world: dict[str, Any]
) -> None:
    client = logged_in_client(app, database, Role.CASE_WORKER)
    with database.transaction() as session:
        session.execute(
            text(
                "INSERT INTO case_scopes (user_id, scope, team, org_unit_id, senior, created_at)"
                " VALUES (:u, 'all', NULL, NULL, :no, :now)"
            ),
            {"u": client.user.id, "no": False, "now": NOW},  # type: ignore[attr-defined]
        )
    costs = []
    for case_id in (world["small"], world["big"], world["small"], world["big"]):
        with _counting(database) as statements:
            response = client.get(f"/cases/{case_id}")
        assert response.status_code == 200
        costs.append(len(statements))
    big = client.get(f"/cases/{world['big']}").text
    assert costs[0] == costs[1] and costs[2] == costs[3]
    for other in world["others"]:
        assert f"/cases/{other}" in big
    for secret in world["secrets"]:
        assert f"/cases/{secret}" not in big


def test_the_region_tree_in_memory_sees_a_unit_added_by_another_process(
    database: Database,
) -> None:
    with database.transaction() as session:
        orgunits_demo.load(session)
    with database.read() as session:
        assert orgunits.descendants(session, "XA-01") == [
            "XA-01",
            "XA-01-01",
            "XA-01-02",
            "XA-01-03",
        ]
    # another process writes the table directly: this process has not been told
    with database.engine.begin() as conn:
        parent = conn.execute(text("SELECT id FROM org_units WHERE code = 'XA-01'")).scalar()
        conn.execute(
            text(
                "INSERT INTO org_units (id, code, parent_id, level, name_en, name_zh, active,"
                " created_at) VALUES (:id, 'XA-01-04', :p, 3, 'New District', '新区', :yes, :now)"
            ),
            {"id": new_id(), "p": parent, "yes": True, "now": NOW},
        )
    with database.read() as session:
        assert orgunits.descendants(session, "XA-01")[-1] == "XA-01-04"
        assert orgunits.ancestors(session, "XA-01-04") == ["XA", "XA-01", "XA-01-04"]
