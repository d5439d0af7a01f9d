"""The broker: carries job ids from the database to workers, nothing more.

``OPSCHUB_BROKER_URL`` names Redis (``redis://``) or RabbitMQ (``amqp://``); without it the broker
is Dramatiq's in-process one, consumed by the worker threads of the same process (the embedded
mode of ``opschub serve``). A message that is lost (a broker restarted without persistence, a
worker killed) costs only time: the sweep sends the row's id again.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Sequence
from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker

from opschub.config import Settings
from opschub.db import Database, get_database

log = logging.getLogger("opschub.jobs")

ACTOR = "opschub_run_job"


class _State:
    broker: Any = None
    actor: Any = None
    url: str | None = None
    queue: str | None = None
    database: Database | None = None
    consuming = False  # a runtime in this process consumes the (in-process) broker
    worker_id: str | None = None


_state = _State()
_lock = threading.Lock()


def worker_id() -> str:
    """This process's name in the job tables: host, process id and a random tail."""
    if _state.worker_id is None:
        _state.worker_id = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
    return _state.worker_id


def make_broker(url: str) -> dramatiq.Broker:
    # No Dramatiq middleware: retries, backoff and time limits live in the job table.
    if url.startswith(("redis://", "rediss://")):
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(
            url=url,
            middleware=[],
            namespace="opschub",
            socket_connect_timeout=2,
            socket_timeout=5,
        )
    if url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=url, middleware=[], confirm_delivery=True)
    return StubBroker(middleware=[])


def _run(job_id: str) -> None:
    from opschub.jobs.runner import run_job

    run_job(_state.database or get_database(), job_id, worker_id())


def broker(settings: Settings) -> tuple[dramatiq.Broker, dramatiq.Actor[[str], None]]:
    """This process's broker and the one actor that runs a job row by id."""
    with _lock:
        if (
            _state.broker is None
            or _state.url != settings.broker_url
            or _state.queue != settings.job_queue
        ):
            _state.broker = make_broker(settings.broker_url)
            _state.url, _state.queue = settings.broker_url, settings.job_queue
            _state.actor = dramatiq.Actor(
                _run,
                broker=_state.broker,
                actor_name=ACTOR,
                queue_name=settings.job_queue,
                priority=0,
                options={},
            )
        return _state.broker, _state.actor


def consume_here(database: Database) -> None:
    """A runtime in this process runs jobs (against ``database``)."""
    _state.database = database
    _state.consuming = True


def stop_consuming() -> None:
    _state.consuming = False


def can_send(settings: Settings) -> bool:
    """Messages reach a worker: a real broker, or an in-process one with a runtime here."""
    return bool(settings.broker_url) or _state.consuming


def send(settings: Settings, job_ids: Sequence[str]) -> list[str]:
    """Send each id to the broker; the ids that could not be sent (the sweep retries them)."""
    if not job_ids or not can_send(settings):
        return list(job_ids)
    _, actor = broker(settings)
    for index, job_id in enumerate(job_ids):
        try:
            actor.send(job_id)
        except Exception as exc:  # broker down: the database still knows what is due
            log.warning(
                "broker unreachable (%s); %d job(s) wait",
                exc.__class__.__name__,
                len(job_ids) - index,
            )
            return list(job_ids[index:])
    return []


def reset() -> None:
    """Forget the broker (tests, and a process that changes settings)."""
    with _lock:
        if _state.broker is not None:
            try:
                _state.broker.close()
            except Exception:  # closing a dead connection must not stop a shutdown
                log.debug("closing the broker failed", exc_info=True)
        _state.broker = _state.actor = _state.url = _state.queue = _state.database = None
        _state.consuming = False
