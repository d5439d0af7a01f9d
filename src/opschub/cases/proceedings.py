"""Proceedings per suspect and the offences of a case with their limitation deadlines.

The only writer of ``case_proceedings`` (but its ``told`` mark, kept by
:mod:`opschub.cases.stages_state`) and ``case_offences``; every change is audited in the same
transaction, and a recorded step refreshes the case's stored waits and told marks in it too, so
that :func:`stage_alarms` is an indexed query over the stored state.

The rules are those of :mod:`opschub.cases.stages` (order of steps, dates) and
:mod:`opschub.cases.limitation` (the deadline); the service refuses what they refuse, and
:func:`check` lets a form show the same problems as the person types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Select, and_, extract, func, or_, select, union_all
from sqlalchemy.orm import Session

from opschub.audit import service as audit
from opschub.cases import limitation, stages, stages_state
from opschub.cases.followup_common import (
    CaseIds,
    FieldError,
    FollowupActor,
    FollowupInvalid,
    FollowupNotFound,
    few_cases,
    rows_of_cases,
)
from opschub.cases.followup_models import CaseOffence, CaseProceeding, CaseStageWait
from opschub.clock import utcnow


@dataclass(frozen=True)
class StepView:
    id: str
    case_id: str
    suspect_id: str
    kind: str
    on: date
    outcome: str | None
    amount: Decimal | None


@dataclass(frozen=True)
class OffenceView:
    id: str
    case_id: str
    offence_code: str
    committed_on: date
    rule: str
    starts_on: date | None
    falls_on: date | None
    exact: bool
    state: str


@dataclass(frozen=True)
class StageAlarm:
    case_id: str
    suspect_id: str | None
    stage: str
    since: date
    days: int
    target: int


def _step_view(row: CaseProceeding) -> StepView:
    return StepView(
        row.id, row.case_id, row.suspect_id, row.kind, row.occurred_on, row.outcome, row.amount
    )


def steps_of(session: Session, case_id: str) -> list[StepView]:
    rows = session.scalars(
        select(CaseProceeding)
        .where(CaseProceeding.case_id == case_id)
        .order_by(CaseProceeding.occurred_on, CaseProceeding.created_at)
    )
    return [_step_view(row) for row in rows]


def _parse_amount(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise FollowupInvalid([FieldError("amount", "is not a number")]) from None
    if not amount.is_finite() or abs(amount) >= Decimal("1e12"):
        raise FollowupInvalid([FieldError("amount", "is not a usable amount")])
    return amount.quantize(Decimal("0.01"))


def check(
    session: Session,
    *,
    case_id: str,
    suspect_id: str,
    kind: str,
    on: date,
    amount: object = None,
) -> list[FieldError]:
    """The problems recording this step would meet (empty: it can be recorded)."""
    from opschub.cases import followup_port

    errors: list[FieldError] = []
    brief = followup_port.case_brief(session, case_id)
    if suspect_id not in followup_port.suspects_of(session, case_id):
        errors.append(FieldError("suspect_id", "is not a suspect of this case"))
    try:
        parsed = _parse_amount(amount)
    except FollowupInvalid as exc:
        return errors + exc.errors
    existing = [
        stages.Step(row.kind, row.occurred_on)
        for row in session.scalars(
            select(CaseProceeding).where(
                CaseProceeding.case_id == case_id, CaseProceeding.suspect_id == suspect_id
            )
        )
    ]
    for problem in stages.check_step(
        existing,
        stages.Step(kind, on),
        today=utcnow().date(),
        amount=None if parsed is None else float(parsed),
        opened_on=brief.opened_on,
    ):
        errors.append(FieldError(problem.field, problem.message, problem.code))
    return errors


def record_step(
    session: Session,
    actor: FollowupActor,
    *,
    case_id: str,
    suspect_id: str,
    kind: str,
    on: date,
    outcome: str | None = None,
    amount: object = None,
) -> StepView:
    """Record one step of the proceedings against ``suspect_id``; refused with every problem
    named if it breaks the order of steps or the dates."""
    from opschub.cases import followup_port

    followup_port.require_case(session, actor, case_id, write=True)
    errors = check(session, case_id=case_id, suspect_id=suspect_id, kind=kind, on=on, amount=amount)
    if outcome is not None and len(outcome) > 2000:
        errors.append(FieldError("outcome", "at most 2,000 characters"))
    if errors:
        raise FollowupInvalid(errors)
    row = CaseProceeding(
        case_id=case_id,
        suspect_id=suspect_id,
        kind=kind,
        occurred_on=on,
        outcome=(outcome or "").strip() or None,
        amount=_parse_amount(amount),
        created_by_id=actor.id,
    )
    session.add(row)
    session.flush()
    stages_state.refresh(session, [case_id])
    audit.record(
        session,
        action="cases.proceeding.recorded",
        actor=actor,
        target_type="case",
        target_id=case_id,
        details={"step": kind, "on": on.isoformat(), "suspect": suspect_id},
    )
    return _step_view(row)


def _offence_view(row: CaseOffence, *, today: date, warn_days: int) -> OffenceView:
    return OffenceView(
        row.id,
        row.case_id,
        row.offence_code,
        row.committed_on,
        row.rule,
        row.starts_on,
        row.falls_on,
        row.exact,
        limitation.state(row.falls_on, today=today, warn_days=warn_days),
    )


def add_offence(
    session: Session,
    actor: FollowupActor,
    *,
    case_id: str,
    offence_code: str,
    committed_on: date,
    victim_id: str | None = None,
    suspect_id: str | None = None,
) -> OffenceView:
    """Record an offence of the case; its limitation deadline is computed from the national rule
    for ``offence_code`` and what is known of the victim's birth."""
    from opschub import taxonomy
    from opschub.cases import followup_port
    from opschub.config import get_settings

    settings = get_settings()
    followup_port.require_case(session, actor, case_id, write=True)
    today = utcnow().date()
    errors: list[FieldError] = []
    if offence_code not in taxonomy.FORM_OF_EXPLOITATION:
        errors.append(FieldError("offence_code", "is not a form of exploitation"))
    if committed_on > today:
        errors.append(FieldError("committed_on", "must not be in the future"))
    if victim_id is not None and not followup_port.person_in_case(session, case_id, victim_id):
        errors.append(FieldError("victim_id", "is not a person of this case"))
    if suspect_id is not None and suspect_id not in followup_port.suspects_of(session, case_id):
        errors.append(FieldError("suspect_id", "is not a suspect of this case"))
    if errors:
        raise FollowupInvalid(errors)
    rule = limitation.rule_for(offence_code, settings.cases_limitation_rules)
    birth = followup_port.birth_of(session, case_id, victim_id) if victim_id else None
    found = limitation.deadline(
        rule, committed_on=committed_on, birth=birth, leap=settings.cases_leap_day_birthday
    )
    row = CaseOffence(
        case_id=case_id,
        victim_id=victim_id,
        suspect_id=suspect_id,
        offence_code=offence_code,
        committed_on=committed_on,
        rule=rule.code,
        starts_on=found.starts_on,
        falls_on=found.falls_on,
        exact=found.exact,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        action="cases.offence.recorded",
        actor=actor,
        target_type="case",
        target_id=case_id,
        details={
            "offence": offence_code,
            "rule": rule.code,
            "falls_on": found.falls_on.isoformat() if found.falls_on else None,
        },
    )
    return _offence_view(row, today=today, warn_days=settings.cases_limitation_warn_days)


