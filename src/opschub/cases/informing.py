"""Keeping the child informed (para 92): the log of what the child and the guardian were told,
and the reminders for steps that must be told and were not (rules in
:mod:`opschub.cases.informing_rules`, kept as a mark on each step by
:mod:`opschub.cases.stages_state`).

The only writer of ``case_informed_log``; every entry is audited in the same transaction (the
audit event says that something was told, not what: that is encrypted in the log).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, false, func, select
from sqlalchemy.orm import Session

from opschub.audit import service as audit
from opschub.cases import stages_state
from opschub.cases.followup_common import (
    CaseIds,
    FieldError,
    FollowupActor,
    FollowupInvalid,
    few_cases,
    rows_of_cases,
)
from opschub.cases.followup_models import (
    INFORMED_FORMS,
    INFORMED_WHO,
    CaseInformed,
    CaseProceeding,
)
from opschub.clock import utcnow


@dataclass(frozen=True)
class InformedView:
    id: str
    case_id: str
    told_on: date
    who: str
    language: str
    form: str
    what: str
    steps: tuple[str, ...]
    told_by_name: str | None


@dataclass(frozen=True)
class CaseReminder:
    case_id: str
    step_id: str
    kind: str
    on: date
    days: int
    overdue: bool


def _view(row: CaseInformed) -> InformedView:
    return InformedView(
        row.id,
        row.case_id,
        row.told_on,
        row.who,
        row.language,
        row.form,
        row.what,
        tuple(row.steps or ()),
        row.told_by_name,
    )


def log_told(
    session: Session,
    actor: FollowupActor,
    *,
    case_id: str,
    told_on: date,
    who: str,
    language: str,
    form: str,
    what: str,
    steps: Sequence[str] = (),
) -> InformedView:
    """Log what the child and/or the guardian were told; ``steps`` the proceedings steps told of."""
    from opschub.cases import followup_port

    followup_port.require_case(session, actor, case_id, write=True)
    errors: list[FieldError] = []
    if told_on > utcnow().date():
        errors.append(FieldError("told_on", "must not be in the future"))
    if who not in INFORMED_WHO:
        errors.append(FieldError("who", f"must be one of {', '.join(INFORMED_WHO)}"))
    if form not in INFORMED_FORMS:
        errors.append(FieldError("form", f"must be one of {', '.join(INFORMED_FORMS)}"))
    if not language.strip() or len(language) > 16:
        errors.append(FieldError("language", "name the language used"))
    if not what.strip():
        errors.append(FieldError("what", "write what was told"))
    elif len(what) > 5000:
        errors.append(FieldError("what", "at most 5,000 characters"))
    if steps:
        known = set(
            session.scalars(
                select(CaseProceeding.id).where(
                    CaseProceeding.case_id == case_id, CaseProceeding.id.in_(list(steps))
                )
            )
        )
        unknown = [s for s in steps if s not in known]
        if unknown:
            errors.append(FieldError("steps", f"{unknown[0]} is not a step of this case"))
    if errors:
        raise FollowupInvalid(errors)
    row = CaseInformed(
        case_id=case_id,
        told_on=told_on,
        who=who,
        language=language.strip(),
        form=form,
        what=what.strip(),
        steps=list(steps),
        told_by_id=actor.id,
        told_by_name=actor.name,
    )
    session.add(row)
    session.flush()
    stages_state.refresh(session, [case_id])
    audit.record(
        session,
        action="cases.informed.logged",
        actor=actor,
        target_type="case",
        target_id=case_id,
        details={"who": who, "form": form, "steps": len(steps)},
    )
    return _view(row)


def log_of(session: Session, case_id: str) -> list[InformedView]:
    rows = session.scalars(
        select(CaseInformed)
        .where(CaseInformed.case_id == case_id)
        .order_by(CaseInformed.told_on, CaseInformed.created_at)
    )
    return [_view(row) for row in rows]


def _untold(case_ids: CaseIds) -> Select[*tuple[Any, ...]]:
    query = select(
        CaseProceeding.id, CaseProceeding.case_id, CaseProceeding.kind, CaseProceeding.occurred_on
    ).where(CaseProceeding.told == false())
    return stages_state.scoped(query, CaseProceeding.case_id, case_ids)


def _untold_of_cases(session: Session, ids: list[str]) -> list[Any]:
    """The untold steps of a few cases (a narrow scope), oldest first, read by case id."""
    query = select(
        CaseProceeding.id,
        CaseProceeding.case_id,
        CaseProceeding.kind,
        CaseProceeding.occurred_on,
        CaseProceeding.told,
    )
    found = [
        row
        for row in rows_of_cases(session, query, CaseProceeding.case_id, ids)
        if row.told is False
    ]
    found.sort(key=lambda row: (row.occurred_on, row.case_id, row.id))
    return found


def reminders(
    session: Session,
    *,
    today: date,
    within_days: int,
    case_ids: CaseIds = None,
    limit: int = 500,
    offset: int = 0,
) -> list[CaseReminder]:
    """Steps that must be told and were not, in the given cases (all when None), oldest first:
    the steps marked not told by :mod:`opschub.cases.stages_state` (an ordered walk of
    ``ix_case_proceedings_untold``)."""
    few = few_cases(case_ids)
    if few is not None:
        rows: Any = _untold_of_cases(session, few)[offset : offset + limit]
    else:
        rows = session.execute(
            _untold(case_ids)
            .order_by(CaseProceeding.occurred_on, CaseProceeding.case_id, CaseProceeding.id)
            .offset(offset)
            .limit(limit)
        )
    return [
        CaseReminder(
            row.case_id,
            row.id,
            row.kind,
            row.occurred_on,
            (today - row.occurred_on).days,
            (today - row.occurred_on).days > within_days,
        )
        for row in rows
    ]


def count_reminders(session: Session, *, case_ids: CaseIds = None, cap: int = 1000) -> int:
    """How many reminders there are in all, counted up to ``cap + 1``."""
    few = few_cases(case_ids)
    if few is not None:
        return min(len(_untold_of_cases(session, few)), cap + 1)
    counted = select(func.count()).select_from(_untold(case_ids).limit(cap + 1).subquery())
    return session.scalar(counted) or 0
