"""Proceedings per suspect: the steps, the order they must come in, and how long each may wait.

Pure: no database, no web, no clock (``today`` is passed in). The service
(:mod:`opschub.cases.proceedings`) enforces :func:`check_step` before it writes; the case page
runs the same rules as the person types (through the API's ``check`` route), so the statistics of
para 20(c) (investigations, prosecutions, convictions, sanctions, remedies) add up.

Stage targets (para 98: proceedings without undue delay): each step a suspect's proceedings can
wait at has a number of days (setting ``OPSCHUB_CASES_STAGE_TARGETS``, JSON step -> days) before
the next step is due; waiting longer raises an alarm on the case worker's dashboard and in the
daily job ``cases.stage_alarms``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

STEPS = (
    "investigation_opened",
    "charged",
    "prosecution",
    "hearing",
    "conviction",
    "acquittal",
    "sentence",
    "appeal",
    "compensation_ordered",
    "compensation_paid",
    "offender_released",
)
# What must already be recorded (any one of) before a step can be.
REQUIRES: dict[str, tuple[str, ...]] = {
    "charged": ("investigation_opened",),
    "prosecution": ("charged",),
    "hearing": ("prosecution",),
    "conviction": ("prosecution",),
    "acquittal": ("prosecution",),
    "sentence": ("conviction",),
    "appeal": ("conviction", "acquittal"),
    "compensation_ordered": ("conviction",),
    "compensation_paid": ("compensation_ordered",),
    "offender_released": ("sentence",),
}
# Steps that happen once per suspect (hearings and appeals may repeat).
ONCE = frozenset(
    {"investigation_opened", "charged", "prosecution", "conviction", "acquittal", "sentence"}
)
# A judgment is one or the other, unless an appeal came between them.
JUDGMENTS = ("conviction", "acquittal")
# Steps the child and the guardian must be told of (para 92; opschub.cases.informing).
MUST_TELL = ("charged", "hearing", "conviction", "acquittal", "sentence", "offender_released")
# Steps that carry an amount (compensation) / an outcome text.
WITH_AMOUNT = ("compensation_ordered", "compensation_paid")
# Statistics stages (opschub.cases.followup_facts): step -> stage.
STAGE_OF_STEP = {
    "investigation_opened": "investigation",
    "charged": "prosecution",
    "prosecution": "prosecution",
    "hearing": "prosecution",
    "conviction": "conviction",
    "acquittal": "acquittal",
    "sentence": "sentence",
    "appeal": "appeal",
}
STAGES = ("investigation", "prosecution", "conviction", "acquittal", "sentence", "appeal")

# Where proceedings can wait, and the example targets in days (an operator sets the real ones).
# "opened": the case is open and a suspect is known but no investigation was opened.
WAITING_STAGES = (
    "opened",
    "investigation_opened",
    "charged",
    "prosecution",
    "hearing",
    "conviction",
    "appeal",
    "compensation_ordered",
)
DEFAULT_TARGETS: dict[str, int] = {
    "opened": 14,
    "investigation_opened": 90,
    "charged": 60,
    "prosecution": 120,
    "hearing": 60,
    "conviction": 30,
    "appeal": 180,
    "compensation_ordered": 90,
}
# After these the main track waits for nothing more (compensation is a track of its own).
_FINISHED = frozenset({"acquittal", "sentence", "offender_released"})


class TargetsError(ValueError):
    """A stage target that cannot be used; the message names the stage."""


def check_targets(targets: Mapping[str, object]) -> dict[str, int]:
    checked: dict[str, int] = {}
    for stage, days in targets.items():
        if stage not in WAITING_STAGES:
            raise TargetsError(
                f"stage {stage!r} is not one proceedings wait at; "
                f"known: {', '.join(WAITING_STAGES)}"
            )
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650:
            raise TargetsError(f"stage {stage}: target {days!r} must be 1 to 3650 days")
        checked[stage] = days
    return checked


@dataclass(frozen=True)
class Step:
    kind: str
    on: date


@dataclass(frozen=True)
class Problem:
    """A step that breaks a rule: ``field`` is the form field, ``code`` the rule, ``message`` the
    English text (translated by the caller through its msgid in :data:`MESSAGES`)."""

    field: str
    code: str
    message: str


MESSAGES = {
    "unknown_step": "unknown step",
    "requires": "needs an earlier step first",
    "before_required": "is dated before the step it needs",
    "in_future": "is dated in the future",
    "twice": "is already recorded for this suspect",
    "other_judgment": "contradicts the judgment already recorded (record an appeal first)",
    "amount": "needs an amount of at least 0",
    "amount_not_allowed": "takes no amount",
    "before_opened": "is dated before the case was opened",
}


def check_step(
    existing: Sequence[Step],
    new: Step,
    *,
    today: date,
    amount: float | None = None,
    opened_on: date | None = None,
) -> list[Problem]:
    """Every rule ``new`` breaks, given the suspect's steps so far (empty: it may be recorded)."""
    problems: list[Problem] = []

    def problem(field: str, code: str, detail: str = "") -> None:
        text = f"{new.kind}: {MESSAGES[code]}" + (f" ({detail})" if detail else "")
        problems.append(Problem(field, code, text))

    if new.kind not in STEPS:
        problem("kind", "unknown_step", new.kind)
        return problems
    if new.on > today:
        problem("on", "in_future", new.on.isoformat())
    if opened_on is not None and new.on < opened_on and new.kind != "investigation_opened":
        # An investigation may predate the case (it came from the police); the rest may not.
        problem("on", "before_opened", opened_on.isoformat())
    kinds = [step.kind for step in existing]
    if new.kind in ONCE and new.kind in kinds:
        problem("kind", "twice")
    needed = REQUIRES.get(new.kind, ())
    if needed:
        earlier = [step for step in existing if step.kind in needed]
        if not earlier:
            problem("kind", "requires", " / ".join(needed))
        elif all(new.on < step.on for step in earlier):
            first = min(step.on for step in earlier)
            problem("on", "before_required", f"{'/'.join(needed)} {first.isoformat()}")
    if new.kind in JUDGMENTS:
        other = JUDGMENTS[1 - JUDGMENTS.index(new.kind)]
        last_other = max((s.on for s in existing if s.kind == other), default=None)
        if last_other is not None and not any(
            s.kind == "appeal" and s.on >= last_other for s in existing
        ):
            problem("kind", "other_judgment")
    if new.kind in WITH_AMOUNT:
        if amount is None or amount < 0:
            problem("amount", "amount")
    elif amount is not None:
        problem("amount", "amount_not_allowed")
    return problems


