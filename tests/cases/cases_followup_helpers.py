"""A stand-in for cases-core behind the follow-up port (opschub.cases.followup_port), so that
the follow-up rules are tested on both engines on their own; tests/cases/test_cases_walk_*
use the real cases."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from opschub.cases import followup_port
from opschub.cases.followup_port import CaseBrief, OpenCase, PersonBrief
from opschub.cases.limitation import Birth


@dataclass(frozen=True)
class Actor:
    name: str = "Case Worker"
    permissions: frozenset[str] = frozenset({"cases.read", "cases.manage"})
    kind: str = "user"
    id: str = "0" * 31 + "1"

    def can(self, permission: str) -> bool:
        return permission in self.permissions


WORKER = Actor()
SUPERVISOR = Actor(
    name="Supervisor",
    permissions=frozenset({"cases.read", "cases.manage", "cases.consent_override"}),
    id="0" * 31 + "2",
)


@dataclass
class FakeCase:
    id: str
    opened_on: date
    org_unit_code: str | None = "XA-01"
    people: list[PersonBrief] = field(default_factory=list)
    births: dict[str, Birth] = field(default_factory=dict)
    languages: list[str] = field(default_factory=lambda: ["zh"])
    open: bool = True
    hidden_from: set[str] = field(default_factory=set)


class FakeBackend:
    def __init__(self) -> None:
        self.cases: dict[str, FakeCase] = {}

    def add(self, case: FakeCase) -> FakeCase:
        self.cases[case.id] = case
        return case

    def case_brief(self, session: Any, case_id: str) -> CaseBrief | None:
        case = self.cases.get(case_id)
        return None if case is None else CaseBrief(case.id, case.opened_on, case.org_unit_code)

    def may_see(self, session: Any, actor: Any, case_id: str, *, write: bool) -> bool:
        return actor.id not in self.cases[case_id].hidden_from

    def people(self, session: Any, case_id: str) -> list[PersonBrief]:
        return list(self.cases[case_id].people)

    def birth_of(self, session: Any, case_id: str, person_id: str) -> Birth | None:
        return self.cases[case_id].births.get(person_id)

    def languages_of(self, session: Any, case_id: str, person_id: str | None) -> list[str]:
        return list(self.cases[case_id].languages)

    def open_cases_with_suspects(
        self, session: Any, case_ids: Sequence[str] | None
    ) -> list[OpenCase]:
        return [
            OpenCase(c.id, c.opened_on, tuple(p.id for p in c.people if p.role == "suspect"))
            for c in self.cases.values()
            if c.open
            and (case_ids is None or c.id in case_ids)
            and any(p.role == "suspect" for p in c.people)
        ]

    def visible_case_ids(self, session: Any, actor: Any) -> list[str] | None:
        return [c.id for c in self.cases.values() if actor.id not in c.hidden_from]


@contextmanager
def fake_cases() -> Iterator[FakeBackend]:
    backend = FakeBackend()
    with followup_port.use(backend):
        yield backend


def store_case_rows(database: Any, case: FakeCase) -> None:
    """The rows the follow-up tables refer to (test set-up only: cases-core writes them)."""
    from opschub.cases.models import Case, CasePerson
    from opschub.orgunits import service as orgunits

    with database.transaction() as session:
        if orgunits.by_code(session, "XA") is None:
            orgunits.load_rows(
                session,
                None,
                [
                    {
                        "code": "XA",
                        "parent": "",
                        "level": "1",
                        "name_en": "Xland",
                        "name_zh": "某国",
                    },
                    {
                        "code": "XA-01",
                        "parent": "XA",
                        "level": "2",
                        "name_en": "North",
                        "name_zh": "北省",
                    },
                ],
            )
        unit = orgunits.by_code(session, case.org_unit_code or "XA")
        assert unit is not None
        session.add(
            Case(
                id=case.id,
                title="test case",
                org_unit_id=unit.id,
                opened_on=case.opened_on,
            )
        )
        session.flush()
        for person in case.people:
            session.add(
                CasePerson(id=person.id, case_id=case.id, role=person.role, alias=person.alias)
            )
        session.flush()
        # cases-core keeps the follow-up state of the cases it writes (stages_state).
        from opschub.cases import stages_state

        stages_state.refresh(session, [case.id])


def case_with_people(backend: FakeBackend, case_id: str = "c" * 32, **kwargs: Any) -> FakeCase:
    return backend.add(
        FakeCase(
            case_id,
            kwargs.pop("opened_on", date(2026, 1, 10)),
            people=[
                PersonBrief("v" * 32, "V1", "victim"),
                PersonBrief("s" * 32, "S1", "suspect"),
                PersonBrief("g" * 32, "G1", "guardian"),
            ],
            **kwargs,
        )
    )
