"""What the follow-up services share: their errors, the actor they need, and the one place they
ask cases-core about a case (through its service functions, never its tables)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select, false

from opschub.audit.service import Actor


class FollowupActor(Actor, Protocol):
    """Who acts and what they may do (:class:`opschub.accounts.principal.Principal` fits)."""

    def can(self, permission: str) -> bool: ...


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str
    code: str = "invalid"


class FollowupInvalid(ValueError):
    """The input has errors; nothing was stored. ``errors`` names every bad field."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in self.errors[:5]))


class FollowupNotFound(LookupError):
    """No such case, referral, service or step (or the actor may not see it)."""


class FollowupRefused(PermissionError):
    """The actor may not do this; the message says why."""


class StaleEdit(ValueError):
    """Someone else changed the record since it was read; ``current`` is what it is now."""

    def __init__(self, message: str, current: dict[str, object]) -> None:
        self.current = current
        super().__init__(message)


# Which cases a list covers: ids, a Select of ids (the actor's visible cases), or None for all.
CaseIds = Sequence[str] | Select[Any] | None


def in_cases(column: Any, case_ids: Sequence[str] | Select[Any]) -> ColumnElement[bool]:
    """``column IN (...)`` for a list of ids or a subquery of them."""
    if isinstance(case_ids, Select):
        return column.in_(case_ids)
    ids = list(case_ids)
    # No case: a constant false, which both engines see before reading a row (an empty IN is
    # not, and an ordered walk would then read the whole index).
    return column.in_(ids) if ids else false()


def few_cases(case_ids: CaseIds) -> list[str] | None:
    """The ids when ``case_ids`` is a list (a narrow scope), None for a Select or all."""
    if case_ids is None or isinstance(case_ids, Select):
        return None
    return list(case_ids)


def rows_of_cases(session: Any, query: Any, column: Any, ids: Sequence[str]) -> list[Any]:
    """``query``'s rows of the cases ``ids``, read through the case-id index alone, in chunks.

    For a narrow scope (a few hundred cases at most, :func:`opschub.cases.service.
    visible_ids_if_few`) the follow-up lists read every row of those cases and filter, sort and
    page them here: with the list's own conditions in SQL, SQLite prefers the list's ordered
    index (stage, due date, ...) and walks it across every case of the installation, seconds
    at a million cases, to find the few that belong."""
    found: list[Any] = []
    for start in range(0, len(ids), 500):
        found.extend(session.execute(query.where(column.in_(list(ids[start : start + 500])))))
    return found
