"""The one place the follow-up services ask cases-core about a case, through its service
functions (never its tables). Tests of the follow-up rules may put a stand-in behind the same
functions with :func:`use`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from sqlalchemy import Select
from sqlalchemy.orm import Session

from opschub.cases.followup_common import CaseIds, FollowupActor, FollowupNotFound, FollowupRefused
from opschub.cases.limitation import Birth


@dataclass(frozen=True)
class CaseBrief:
    id: str
    opened_on: date
    org_unit_code: str | None


@dataclass(frozen=True)
class PersonBrief:
    """A person of a case as the follow-up pages show them: by their case-local alias."""

    id: str
    alias: str
    role: str  # victim, suspect, guardian, witness


@dataclass(frozen=True)
class OpenCase:
    id: str
    opened_on: date
    suspect_ids: tuple[str, ...]


class Backend(Protocol):
    def case_brief(self, session: Session, case_id: str) -> CaseBrief | None: ...

    def may_see(
        self, session: Session, actor: FollowupActor, case_id: str, *, write: bool
    ) -> bool: ...

    def people(self, session: Session, case_id: str) -> list[PersonBrief]: ...

    def birth_of(self, session: Session, case_id: str, person_id: str) -> Birth | None: ...

    def languages_of(self, session: Session, case_id: str, person_id: str | None) -> list[str]: ...

    def open_cases_with_suspects(self, session: Session, case_ids: CaseIds) -> list[OpenCase]: ...

    def visible_case_ids(
        self, session: Session, actor: FollowupActor
    ) -> Sequence[str] | Select[Any] | None: ...


_backend: Backend | None = None


def _get() -> Backend:
    global _backend
    if _backend is None:
        from opschub.cases.followup_core import CasesCoreBackend

        _backend = CasesCoreBackend()
    return _backend


@contextmanager
def use(backend: Backend) -> Iterator[None]:
    """Put ``backend`` behind the port (tests)."""
    global _backend
    previous = _backend
    _backend = backend
    try:
        yield
    finally:
        _backend = previous


def case_brief(session: Session, case_id: str) -> CaseBrief:
    brief = _get().case_brief(session, case_id)
    if brief is None:
        raise FollowupNotFound(f"no case {case_id}")
    return brief


def require_case(
    session: Session, actor: FollowupActor, case_id: str, *, write: bool = False
) -> CaseBrief:
    brief = case_brief(session, case_id)
    if not _get().may_see(session, actor, case_id, write=write):
        # Not found rather than refused: a case one may not see does not exist for one.
        raise FollowupNotFound(f"no case {case_id}")
    if write and not actor.can("cases.manage"):
        raise FollowupRefused("changing a case needs the permission cases.manage")
    return brief


def people_of(session: Session, case_id: str) -> list[PersonBrief]:
    return _get().people(session, case_id)


def person_in_case(session: Session, case_id: str, person_id: str) -> bool:
    return any(p.id == person_id for p in _get().people(session, case_id))


def suspects_of(session: Session, case_id: str) -> list[str]:
    return [p.id for p in _get().people(session, case_id) if p.role == "suspect"]


def birth_of(session: Session, case_id: str, person_id: str) -> Birth | None:
    return _get().birth_of(session, case_id, person_id)


def languages_of(session: Session, case_id: str, person_id: str | None) -> list[str]:
    return _get().languages_of(session, case_id, person_id)


def open_cases_with_suspects(session: Session, case_ids: CaseIds) -> list[OpenCase]:
    return _get().open_cases_with_suspects(session, case_ids)


def visible_case_ids(session: Session, actor: FollowupActor) -> CaseIds:
    """The cases ``actor`` may see: ids or a Select of them (None: all)."""
    return _get().visible_case_ids(session, actor)
