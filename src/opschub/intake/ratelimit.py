"""Flood protection for public forms and the partner API: token buckets.

:func:`make_rate_limiter` chooses the kind: :class:`RedisRateLimiter` when Redis is configured
(``OPSCHUB_REDIS_URL``, else a ``redis://`` ``OPSCHUB_BROKER_URL``), so that every web worker on
every machine shares one bucket per key; else :class:`RateLimiter`, in this process's memory.

Public pages key the bucket on HMAC-SHA256(salt, client address), where the salt is random, lives
only in this process and is replaced every hour (all buckets are dropped with it). The address
itself is never stored, logged or kept past the request, and an hour later even its hash cannot be
linked to the new one. Each web worker has its own buckets: with N workers the effective limit is
up to N times higher, which is acceptable for flood protection. With Redis the salt is shared
the same way (one per hour, kept two hours) and buckets expire once full again.
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
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from opschub.config import Settings

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


class Limiter(Protocol):
    """What a web route needs from a rate limiter (both kinds below fit)."""

    capacity: float
    per_second: float

    def address_key(self, address: str | None) -> str: ...

    def hit(self, key: str, cost: float = 1.0) -> float | None: ...


# A token bucket in one round trip: Redis's own clock, so web workers' clocks need not agree.
_BUCKET_SCRIPT = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(bucket[1])
local updated = tonumber(bucket[2])
if tokens == nil then tokens = capacity; updated = now end
tokens = math.min(capacity, tokens + math.max(0, now - updated) * rate)
local wait = -1
if cost <= tokens then tokens = tokens - cost else wait = (cost - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
return tostring(wait)
"""


class RedisRateLimiter:
    """The same buckets as :class:`RateLimiter`, held in Redis and shared by every web worker.

    If Redis cannot be reached, each call falls back to an in-process limiter of the same size:
    floods are still slowed (per worker) and requests keep being answered.
    """

    def __init__(
        self,
        capacity: float,
        per_second: float,
        *,
        url: str,
        name: str,
        rotate_seconds: float = ROTATE_SECONDS,
        wall_clock: Callable[[], float] = time.time,
        client: Any = None,
    ) -> None:
        import redis

        if capacity <= 0 or per_second <= 0:
            raise ValueError("capacity and per_second must be positive")
        self.capacity = capacity
        self.per_second = per_second
        self._prefix = f"opschub:ratelimit:{name}:"
        self._rotate_seconds = rotate_seconds
        self._wall_clock = wall_clock
        self._client = client or redis.Redis.from_url(
            url, socket_connect_timeout=0.5, socket_timeout=0.5
        )
        self._script = self._client.register_script(_BUCKET_SCRIPT)
        self._salts: dict[int, bytes] = {}
        self._lock = threading.Lock()
        self.fallback = RateLimiter(capacity, per_second, rotate_seconds=rotate_seconds)

    def _salt(self) -> bytes:
        period = int(self._wall_clock() // self._rotate_seconds)
        with self._lock:
            salt = self._salts.get(period)
        if salt is None:
            key = f"{self._prefix}salt:{period}"
            ttl = int(2 * self._rotate_seconds) + 1
            self._client.set(key, secrets.token_bytes(32), nx=True, ex=ttl)
            raw = self._client.get(key)
            if not isinstance(raw, bytes):
                raise RuntimeError("the shared salt vanished")
            salt = raw
            with self._lock:
                self._salts = {period: salt}  # older hours are forgotten here too
        return salt

    def address_key(self, address: str | None) -> str:
        try:
            salt = self._salt()
        except Exception:
            return self.fallback.address_key(address)
        return hmac.new(salt, (address or "-").encode(), hashlib.sha256).hexdigest()

    def hit(self, key: str, cost: float = 1.0) -> float | None:
        if cost > self.capacity:
            return math.inf
        try:
            wait = float(
                self._script(
                    keys=[self._prefix + "bucket:" + key],
                    args=[repr(self.capacity), repr(self.per_second), repr(cost)],
                )
            )
        except Exception:
            return self.fallback.hit(key, cost)
        return None if wait < 0 else wait


def make_rate_limiter(
    capacity: float, per_second: float, *, name: str, settings: Settings | None = None
) -> Limiter:
    """The limiter to use: shared through Redis when it is configured, else in-process.

    ``name`` keeps the buckets of different limits apart (``intake.public``, ``login``).
    """
    if settings is None:
        from opschub.config import get_settings

        settings = get_settings()
    url = settings.shared_redis_url
    if url:
        return RedisRateLimiter(capacity, per_second, url=url, name=name)
    return RateLimiter(capacity, per_second)
