"""Real processes for the job tests: a PRIVATE redis-server on a free port (a test may stop and
start it; the machine's shared Redis on 6379 is never touched), a throw-away PostgreSQL database
migrated by `opschub db upgrade`, and `opschub` subprocesses with bounded waits.

Without redis-server or PostgreSQL these tests skip with the reason, or fail when
OPSCHUB_REQUIRE_REDIS=1 / OPSCHUB_REQUIRE_POSTGRES=1 (CI).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from opschub.db import Database

HERE = Path(__file__).resolve().parent
OPSCHUB = [sys.executable, "-m", "opschub"]
POSTGRES_ADMIN_URL = os.environ.get(
    "OPSCHUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _missing(kind: str, reason: str) -> None:
    if os.environ.get(f"OPSCHUB_REQUIRE_{kind}") == "1":
        pytest.fail(f"{reason} (OPSCHUB_REQUIRE_{kind}=1)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)


class PrivateRedis:
    """A redis-server of this test's own, without persistence (a restart loses its messages)."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)

        def up() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_for("redis-server", up, timeout=20)
        client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        _missing("REDIS", "redis-server is not installed")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def pg_database(tmp_path: Path) -> Iterator[Database]:
    """A fresh PostgreSQL database for processes to share, migrated like production."""
    name = f"opschub_jobs_{secrets.token_hex(4)}"
    admin = Database(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        _missing("POSTGRES", f"PostgreSQL not reachable: {exc.__class__.__name__}")
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    database = Database(url)
    try:
        yield database
    finally:
        database.dispose()
        with admin.engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Processes:
    """`opschub` subprocesses sharing one environment; all are killed at the end."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.env = env
        self.started: list[subprocess.Popen[str]] = []

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*OPSCHUB, *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        assert result.returncode == 0, result.stderr
        return result

    def start(self, *args: str, name: str) -> subprocess.Popen[str]:
        log = (self.tmp_path / f"{name}.log").open("w")
        process = subprocess.Popen(
            [*OPSCHUB, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT, text=True
        )
        self.started.append(process)
        return process

    def log(self, name: str) -> str:
        return (self.tmp_path / f"{name}.log").read_text()

    @staticmethod
    def kill(process: subprocess.Popen[str]) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=20)

    def close(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    self.kill(process)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSCHUB_")}
    env.update(
        OPSCHUB_DATA_DIR=str(tmp_path / "var"),
        OPSCHUB_SECRET_KEY="jobs-test-secret-0123456789abcdef0123456789",
        OPSCHUB_TASK_MODULES="jobs_helpers",
        PYTHONPATH=os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        # Short times so that faults are found again quickly.
        OPSCHUB_JOB_STALE_SECONDS="3",
        OPSCHUB_SWEEP_SECONDS="0.3",
        OPSCHUB_JOB_REDELIVER_SECONDS="3",
        OPSCHUB_SCHEDULES="{}",
    )
    group = Processes(tmp_path, env)
    yield group
    group.close()
