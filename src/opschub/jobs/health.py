"""What /healthz says about jobs: is the broker reachable, when did workers last beat.

Nothing here names a host, an address or a URL: /healthz is public.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opschub.clock import utcnow
from opschub.config import Settings
from opschub.jobs.models import Job, JobWorker

CACHE_SECONDS = 5.0
_cache: dict[str, tuple[float, str]] = {}
_lock = threading.Lock()


def _probe(url: str) -> None:
    if url.startswith("redis"):
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
    else:
        import pika

        parameters = pika.URLParameters(url)
        parameters.socket_timeout = 1
        parameters.connection_attempts = 1
        pika.BlockingConnection(parameters).close()


def broker_state(settings: Settings) -> str:
    """``embedded``, ``ok`` or ``unreachable`` (probed at most every few seconds)."""
    url = settings.broker_url
    if not url:
        return "embedded"
    now = time.monotonic()
    with _lock:
        cached = _cache.get(url)
        if cached and now - cached[0] < CACHE_SECONDS:
            return cached[1]
    try:
        _probe(url)
        state = "ok"
    except Exception:
        state = "unreachable"
    with _lock:
        _cache[url] = (now, state)
    return state


def workers_summary(session: Session, settings: Settings) -> dict[str, Any]:
    now = utcnow()
    beats: list[datetime] = list(session.scalars(select(JobWorker.heartbeat_at)).all())
    alive = [b for b in beats if (now - b).total_seconds() <= settings.job_stale_seconds]
    latest = max(beats, default=None)
    oldest_due = session.scalar(
        select(func.min(Job.due_at)).where(Job.state == "queued", Job.due_at <= now)
    )
    return {
        "alive": len(alive),
        "last_heartbeat_seconds_ago": round((now - latest).total_seconds(), 1) if latest else None,
        "oldest_due_job_waiting_seconds": (
            round((now - oldest_due).total_seconds(), 1) if oldest_due else 0
        ),
    }
