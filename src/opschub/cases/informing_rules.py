"""Keeping the child informed (para 92): which steps still have to be told. Pure.

A step of the proceedings that the child and the guardian must be told of
(:data:`opschub.cases.stages.MUST_TELL`: charges, a hearing, the judgment, the sentence, the
release of the offender) is *told* when an entry of the informed log names it, or when an entry
that names no step was made on or after the day it happened. Until then it is a reminder; once
``within_days`` have passed it is overdue.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from opschub.cases.stages import MUST_TELL


@dataclass(frozen=True)
class Happened:
    id: str
    kind: str
    on: date


@dataclass(frozen=True)
class Told:
    on: date
    steps: tuple[str, ...] = ()  # ids of the steps this entry told of; empty: everything so far


@dataclass(frozen=True)
class Reminder:
    step_id: str
    kind: str
    on: date
    days: int
    overdue: bool


def is_told(step: Happened, log: Iterable[Told]) -> bool:
    for entry in log:
        if entry.steps:
            if step.id in entry.steps:
                return True
        elif entry.on >= step.on:
            return True
    return False


def reminders(
    happened: Sequence[Happened], log: Sequence[Told], *, today: date, within_days: int
) -> list[Reminder]:
    """The steps not yet told, oldest first."""
    due = [
        Reminder(
            step.id,
            step.kind,
            step.on,
            (today - step.on).days,
            (today - step.on).days > within_days,
        )
        for step in happened
        if step.kind in MUST_TELL and not is_told(step, log)
    ]
    return sorted(due, key=lambda r: (r.on, r.step_id))