# Why a stored deadline was computed again (the audit detail ``cause``).
RECOMPUTE_CAUSES = ("rule", "birth")
_CHUNK = 500


@dataclass(frozen=True)
class Recomputed:
    """A stored offence whose rule or deadline changed when computed again."""

    offence_id: str
    case_id: str
    offence_code: str
    rule_before: str
    rule: str
    falls_on_before: date | None
    falls_on: date | None


def _recompute(
    session: Session,
    rows: list[CaseOffence],
    *,
    cause: str,
    actor: FollowupActor | None,
    actor_label: str | None,
) -> list[Recomputed]:
    """Compute each row's deadline again from today's rule and what is known of the victim's
    birth; store and audit (one event per changed offence) those that differ."""
    from opschub.cases import followup_port
    from opschub.config import get_settings

    assert cause in RECOMPUTE_CAUSES
    settings = get_settings()
    changed: list[Recomputed] = []
    events: list[audit.EventIn] = []
    for row in rows:
        rule = limitation.rule_for(row.offence_code, settings.cases_limitation_rules)
        birth = (
            followup_port.birth_of(session, row.case_id, row.victim_id) if row.victim_id else None
        )
        found = limitation.deadline(
            rule, committed_on=row.committed_on, birth=birth, leap=settings.cases_leap_day_birthday
        )
        now = (rule.code, found.starts_on, found.falls_on, found.exact)
        if now == (row.rule, row.starts_on, row.falls_on, row.exact):
            continue
        done = Recomputed(
            row.id, row.case_id, row.offence_code, row.rule, rule.code, row.falls_on, found.falls_on
        )
        row.rule, row.starts_on, row.falls_on, row.exact = now
        changed.append(done)
        events.append(
            audit.EventIn(
                action="cases.offence.recomputed",
                actor=actor,
                actor_label=actor_label,
                target_type="case",
                target_id=row.case_id,
                details={
                    "offence": row.offence_code,
                    "cause": cause,
                    "rule_before": done.rule_before,
                    "rule": done.rule,
                    "falls_on_before": _iso(done.falls_on_before),
                    "falls_on": _iso(done.falls_on),
                },
            )
        )
    if changed:
        session.flush()
        audit.record_many(session, events)
    return changed


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def recompute_for_victim(
    session: Session, actor: FollowupActor, *, case_id: str, victim_id: str
) -> list[Recomputed]:
    """After a change to what is known of ``victim_id``'s birth (date, month or estimated age):
    the deadlines of the offences against them, computed again and audited (cause ``birth``).
    Called by cases-core's person edit in its transaction."""
    rows = list(
        session.scalars(
            select(CaseOffence).where(
                CaseOffence.case_id == case_id, CaseOffence.victim_id == victim_id
            )
        )
    )
    return _recompute(session, rows, cause="birth", actor=actor, actor_label=None)


