"""The states of a report, the moves people may make between them, and priority levels.

    received -> assessing -> action taken | not illegal | duplicate | out of jurisdiction
             -> closed -> (reopened) assessing

An outcome may also be chosen straight from "received", and changed while the report is not
closed. Closing needs a reason, and so does reopening a closed report. The system itself (demo
data, imports; no actor) may set any state.
"""

from __future__ import annotations

from opschub.intake.models import OUTCOMES, STATUSES

TRANSITIONS: dict[str, frozenset[str]] = {
    "received": frozenset({"assessing", *OUTCOMES}),
    "assessing": frozenset({"received", *OUTCOMES}),
    **{outcome: frozenset({"assessing", "closed", *OUTCOMES} - {outcome}) for outcome in OUTCOMES},
    "closed": frozenset({"assessing"}),
}
assert set(TRANSITIONS) == set(STATUSES)


def needs_reason(previous: str, new: str) -> bool:
    """Closing a report, and reopening a closed one, must say why."""
    return new == "closed" or previous == "closed"


def allowed(previous: str, new: str) -> bool:
    return new in TRANSITIONS.get(previous, frozenset())


# The public status page ("check my report") shows a coarse, child-friendly state: the
# outcomes that end the hotline's work read as "checked", never "not illegal".
PUBLIC_STATUS: dict[str, str] = {
    "received": "received",
    "assessing": "assessing",
    "action_taken": "action_taken",
    "not_illegal": "checked",
    "duplicate": "checked",
    "out_of_jurisdiction": "checked",
    "closed": "closed",
}

# Named priority levels over the triage score (opschub.intake.triage): a known match is urgent;
# a self-report or a child under 13 is high; live harm alone is normal; no signal is low.
LEVELS = ("urgent", "high", "normal", "low")
LEVEL_FLOOR = {"urgent": 1000, "high": 10, "normal": 1, "low": 0}


def level_of(priority: int) -> str:
    for level in LEVELS:
        if priority >= LEVEL_FLOOR[level]:
            return level
    return "low"


def level_range(level: str) -> tuple[int, int | None]:
    """``(lowest, highest_exclusive)`` priorities of ``level`` (None: no upper bound)."""
    index = LEVELS.index(level)
    upper = LEVEL_FLOOR[LEVELS[index - 1]] if index > 0 else None
    return LEVEL_FLOOR[level], upper
