"""Named fact sources: read-only SQLAlchemy Selects that each capability exposes in its facts.py.

A source is ``name -> (module, function, date column)``. The function returns a ``Select`` (no
session needed) whose labelled columns are codes of :mod:`opschub.taxonomy`; the engine
(:mod:`opschub.stats.engine`) filters it by period and adds it up with GROUP BY on either engine.
A source whose module is not installed (a capability not built yet) is *declared* and reported as
"source not available", never faked.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select


@dataclass(frozen=True)
class Source:
    name: str
    module: str
    function: str
    date_column: str

    def load(self) -> Callable[[], Select[Any]]:
        try:
            module = importlib.import_module(self.module)
        except ModuleNotFoundError as exc:
            raise SourceUnavailable(self.name, f"{exc.name} is not installed") from None
        function = getattr(module, self.function, None)
        if function is None:
            raise SourceUnavailable(self.name, f"{self.module} has no {self.function}()")
        return function


class SourceUnavailable(LookupError):
    """The capability that provides a source is not part of this installation (yet)."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"source not available: {name} ({why})")
        self.name = name
        self.why = why


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source("intake.reports", "opschub.intake.facts", "report_facts", "received_on"),
        Source("takedown.items", "opschub.takedown.facts", "item_facts", "confirmed_on"),
        Source("takedown.notices", "opschub.takedown.facts", "notice_facts", "sent_on"),
        Source("cases.cases", "opschub.cases.facts", "case_facts", "opened_on"),
        Source("cases.victims", "opschub.cases.facts", "victim_facts", "opened_on"),
        Source("cases.suspects", "opschub.cases.facts", "suspect_facts", "opened_on"),
        Source("cases.proceedings", "opschub.cases.followup_facts", "proceeding_facts", "on"),
        Source("cases.referrals", "opschub.cases.followup_facts", "referral_facts", "sent_on"),
        Source("cases.compensation", "opschub.cases.followup_facts", "compensation_facts", "on"),
    )
}


def get(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        raise SourceUnavailable(name, f"unknown source; known: {', '.join(SOURCES)}") from None


def available(name: str) -> bool:
    try:
        get(name).load()
    except SourceUnavailable:
        return False
    return True
