"""The documented layouts, run for real: one machine with 2 web processes behind one port,
2 job workers, PostgreSQL and Redis; and RabbitMQ as the broker."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import httpx
import pytest
from jobs_processes import PrivateRedis, Processes, free_port, wait_for

from opschub.db import Database

RABBITMQ_URL = os.environ.get("OPSCHUB_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).is_success
    except httpx.TransportError:
        return False


def test_two_web_processes_and_two_workers_on_postgresql_and_redis(
    pg_database: Database, private_redis: PrivateRedis, processes: Processes
) -> None:
    processes.env.update(OPSCHUB_DATABASE_URL=pg_database.url, OPSCHUB_BROKER_URL=private_redis.url)
    processes.run("db", "upgrade")
    port = free_port()
    processes.start("serve", "--port", str(port), "--workers", "2", name="web")
    for n in range(2):
        processes.start("worker", name=f"worker-{n}")
    base = f"http://127.0.0.1:{port}"
    wait_for("the web processes", lambda: _answers(f"{base}/healthz"))
    for _ in range(3):
        probe = processes.run("jobs", "probe", "--timeout", "60")
        assert "a worker ran job" in probe.stdout

    def two_workers() -> bool:
        return bool(httpx.get(f"{base}/healthz", timeout=5).json()["workers"]["alive"] == 2)

    wait_for("both workers' heartbeats", two_workers)
    health = httpx.get(f"{base}/healthz", timeout=5).json()
    assert (health["status"], health["broker"]) == ("ok", "ok")
    assert httpx.get(f"{base}/report?lang=en", timeout=5).status_code == 200


@pytest.fixture
def rabbitmq_queue() -> Iterator[str]:
    import pika

    try:
        connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    except Exception as exc:
        reason = f"RabbitMQ not reachable at {RABBITMQ_URL}: {exc.__class__.__name__}"
        if os.environ.get("OPSCHUB_REQUIRE_RABBITMQ") == "1":
            pytest.fail(f"{reason} (OPSCHUB_REQUIRE_RABBITMQ=1)")
        pytest.skip(reason)
    queue = f"opschub-test-{secrets.token_hex(4)}"  # the machine's RabbitMQ is shared
    yield queue
    channel = connection.channel()
    for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
        channel.queue_delete(name)
    connection.close()


def test_rabbitmq_carries_jobs_to_a_worker(
    pg_database: Database, rabbitmq_queue: str, processes: Processes
) -> None:
    processes.env.update(
        OPSCHUB_DATABASE_URL=pg_database.url,
        OPSCHUB_BROKER_URL=RABBITMQ_URL,
        OPSCHUB_JOB_QUEUE=rabbitmq_queue,
    )
    processes.run("db", "upgrade")
    processes.start("worker", name="worker")
    probe = processes.run("jobs", "probe", "--timeout", "60")
    assert "a worker ran job" in probe.stdout
    doctor = processes.run("doctor")
    assert "ok   broker: amqp://127.0.0.1:5672/" in doctor.stdout
