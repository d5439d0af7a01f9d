"""Triage priority: the order of the analysts' queue.

Each signal adds a weight; the weights are powers of ten so that a stronger signal always
outranks any combination of weaker ones (lexicographic order):

    known match in a hash list      1000
    self-report (a child's image)    100
    stated age under 13               10
    live harm (live streaming)         1

A report with none of them has priority 0. Ties are broken by age (older first) in the queue.

Only a match against a verified list is a known match. A match against an unverified list
(the fingerprints of earlier anonymous self-reports, which nobody has seen) is shown as its own
reason, ``self_report_match``, and adds nothing: anyone can send any hash anonymously, so
repeating a self-report, or self-reporting the hash of a partner's image, must not move a report
up the queue. Repeats are linked through the match itself (its label names the earlier report).
"""

from __future__ import annotations

from dataclasses import dataclass

WEIGHTS: dict[str, int] = {
    "known_match": 1000,
    "self_report": 100,
    "under_13": 10,
    "live_harm": 1,
    "self_report_match": 0,
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
    self_report_match: bool = False,
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
    if self_report_match:
        reasons.append("self_report_match")
    return Triage(sum(WEIGHTS[r] for r in reasons), tuple(reasons))
