"""The one clock: timezone-aware UTC, replaceable in tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def utcnow() -> datetime:
    """Current time, timezone-aware UTC."""
    return _now()


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    """Fix the clock at ``at`` (tests)."""
    global _now
    previous = _now
    _now = lambda: at  # noqa: E731
    try:
        yield
    finally:
        _now = previous


def as_utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; treat them as the UTC they were written in."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
