"""The follow-up lists' state, kept at write time so that the dashboard's stage alarms and
informing reminders are each one indexed, paged query (issue 13, para 92 and 98).

Two things are stored:

* ``case_stage_waits``: for every suspect of an open case (off the protected track), where their
  proceedings wait now and since when: the main track (``"opened"`` when no step is recorded yet,
  else the last step unless it finishes the track) and compensation ordered but not paid.
  It is :func:`opschub.cases.stages.waiting` without the targets: the alarms compare ``since``
  with the targets at query time (``since < today - target(stage)``, one index range per
  stage), so changing ``OPSCHUB_CASES_STAGE_TARGETS`` needs no rewrite and a test or a
  caller can pass other targets.
* ``case_proceedings.told`` for the steps that must be told (:data:`stages.MUST_TELL`): whether
  the informed log says they were, by the rule of :func:`informing_rules.is_told` (an entry
  naming the step, or an entry naming no step made on or after the day it happened); ``None``
  for the other steps. The reminders are the steps with ``told = false``.

:func:`refresh` recomputes both for a set of cases from the proceedings, the informed log and
cases-core's open cases with suspects (through :mod:`opschub.cases.followup_port`). Every
writer calls it for the case it changed, in its own transaction: a step recorded
(:func:`proceedings.record_step`), something told (:func:`informing.log_told`), a suspect added
or a case closed or reopened (:mod:`opschub.cases.service`), an import
(:mod:`opschub.cases.importing`); generators call it once for all their cases. This module is
the only writer of ``case_stage_waits`` and of ``case_proceedings.told``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar, cast

from sqlalchemy import Select, delete, insert, select, update
from sqlalchemy.orm import Session

from opschub.cases import informing_rules, stages
from opschub.cases.followup_common import CaseIds, in_cases
from opschub.cases.followup_models import CaseInformed, CaseProceeding, CaseStageWait

CHUNK = 500
COMPENSATION = ("compensation_ordered", "compensation_paid")


@dataclass(frozen=True)
class Wait:
    track: str  # "main" or "compensation"
    stage: str
    since: date


def waits_of(steps: Sequence[stages.Step], *, opened_on: date) -> list[Wait]:
    """Where one suspect's proceedings wait, whatever the targets (the rule of
    :func:`opschub.cases.stages.waiting`)."""
    found: list[Wait] = []
    main = [s for s in steps if s.kind not in COMPENSATION]
    if main:
        last = max(main, key=lambda s: (s.on, stages.STEPS.index(s.kind)))
        stage, since = last.kind, last.on
    else:
        stage, since = "opened", opened_on
    if stage in stages.WAITING_STAGES:
        found.append(Wait("main", stage, since))
    ordered = [s.on for s in steps if s.kind == "compensation_ordered"]
    paid = [s.on for s in steps if s.kind == "compensation_paid"]
    if ordered and (not paid or max(paid) < max(ordered)):
        found.append(Wait("compensation", "compensation_ordered", max(ordered)))
    return found


_Query = TypeVar("_Query")


def scoped(query: _Query, column: Any, case_ids: CaseIds) -> _Query:
    """``query`` (a Select) limited to the given cases: None all, a list of ids, or a Select of
    ids (the actor's visible cases), which becomes a correlated EXISTS so that an ordered index
    walk stops after the first page instead of building the whole set of visible cases."""
    if case_ids is None:
        return query
    statement: Any = query
    if isinstance(case_ids, Select):
        first = case_ids.selected_columns[0]
        return cast(_Query, statement.where(case_ids.where(first == column).exists()))
    return cast(_Query, statement.where(in_cases(column, case_ids)))


def _chunks(ids: Sequence[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


def refresh(session: Session, case_ids: Iterable[str] | None = None) -> int:
    """Recompute the stored waits and told marks of ``case_ids`` (None: every case) from what is
    recorded; returns the number of waits stored. Idempotent."""
    from opschub.cases import followup_port

    if case_ids is None:
        session.execute(delete(CaseStageWait))
        everyone = followup_port.open_cases_with_suspects(session, None)
        with_steps = session.scalars(select(CaseProceeding.case_id).distinct())
        ids = sorted({c.id for c in everyone} | set(with_steps))
    else:
        ids = sorted(set(case_ids))
    stored = 0
    for chunk in _chunks(ids):
        stored += _refresh_chunk(session, chunk, clear=case_ids is not None)
    session.flush()
    return stored


def _refresh_chunk(session: Session, chunk: list[str], *, clear: bool) -> int:
    from opschub.cases import followup_port

    if clear:
        session.execute(delete(CaseStageWait).where(CaseStageWait.case_id.in_(chunk)))
    steps: dict[tuple[str, str], list[stages.Step]] = defaultdict(list)
    must_tell: dict[str, list[tuple[informing_rules.Happened, bool | None]]] = defaultdict(list)
    for row in session.execute(
        select(
            CaseProceeding.id,
            CaseProceeding.case_id,
            CaseProceeding.suspect_id,
            CaseProceeding.kind,
            CaseProceeding.occurred_on,
            CaseProceeding.told,
        ).where(CaseProceeding.case_id.in_(chunk))
    ):
        steps[(row.case_id, row.suspect_id)].append(stages.Step(row.kind, row.occurred_on))
        if row.kind in stages.MUST_TELL:
            must_tell[row.case_id].append(
                (informing_rules.Happened(row.id, row.kind, row.occurred_on), row.told)
            )
    rows: list[dict[str, object]] = []
    for case in followup_port.open_cases_with_suspects(session, chunk):
        for suspect_id in case.suspect_ids:
            for wait in waits_of(steps.get((case.id, suspect_id), []), opened_on=case.opened_on):
                rows.append(
                    {
                        "suspect_id": suspect_id,
                        "track": wait.track,
                        "case_id": case.id,
                        "stage": wait.stage,
                        "since": wait.since,
                    }
                )
    if rows:
        session.execute(insert(CaseStageWait), rows)
    if must_tell:
        log: dict[str, list[informing_rules.Told]] = defaultdict(list)
        for entry in session.execute(
            select(CaseInformed.case_id, CaseInformed.told_on, CaseInformed.steps).where(
                CaseInformed.case_id.in_(list(must_tell))
            )
        ):
            log[entry.case_id].append(informing_rules.Told(entry.told_on, tuple(entry.steps or ())))
        changed: dict[bool, list[str]] = {True: [], False: []}
        for case_id, happened in must_tell.items():
            for step, told in happened:
                now = informing_rules.is_told(step, log.get(case_id, []))
                if told is not now:
                    changed[now].append(step.id)
        for value, step_ids in changed.items():
            for ids in _chunks(step_ids):
                session.execute(
                    update(CaseProceeding)
                    .where(CaseProceeding.id.in_(ids))
                    .values(told=value)
                    .execution_options(synchronize_session="fetch")
                )
    return len(rows)