def recompute_for_rules(
    session: Session, *, actor_label: str = "daily case review"
) -> list[Recomputed]:
    """After a change of the national rules (``OPSCHUB_CASES_LIMITATION_RULES``): every stored
    offence whose rule is no longer the one its offence code has now, computed again and audited
    (cause ``rule``). The daily review runs it first; nothing to do costs one query per code.

    The leap-day rule (``OPSCHUB_CASES_LEAP_DAY_BIRTHDAY``) is part of the national rules but
    not stored with an offence: only a clock that starts on 28 or 29 February or 1 March can
    depend on it (a start on 29 February, or the 18th birthday of a child born on it), so those
    offences are computed again every day; only a changed deadline is stored and audited."""
    from opschub.config import get_settings

    rules = get_settings().cases_limitation_rules
    stored = sorted(set(session.scalars(select(CaseOffence.offence_code).distinct())))
    changed: list[Recomputed] = []
    for code in stored:
        current = limitation.rule_for(code, rules).code
        query = (
            select(CaseOffence)
            .where(CaseOffence.offence_code == code, CaseOffence.rule != current)
            .order_by(CaseOffence.id)
            .limit(_CHUNK)
        )
        while True:
            rows = list(session.scalars(query))
            if not rows:
                break
            changed += _recompute(session, rows, cause="rule", actor=None, actor_label=actor_label)
            if len(rows) < _CHUNK:
                break
    month, day = extract("month", CaseOffence.starts_on), extract("day", CaseOffence.starts_on)
    around_leap_day = or_(and_(month == 2, day.in_((28, 29))), and_(month == 3, day == 1))
    last = ""
    while True:  # keyset pages: a page whose deadlines stand is not read again
        rows = list(
            session.scalars(
                select(CaseOffence)
                .where(around_leap_day, CaseOffence.id > last)
                .order_by(CaseOffence.id)
                .limit(_CHUNK)
            )
        )
        if not rows:
            break
        changed += _recompute(session, rows, cause="rule", actor=None, actor_label=actor_label)
        last = rows[-1].id
    return changed


