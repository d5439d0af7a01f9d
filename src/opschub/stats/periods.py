"""Periods of statistics: a year (``2026``), a quarter (``2026-Q1``), a month (``2026-03``) or
``all``; each is a half-open range of days [start, end)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
# DHIS2 writes periods without separators: 2026, 2026Q1, 202603.
_DHIS2_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_DHIS2_MONTH = re.compile(r"^(\d{4})(0[1-9]|1[0-2])$")


class PeriodError(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    label: str
    start: date | None  # None: all time
    end: date | None

    def contains(self, other: Period) -> bool:
        if self.start is None or self.end is None:
            return True
        if other.start is None or other.end is None:
            return False
        return self.start <= other.start and other.end <= self.end

    @property
    def dhis2(self) -> str:
        return self.label.replace("-Q", "Q").replace("-", "")


def _next_month(year: int, month: int) -> date:
    return date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)


def parse(text: str) -> Period:
    """The period named ``text``; :class:`PeriodError` says which shapes are allowed."""
    text = text.strip()
    if text == "all":
        return Period("all", None, None)
    if m := _YEAR.match(text):
        year = int(m.group(1))
        return Period(text, date(year, 1, 1), date(year + 1, 1, 1))
    if m := _QUARTER.match(text) or _DHIS2_QUARTER.match(text):
        year, quarter = int(m.group(1)), int(m.group(2))
        first = 3 * (quarter - 1) + 1
        return Period(f"{year}-Q{quarter}", date(year, first, 1), _next_month(year, first + 2))
    if m := _MONTH.match(text) or _DHIS2_MONTH.match(text):
        year, month = int(m.group(1)), int(m.group(2))
        return Period(f"{year}-{month:02d}", date(year, month, 1), _next_month(year, month))
    raise PeriodError(
        f"period {text!r}: use a year (2026), a quarter (2026-Q1), a month (2026-03) or all"
    )
