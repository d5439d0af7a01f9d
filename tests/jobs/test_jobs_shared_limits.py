"""Rate limits shared by every web worker through Redis (the machine's Redis on 6379, keys
under a random name), and the in-process fallback when Redis is not configured or is down."""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Iterator

import pytest

from opschub.config import Settings
from opschub.intake.ratelimit import RateLimiter, RedisRateLimiter, make_rate_limiter

REDIS_URL = os.environ.get("OPSCHUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_url() -> Iterator[str]:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("OPSCHUB_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis not reachable at {REDIS_URL}: {exc} (OPSCHUB_REQUIRE_REDIS=1)")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    yield REDIS_URL
    for key in client.scan_iter("opschub:ratelimit:test-*"):
        client.delete(key)
    client.close()


def _pair(url: str, **kw: float) -> tuple[RedisRateLimiter, RedisRateLimiter]:
    name = f"test-{secrets.token_hex(4)}"
    return (
        RedisRateLimiter(3, 0.001, url=url, name=name, **kw),  # type: ignore[arg-type]
        RedisRateLimiter(3, 0.001, url=url, name=name, **kw),  # type: ignore[arg-type]
    )


def test_two_web_workers_share_one_bucket(redis_url: str) -> None:
    worker_a, worker_b = _pair(redis_url)
    key = worker_a.address_key("192.0.2.7")
    assert worker_b.address_key("192.0.2.7") == key  # the same salt, shared through Redis
    assert worker_a.hit(key) is None
    assert worker_b.hit(key) is None
    assert worker_a.hit(key) is None
    wait = worker_b.hit(key)  # the fourth request, on the other worker, is refused
    assert wait is not None and wait > 0
    assert worker_a.hit(worker_a.address_key("192.0.2.8")) is None  # another address
    assert worker_a.hit(key, cost=4) == math.inf


def test_the_shared_salt_rotates_and_never_holds_the_address(redis_url: str) -> None:
    import redis

    now = [1_000_000.0]
    worker_a, worker_b = _pair(redis_url, rotate_seconds=3600, wall_clock=lambda: now[0])
    first = worker_a.address_key("192.0.2.7")
    now[0] += 3600
    assert worker_a.address_key("192.0.2.7") != first
    assert worker_b.address_key("192.0.2.7") == worker_a.address_key("192.0.2.7")
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{worker_a._prefix}*"):
        assert b"192.0.2.7" not in key
        assert 0 < int(client.ttl(key)) <= 7201


def test_without_redis_configured_the_limit_is_in_process(settings: Settings) -> None:
    assert isinstance(make_rate_limiter(3, 1, name="x", settings=settings), RateLimiter)
    shared = Settings(data_dir=settings.data_dir, broker_url="redis://127.0.0.1:1/0")
    assert isinstance(make_rate_limiter(3, 1, name="x", settings=shared), RedisRateLimiter)
    amqp = Settings(data_dir=settings.data_dir, broker_url="amqp://guest:guest@127.0.0.1:5672/")
    assert isinstance(make_rate_limiter(3, 1, name="x", settings=amqp), RateLimiter)


def test_an_unreachable_redis_still_limits_within_the_worker() -> None:
    limiter = RedisRateLimiter(2, 0.001, url="redis://127.0.0.1:1/0", name="test-down")
    key = limiter.address_key("192.0.2.9")
    assert [limiter.hit(key), limiter.hit(key)] == [None, None]
    assert limiter.hit(key) is not None