def offences_of(session: Session, case_id: str) -> list[OffenceView]:
    from opschub.config import get_settings

    warn = get_settings().cases_limitation_warn_days
    today = utcnow().date()
    rows = session.scalars(
        select(CaseOffence).where(CaseOffence.case_id == case_id).order_by(CaseOffence.committed_on)
    )
    return [_offence_view(row, today=today, warn_days=warn) for row in rows]


def _warnings_query(*, today: date, warn_days: int, case_ids: CaseIds) -> Select[Any]:
    query = select(CaseOffence).where(
        CaseOffence.falls_on.is_not(None),
        CaseOffence.falls_on <= today + timedelta(days=warn_days),
    )
    # the visible cases as a correlated EXISTS: the walk of ix_case_offences_falls stops after
    # the page (an IN of the visible cases would first list a third of a million of them)
    return stages_state.scoped(query, CaseOffence.case_id, case_ids)


def _warnings_of_cases(
    session: Session, ids: list[str], *, today: date, warn_days: int
) -> list[CaseOffence]:
    """The near deadlines of a few cases (a narrow scope), soonest first, read by case id."""
    cutoff = today + timedelta(days=warn_days)
    soon = [
        row
        for (row,) in rows_of_cases(session, select(CaseOffence), CaseOffence.case_id, ids)
        if row.falls_on is not None and row.falls_on <= cutoff
    ]
    soon.sort(key=lambda row: (row.falls_on, row.id))
    return soon


def limitation_warnings(
    session: Session,
    *,
    today: date,
    warn_days: int,
    case_ids: CaseIds = None,
    limit: int = 200,
    offset: int = 0,
) -> list[OffenceView]:
    """Offences whose deadline falls within ``warn_days`` (or has fallen), soonest first;
    ``limit`` of them after ``offset``."""
    few = few_cases(case_ids)
    if few is not None:
        rows: Any = _warnings_of_cases(session, few, today=today, warn_days=warn_days)
        rows = rows[offset : offset + limit]
    else:
        query = _warnings_query(today=today, warn_days=warn_days, case_ids=case_ids)
        rows = session.scalars(query.order_by(CaseOffence.falls_on).offset(offset).limit(limit))
    return [_offence_view(row, today=today, warn_days=warn_days) for row in rows]


def count_limitation_warnings(
    session: Session, *, today: date, warn_days: int, case_ids: CaseIds = None, cap: int = 1000
) -> int:
    """How many :func:`limitation_warnings` there are in all, counted up to ``cap + 1``."""
    few = few_cases(case_ids)
    if few is not None:
        found = _warnings_of_cases(session, few, today=today, warn_days=warn_days)
        return min(len(found), cap + 1)
    query = _warnings_query(today=today, warn_days=warn_days, case_ids=case_ids)
    counted = select(func.count()).select_from(
        query.with_only_columns(CaseOffence.id).limit(cap + 1).subquery()
    )
    return session.scalar(counted) or 0


def _overdue_by_stage(
    *, today: date, targets: Mapping[str, int], case_ids: CaseIds
) -> list[tuple[str, int, Select[*tuple[Any, ...]]]]:
    """One query per watched stage: its waits older than the target (an ordered walk of
    ``ix_case_stage_waits_stage``). A stage without a target is not watched."""
    queries = []
    for stage in stages.WAITING_STAGES:
        target = targets.get(stage)
        if target is None:
            continue
        query = select(
            CaseStageWait.case_id,
            CaseStageWait.suspect_id,
            CaseStageWait.stage,
            CaseStageWait.since,
        ).where(
            CaseStageWait.stage == stage,
            # waited longer than the target: today - since > target
            CaseStageWait.since < today - timedelta(days=target),
        )
        queries.append((stage, target, stages_state.scoped(query, CaseStageWait.case_id, case_ids)))
    return queries