def check_sequence(steps: Iterable[Step], *, today: date) -> list[Problem]:
    """Check steps as if recorded one by one in date order (imports, a whole timeline)."""
    ordered = sorted(steps, key=lambda s: (s.on, STEPS.index(s.kind) if s.kind in STEPS else 99))
    problems: list[Problem] = []
    for index, step in enumerate(ordered):
        problems.extend(check_step(ordered[:index], step, today=today))
    return problems


@dataclass(frozen=True)
class Waiting:
    """Proceedings waiting at ``stage`` since ``since``; ``target`` days allowed."""

    stage: str
    since: date
    days: int
    target: int

    @property
    def overdue(self) -> bool:
        return self.days > self.target

    @property
    def days_over(self) -> int:
        return self.days - self.target


def waiting(
    steps: Sequence[Step],
    *,
    opened_on: date,
    today: date,
    targets: Mapping[str, int] | None = None,
) -> list[Waiting]:
    """Where one suspect's proceedings wait now (the main track, and compensation ordered but not
    paid), each with its target; a stage without a target is not watched."""
    table = DEFAULT_TARGETS if targets is None else targets
    result: list[Waiting] = []
    main = [s for s in steps if s.kind not in ("compensation_ordered", "compensation_paid")]
    if main:
        last = max(main, key=lambda s: (s.on, STEPS.index(s.kind)))
        stage, since = last.kind, last.on
    else:
        stage, since = "opened", opened_on
    if stage not in _FINISHED and stage in table:
        result.append(Waiting(stage, since, (today - since).days, table[stage]))
    ordered = [s.on for s in steps if s.kind == "compensation_ordered"]
    paid = [s.on for s in steps if s.kind == "compensation_paid"]
    if ordered and (not paid or max(paid) < max(ordered)) and "compensation_ordered" in table:
        since = max(ordered)
        result.append(
            Waiting(
                "compensation_ordered", since, (today - since).days, table["compensation_ordered"]
            )
        )
    return result


def alarms(
    steps: Sequence[Step],
    *,
    opened_on: date,
    today: date,
    targets: Mapping[str, int] | None = None,
) -> list[Waiting]:
    """The stages that have waited longer than their target."""
    return [
        w for w in waiting(steps, opened_on=opened_on, today=today, targets=targets) if w.overdue
    ]
