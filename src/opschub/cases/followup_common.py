"""What the follow-up services share: their errors, the actor they need, and the one place they
ask cases-core about a case (through its service functions, never its tables)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select

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
    return column.in_(list(case_ids))