def _alarms_of_cases(
    session: Session, ids: list[str], *, today: date, targets: Mapping[str, int]
) -> list[StageAlarm]:
    """The alarms of a few cases (a narrow scope), longest over first: every stored wait of those
    cases read by case id, the targets compared here."""
    query = select(
        CaseStageWait.case_id, CaseStageWait.suspect_id, CaseStageWait.stage, CaseStageWait.since
    )
    found = [
        StageAlarm(row.case_id, row.suspect_id, row.stage, row.since, days, targets[row.stage])
        for row in rows_of_cases(session, query, CaseStageWait.case_id, ids)
        if row.stage in targets and (days := (today - row.since).days) > targets[row.stage]
    ]
    found.sort(key=lambda a: (a.target - a.days, a.case_id, a.suspect_id or "", a.stage))
    return found


def stage_alarms(
    session: Session,
    *,
    today: date,
    targets: Mapping[str, int],
    case_ids: CaseIds = None,
    limit: int = 500,
    offset: int = 0,
) -> list[StageAlarm]:
    """Every suspect's proceedings (and every open case with a suspect and no step yet) that
    waited longer than its stage's target, longest over first (then by case, suspect), from the
    state kept by :mod:`opschub.cases.stages_state`; ``limit`` of them after ``offset``.

    One statement: per watched stage the first ``offset + limit`` overdue waits, oldest first,
    put together with UNION ALL; they are merged here by how long over the target each is."""
    wanted = offset + limit
    few = few_cases(case_ids)
    if few is not None:
        return _alarms_of_cases(session, few, today=today, targets=targets)[offset:wanted]
    parts = _overdue_by_stage(today=today, targets=targets, case_ids=case_ids)
    if not parts or wanted <= 0:
        return []
    pages = [
        select(page)
        for page in (
            query.order_by(CaseStageWait.since, CaseStageWait.case_id, CaseStageWait.suspect_id)
            .limit(wanted)
            .subquery()
            for _stage, _target, query in parts
        )
    ]
    statement = pages[0] if len(pages) == 1 else union_all(*pages)
    found = [
        StageAlarm(
            row.case_id,
            row.suspect_id,
            row.stage,
            row.since,
            (today - row.since).days,
            targets[row.stage],
        )
        for row in session.execute(statement)
    ]
    found.sort(key=lambda a: (a.target - a.days, a.case_id, a.suspect_id or "", a.stage))
    return found[offset:wanted]


def count_stage_alarms(
    session: Session,
    *,
    today: date,
    targets: Mapping[str, int],
    case_ids: CaseIds = None,
    cap: int = 1000,
) -> int:
    """How many alarms :func:`stage_alarms` has in all, counted up to ``cap + 1`` (a page says
    "more than ``cap``" rather than counting a million rows). One statement."""
    watched = [
        and_(
            CaseStageWait.stage == stage,
            CaseStageWait.since < today - timedelta(days=targets[stage]),
        )
        for stage in stages.WAITING_STAGES
        if stage in targets
    ]
    if not watched:
        return 0
    few = few_cases(case_ids)
    if few is not None:
        return min(len(_alarms_of_cases(session, few, today=today, targets=targets)), cap + 1)
    query = stages_state.scoped(
        select(CaseStageWait.suspect_id).where(or_(*watched)), CaseStageWait.case_id, case_ids
    )
    return session.scalar(select(func.count()).select_from(query.limit(cap + 1).subquery())) or 0


def get_step(session: Session, step_id: str) -> StepView:
    row = session.get(CaseProceeding, step_id)
    if row is None:
        raise FollowupNotFound(f"no proceedings step {step_id}")
    return _step_view(row)
