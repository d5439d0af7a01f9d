"""Fixtures for the job tests: a PRIVATE redis-server, a throw-away PostgreSQL database and
`opschub` subprocesses (see jobs_processes.py)."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from jobs_processes import HERE, POSTGRES_ADMIN_URL, PrivateRedis, Processes, missing
from sqlalchemy import text
from sqlalchemy.engine import make_url

from opschub.db import Database


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        missing("REDIS", "redis-server is not installed")
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
        missing("POSTGRES", f"PostgreSQL not reachable: {exc.__class__.__name__}")
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    database = Database(url)
    try:
        yield database
    finally:
        database.dispose()
        with admin.engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


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
