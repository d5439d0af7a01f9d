"""Flood protection for public forms and the partner API: token buckets held only in memory.

Public pages key the bucket on HMAC-SHA256(salt, client address), where the salt is random, lives
only in this process and is replaced every hour (all buckets are dropped with it). The address
itself is never stored, logged or kept past the request, and an hour later even its hash cannot be
linked to the new one. Each web worker has its own buckets: with N workers the effective limit is
up to N times higher, which is acceptable for flood protection.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

ROTATE_SECONDS = 3600.0
MAX_KEYS = 100_000  # beyond this, the oldest buckets are forgotten (memory stays bounded)


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """``capacity`` requests at once, refilled at ``per_second``; keys are opaque strings."""

    def __init__(
        self,
        capacity: float,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        rotate_seconds: float = ROTATE_SECONDS,
    ) -> None:
        if capacity <= 0 or per_second <= 0:
            raise ValueError("capacity and per_second must be positive")
        self.capacity = capacity
        self.per_second = per_second
        self._clock = clock
        self._rotate_seconds = rotate_seconds
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self._salt = secrets.token_bytes(32)
        self._salt_since = clock()

    def _rotate_if_due(self, now: float) -> None:
        if now - self._salt_since >= self._rotate_seconds:
            self._salt = secrets.token_bytes(32)
            self._salt_since = now
            self._buckets.clear()

    def address_key(self, address: str | None) -> str:
        """A key for a client address that cannot be turned back into it (salted, rotating)."""
        with self._lock:
            self._rotate_if_due(self._clock())
            salt = self._salt
        return hmac.new(salt, (address or "-").encode(), hashlib.sha256).hexdigest()

    def hit(self, key: str, cost: float = 1.0) -> float | None:
        """Take ``cost`` tokens; ``None`` when allowed, else the seconds to wait before retrying."""
        with self._lock:
            now = self._clock()
            self._rotate_if_due(now)
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= MAX_KEYS:
                    self._buckets.pop(next(iter(self._buckets)))
                bucket = self._buckets[key] = _Bucket(self.capacity, now)
            bucket.tokens = min(
                self.capacity, bucket.tokens + (now - bucket.updated) * self.per_second
            )
            bucket.updated = now
            if cost > self.capacity:
                return math.inf
            if bucket.tokens >= cost:
                bucket.tokens -= cost
                return None
            return (cost - bucket.tokens) / self.per_second

    def __len__(self) -> int:
        return len(self._buckets)


def retry_after_header(seconds: float) -> str:
    """Whole seconds, at least 1 (Retry-After takes an integer)."""
    return str(max(1, math.ceil(seconds))) if math.isfinite(seconds) else "3600"
