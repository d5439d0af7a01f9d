"""Helpers for the job tests that start real processes (a uniquely named module: ``conftest``
is ambiguous): a PRIVATE redis-server on a free port (a test may stop and start it; the
machine's shared Redis on 6379 is never touched) and `opschub` subprocesses with bounded waits.

Without redis-server or PostgreSQL these tests skip with the reason, or fail when
OPSCHUB_REQUIRE_REDIS=1 / OPSCHUB_REQUIRE_POSTGRES=1 (CI).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from loopback import free_port

HERE = Path(__file__).resolve().parent
OPSCHUB = [sys.executable, "-m", "opschub"]
POSTGRES_ADMIN_URL = os.environ.get(
    "OPSCHUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def missing(kind: str, reason: str) -> None:
    if os.environ.get(f"OPSCHUB_REQUIRE_{kind}") == "1":
        pytest.fail(f"{reason} (OPSCHUB_REQUIRE_{kind}=1)")
    pytest.skip(reason)


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
