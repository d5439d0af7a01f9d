"""A real opschub server on loopback for the partner-API load and fault scripts.

Starts ``opschub serve`` in its own process on a fresh data directory, on SQLite or on a
throw-away PostgreSQL database, with a partner token; only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

POSTGRES_ADMIN = os.environ.get(
    "OPSCHUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    engine: str
    base_url: str
    token: str
    database_url: str
    process: subprocess.Popen[bytes]
    data_dir: Path

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing; what is on disk is what survived."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)


def _opschub(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "opschub", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"opschub {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def reports(count: int, *, prefix: str) -> list[dict[str, object]]:
    """Benign synthetic reports: example.org URLs and random fingerprints."""
    return [
        {
            "incident_types": ["csam"],
            "urls": [f"https://example.org/{prefix}/{i}/{uuid.uuid4().hex}"],
            "fingerprints": [
                {"type": "sha256", "value": secrets.token_hex(32)},
                {"type": "pdq", "value": secrets.token_hex(32), "quality": 90},
            ],
            "org_reference": f"{prefix}-{i}",
        }
        for i in range(count)
    ]


@contextmanager
def running_server(engine: str, *, workers: int = 1) -> Iterator[Server]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"opschub-bench-{engine}-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSCHUB_")}
    env["OPSCHUB_DATA_DIR"] = str(data_dir)
    db_name = None
    admin = None
    if engine == "postgresql":
        db_name = f"opschub_bench_{secrets.token_hex(4)}"
        admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{db_name}"'))
        env["OPSCHUB_DATABASE_URL"] = POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{db_name}"
        database_url = env["OPSCHUB_DATABASE_URL"]
    else:
        database_url = f"sqlite:///{data_dir / 'opschub.sqlite3'}"
    process = None
    try:
        _opschub(["db", "upgrade"], env)
        token = _opschub(
            ["token", "create", "benchmark partner", "--permission", "reports.submit", "--partner"],
            env,
        ).strip()
        port = free_port()
        # The server's own log, kept for a look when something fails (never client addresses).
        log = (data_dir.parent / f"{data_dir.name}.log").open("wb")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "opschub",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base_url}/healthz", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.2)
        yield Server(engine, base_url, token, database_url, process, data_dir)
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        if admin is not None and db_name is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
            admin.dispose()
        shutil.rmtree(data_dir, ignore_errors=True)


def postgres_available() -> bool:
    try:
        probe = create_engine(POSTGRES_ADMIN)
        with probe.connect():
            pass
        probe.dispose()
        return True
    except Exception:
        return False
