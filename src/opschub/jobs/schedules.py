"""Periodic jobs from settings (``OPSCHUB_SCHEDULES``: task kind -> cron expression, UTC).

Each period's run is a job keyed ``schedule:KIND:PERIOD-START``, so however many schedulers
look at the same period, it is created (and runs) once. Only the newest period is created: after
a day switched off, an hourly job runs once, not 24 times.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from croniter import croniter
from sqlalchemy.orm import Session

from opschub.clock import utcnow
from opschub.jobs import service

KEY_PREFIX = "schedule:"


@dataclass(frozen=True)
class NextRun:
    kind: str
    cron: str
    next_at: datetime


def period_start(cron: str, now: datetime) -> datetime:
    """The start of the period ``now`` falls in (the latest cron time not after it)."""
    # get_prev is strictly before its start: start just after now so that a cron time equal to
    # now counts as the current period.
    previous: datetime = croniter(cron, now + timedelta(seconds=1)).get_prev(datetime)
    if previous > now:  # croniter works in whole seconds
        previous = croniter(cron, now).get_prev(datetime)
    return previous


def run_key(kind: str, start: datetime) -> str:
    return f"{KEY_PREFIX}{kind}:{start.strftime('%Y-%m-%dT%H:%M:%SZ')}"


def create_due_runs(session: Session, schedules: Mapping[str, str]) -> list[str]:
    """Create this period's run of every schedule (once); the keys created or found."""
    now = utcnow()
    keys = []
    for kind, cron in sorted(schedules.items()):
        start = period_start(cron, now)
        key = run_key(kind, start)
        service.schedule(
            session, kind=kind, key=key, payload={"period": start.isoformat()}, due_at=start
        )
        keys.append(key)
    return keys


def next_runs(schedules: Mapping[str, str]) -> list[NextRun]:
    now = utcnow()
    return [
        NextRun(kind, cron, croniter(cron, now).get_next(datetime))
        for kind, cron in sorted(schedules.items())
    ]
