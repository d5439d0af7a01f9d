"""Removal figures: how fast reported content gets a notice and then disappears.

For the targets (reported URLs) whose report came in during a period (dates inclusive, UTC):

- *report to notice*: hours from ``reported_at`` to the first notice (``first_notice_at``);
- *notice to removal*: hours from the first notice to the observed removal (``removed_at``);
  each as a median and a 90th percentile (linear interpolation between the closest ranks, as
  ``statistics.quantiles(method="inclusive")`` and spreadsheet ``PERCENTILE``);
- the share of notified targets removed within 24 hours, 72 hours and 7 days (the denominator
  is every notified target, removed or not, so content still online counts against the share);
- all of it overall, by hosting country and by provider;
- recidivism: confirmed material seen again at a new URL (``takedown_items.seen_before_target_id``),
  as items, as targets, and as a share of the period's confirmed targets.

The rows come from :func:`opschub.takedown.service.target_facts`; the arithmetic is done here,
the same on SQLite and PostgreSQL. No web imports.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opschub.clock import as_utc
from opschub.takedown.facts import AnySelect
from opschub.takedown.models import Item, Target
from opschub.takedown.service import target_facts

WITHIN_HOURS = (24, 72, 168)  # 24 h, 72 h, 7 days


class FiguresError(ValueError):
    """A period that cannot be computed; the message names the field."""


@dataclass(frozen=True)
class Durations:
    count: int
    median: float | None  # hours
    p90: float | None

    @classmethod
    def of(cls, hours: Sequence[float]) -> Durations:
        ordered = sorted(hours)
        return cls(len(ordered), quantile(ordered, 0.5), quantile(ordered, 0.9))


@dataclass(frozen=True)
class GroupFigures:
    key: str | None  # the country code or provider; None: not known
    targets: int
    notified: int
    removed: int
    report_to_notice: Durations
    notice_to_removal: Durations
    within: tuple[float | None, ...]  # share (0-1) of notified removed within WITHIN_HOURS


@dataclass(frozen=True)
class Recidivism:
    items_seen_again: int
    targets_with_repeat: int
    confirmed_targets: int

    @property
    def share(self) -> float | None:
        if not self.confirmed_targets:
            return None
        return self.targets_with_repeat / self.confirmed_targets


@dataclass(frozen=True)
class Figures:
    start: date | None
    end: date | None
    overall: GroupFigures
    by_country: list[GroupFigures]
    by_provider: list[GroupFigures]
    recidivism: Recidivism


def quantile(ordered: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile of sorted values by linear interpolation; None for no values."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _hours(later: datetime, earlier: datetime) -> float:
    # A removal observed before the notice went out (already gone) counts as zero hours.
    return max(0.0, (as_utc(later) - as_utc(earlier)).total_seconds() / 3600)


@dataclass
class _Row:
    id: str
    reported_at: datetime
    confirmed_at: datetime | None
    first_notice_at: datetime | None
    removed_at: datetime | None
    country: str | None
    provider: str | None


def _group(key: str | None, rows: Sequence[_Row]) -> GroupFigures:
    to_notice = [_hours(r.first_notice_at, r.reported_at) for r in rows if r.first_notice_at]
    notified = [r for r in rows if r.first_notice_at is not None]
    to_removal = [
        _hours(r.removed_at, r.first_notice_at)
        for r in notified
        if r.removed_at is not None and r.first_notice_at is not None
    ]
    within = tuple(
        (sum(1 for h in to_removal if h <= limit) / len(notified)) if notified else None
        for limit in WITHIN_HOURS
    )
    return GroupFigures(
        key=key,
        targets=len(rows),
        notified=len(notified),
        removed=sum(1 for r in rows if r.removed_at is not None),
        report_to_notice=Durations.of(to_notice),
        notice_to_removal=Durations.of(to_removal),
        within=within,
    )


def _by(rows: Iterable[_Row], attribute: str) -> list[GroupFigures]:
    groups: dict[str | None, list[_Row]] = defaultdict(list)
    for row in rows:
        groups[getattr(row, attribute)].append(row)
    found = [_group(key, members) for key, members in groups.items()]
    # Most notified first, then by name; the unknown group last.
    return sorted(found, key=lambda g: (g.key is None, -g.notified, -g.targets, g.key or ""))


def _bounds(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    if start is not None and end is not None and end < start:
        raise FiguresError(f"end: {end.isoformat()} is before the start {start.isoformat()}")
    low = datetime.combine(start, time.min, tzinfo=UTC) if start else None
    high = datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC) if end else None
    return low, high


def _in_period(query: AnySelect, low: datetime | None, high: datetime | None) -> AnySelect:
    if low is not None:
        query = query.where(Target.reported_at >= low)
    if high is not None:
        query = query.where(Target.reported_at < high)
    return query


def removal_figures(
    session: Session, *, start: date | None = None, end: date | None = None
) -> Figures:
    """The figures for targets reported from ``start`` to ``end`` (inclusive; None: open)."""
    low, high = _bounds(start, end)
    rows = [
        _Row(
            id=r.id,
            reported_at=r.reported_at,
            confirmed_at=r.confirmed_at,
            first_notice_at=r.first_notice_at,
            removed_at=r.removed_at,
            country=r.country,
            provider=r.provider,
        )
        for r in session.execute(_in_period(target_facts(), low, high))
    ]
    repeat = _in_period(
        select(
            func.count(Item.id).label("items"),
            func.count(func.distinct(Item.target_id)).label("targets"),
        )
        .join(Target, Target.id == Item.target_id)
        .where(Item.seen_before_target_id.is_not(None), Item.state == "confirmed"),
        low,
        high,
    )
    items_again, targets_again = session.execute(repeat).one()
    return Figures(
        start=start,
        end=end,
        overall=_group(None, rows),
        by_country=_by(rows, "country"),
        by_provider=_by(rows, "provider"),
        recidivism=Recidivism(
            items_seen_again=int(items_again or 0),
            targets_with_repeat=int(targets_again or 0),
            confirmed_targets=sum(1 for r in rows if r.confirmed_at is not None),
        ),
    )


# -- CSV export ----------------------------------------------------------------------------------

CSV_COLUMNS = (
    "scope",
    "group",
    "targets",
    "notified",
    "removed",
    "report_to_notice_median_hours",
    "report_to_notice_p90_hours",
    "notice_to_removal_median_hours",
    "notice_to_removal_p90_hours",
    "removed_within_24h",
    "removed_within_72h",
    "removed_within_7d",
)


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}".rstrip("0").rstrip(".")


def _cell(text: str) -> str:
    """Provider names are not ours: keep a spreadsheet from reading one as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def figures_csv(figures: Figures) -> str:
    """One row per group (scope ``all``, ``country``, ``provider``), then the recidivism row;
    hours with two decimals, shares as fractions (0.5 = half), empty where there is no value.
    The period is in the first row's ``group`` of scope ``period``."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    period = (
        f"{figures.start.isoformat() if figures.start else ''}/"
        f"{figures.end.isoformat() if figures.end else ''}"
    )
    writer.writerow(["period", period] + [""] * (len(CSV_COLUMNS) - 2))
    scopes = (("all", [figures.overall]), ("country", figures.by_country))
    for scope, groups in (*scopes, ("provider", figures.by_provider)):
        for g in groups:
            writer.writerow(
                [
                    scope,
                    _cell(g.key or ("" if scope == "all" else "unknown")),
                    g.targets,
                    g.notified,
                    g.removed,
                    _number(g.report_to_notice.median),
                    _number(g.report_to_notice.p90),
                    _number(g.notice_to_removal.median),
                    _number(g.notice_to_removal.p90),
                    *(_number(share) for share in g.within),
                ]
            )
    r = figures.recidivism
    for name, value in (
        ("items_seen_again", r.items_seen_again),
        ("targets_with_repeat", r.targets_with_repeat),
        ("share_of_confirmed_targets", _number(r.share)),
    ):
        writer.writerow(["recidivism", name, value] + [""] * (len(CSV_COLUMNS) - 3))
    return out.getvalue()
