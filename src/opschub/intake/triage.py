"""Triage priority: the order of the analysts' queue.

Each signal adds a weight; the weights are powers of ten so that a stronger signal always
outranks any combination of weaker ones (lexicographic order):

    known match in a hash list      1000
    self-report (a child's image)    100
    stated age under 13               10
    live harm (live streaming)         1

A report with none of them has priority 0. Ties are broken by age (older first) in the queue.
"""

from __future__ import annotations

from dataclasses import dataclass

WEIGHTS: dict[str, int] = {
    "known_match": 1000,
    "self_report": 100,
    "under_13": 10,
    "live_harm": 1,
}
LIVE_HARM_TYPES = frozenset({"live_streaming"})
UNDER_13_BANDS = frozenset({"0-9", "10-12"})


@dataclass(frozen=True)
class Triage:
    priority: int
    reasons: tuple[str, ...]


def triage(
    *,
    matched: bool,
    channel: str,
    stated_age_band: str | None,
    incident_types: tuple[str, ...] | list[str],
) -> Triage:
    reasons = []
    if matched:
        reasons.append("known_match")
    if channel == "self_report":
        reasons.append("self_report")
    if stated_age_band in UNDER_13_BANDS:
        reasons.append("under_13")
    if LIVE_HARM_TYPES & set(incident_types):
        reasons.append("live_harm")
    return Triage(sum(WEIGHTS[r] for r in reasons), tuple(reasons))
