"""Keeping the child informed (para 92): the log of what the child and the guardian were told,
and the reminders for steps that must be told and were not (rules in
:mod:`opschub.cases.informing_rules`).

The only writer of ``case_informed_log``; every entry is audited in the same transaction (the
audit event says that something was told, not what: that is encrypted in the log).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from opschub.audit import service as audit
from opschub.cases import informing_rules
from opschub.cases.followup_common import (
    CaseIds,
    FieldError,
    FollowupActor,
    FollowupInvalid,
    in_cases,
)
from opschub.cases.followup_models import (
    INFORMED_FORMS,
    INFORMED_WHO,
    CaseInformed,
    CaseProceeding,
)
from opschub.cases.stages import MUST_TELL
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


def reminders(
    session: Session,
    *,
    today: date,
    within_days: int,
    case_ids: CaseIds = None,
    limit: int = 500,
) -> list[CaseReminder]:
    """Steps that must be told and were not, in the given cases (all when None)."""
    steps_query = select(
        CaseProceeding.id, CaseProceeding.case_id, CaseProceeding.kind, CaseProceeding.occurred_on
    ).where(CaseProceeding.kind.in_(MUST_TELL))
    log_query = select(CaseInformed.case_id, CaseInformed.told_on, CaseInformed.steps)
    if case_ids is not None:
        steps_query = steps_query.where(in_cases(CaseProceeding.case_id, case_ids))
        log_query = log_query.where(in_cases(CaseInformed.case_id, case_ids))
    happened: dict[str, list[informing_rules.Happened]] = defaultdict(list)
    for row in session.execute(steps_query):
        happened[row.case_id].append(informing_rules.Happened(row.id, row.kind, row.occurred_on))
    if not happened:
        return []
    told: dict[str, list[informing_rules.Told]] = defaultdict(list)
    for entry in session.execute(log_query.where(CaseInformed.case_id.in_(list(happened)))):
        told[entry.case_id].append(informing_rules.Told(entry.told_on, tuple(entry.steps or ())))
    found = [
        CaseReminder(case_id, r.step_id, r.kind, r.on, r.days, r.overdue)
        for case_id, steps in happened.items()
        for r in informing_rules.reminders(
            steps, told.get(case_id, []), today=today, within_days=within_days
        )
    ]
    return sorted(found, key=lambda r: (r.on, r.case_id))[:limit]
