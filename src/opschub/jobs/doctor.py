"""``opschub doctor``: checks of an installation, each saying what to fix."""

from __future__ import annotations

import shutil
import stat
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from opschub.config import SECRET_KEY_FILE, Settings

MIN_FREE_BYTES = 1 << 30  # 1 GiB
MAX_CLOCK_SKEW_SECONDS = 5.0


def redacted(url: str) -> str:
    """A URL without its user name and password, to print."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.hostname is None:  # a file (SQLite): nothing secret in it
        return url
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _key_files(settings: Settings) -> list[Check]:
    checks = []
    path = settings.data_dir / SECRET_KEY_FILE
    if settings.secret_key:
        checks.append(Check("master key", True, "from OPSCHUB_SECRET_KEY"))
    elif not path.exists():
        checks.append(
            Check(
                "master key",
                False,
                f"{path} is missing: encrypted data cannot be read",
                "restore the key file from where it is kept (never from the database backup), "
                "or set OPSCHUB_SECRET_KEY",
            )
        )
    for key_file in sorted(settings.data_dir.glob("*.key")):
        mode = stat.S_IMODE(key_file.stat().st_mode)
        checks.append(
            Check(
                f"key file {key_file.name}",
                not mode & 0o077,
                f"{key_file} has mode {mode:04o}",
                f"chmod 600 {key_file}" if mode & 0o077 else "",
            )
        )
    return checks


def _data_dir(settings: Settings) -> list[Check]:
    directory = settings.data_dir
    if not directory.is_dir():
        return [
            Check("data directory", False, f"{directory} does not exist", f"mkdir -p {directory}")
        ]
    usage = shutil.disk_usage(directory)
    free_gib = usage.free / (1 << 30)
    return [
        Check(
            "disk space",
            usage.free >= MIN_FREE_BYTES,
            f"{free_gib:.1f} GiB free in {directory.resolve()}",
            "free space or move OPSCHUB_DATA_DIR to a larger disk (1 GiB at least)",
        )
    ]


def _database(settings: Settings) -> tuple[list[Check], float | None]:
    from opschub import migrate
    from opschub.db import Database

    shown = redacted(settings.sqlalchemy_url)
    database = Database(settings.sqlalchemy_url)
    try:
        with database.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            skew = None
            if conn.dialect.name == "postgresql":
                server_now = conn.execute(text("SELECT now()")).scalar_one()
                skew = abs((server_now - datetime.now(UTC)).total_seconds())
        current = migrate.current_revision(database.engine)
    except Exception as exc:
        return [
            Check(
                "database",
                False,
                f"{shown}: {exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}",
                "start the database server or correct OPSCHUB_DATABASE_URL",
            )
        ], None
    finally:
        database.dispose()
    head = migrate.head_revision()
    return [
        Check("database", True, f"{shown} reachable"),
        Check(
            "migrations",
            current == head,
            f"at revision {current or 'none'}, newest {head}",
            "" if current == head else "opschub db upgrade",
        ),
    ], skew


def _redis_time(url: str) -> float:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        seconds, micros = client.time()
        return abs(seconds + micros / 1e6 - time.time())
    finally:
        client.close()


def _amqp_reachable(url: str) -> None:
    import pika

    parameters = pika.URLParameters(url)
    parameters.socket_timeout = 2
    parameters.connection_attempts = 1
    pika.BlockingConnection(parameters).close()


def _services(settings: Settings) -> tuple[list[Check], list[float]]:
    checks, skews = [], []
    targets: list[tuple[str, str, Callable[[str], Any]]] = []
    if settings.broker_url.startswith("redis"):
        targets.append(("broker", settings.broker_url, _redis_time))
    elif settings.broker_url:
        targets.append(("broker", settings.broker_url, _amqp_reachable))
    else:
        checks.append(Check("broker", True, "none: jobs run inside `opschub serve` (embedded)"))
    if settings.redis_url and settings.redis_url != settings.broker_url:
        targets.append(("shared limits (Redis)", settings.redis_url, _redis_time))
    for name, url, probe in targets:
        shown = redacted(url)
        try:
            skew = probe(url)
        except Exception as exc:
            checks.append(
                Check(
                    name,
                    False,
                    f"{shown}: {exc.__class__.__name__}",
                    f"start the server at {shown} or correct the URL",
                )
            )
            continue
        checks.append(Check(name, True, f"{shown} reachable"))
        if isinstance(skew, float):
            skews.append(skew)
    return checks, skews


def _clock(skews: list[float]) -> Check:
    now = datetime.now(UTC)
    if now.year < 2025:
        return Check(
            "clock", False, f"this machine says it is {now:%Y-%m-%d}", "set the clock (NTP)"
        )
    worst = max(skews, default=0.0)
    return Check(
        "clock",
        worst <= MAX_CLOCK_SKEW_SECONDS,
        f"{now:%Y-%m-%d %H:%M:%S} UTC; largest difference from the servers {worst:.1f} s",
        "synchronise the clocks of every machine (NTP): leases and heartbeats compare them",
    )


def run_checks(settings: Settings) -> list[Check]:
    checks = [*_data_dir(settings), *_key_files(settings)]
    database_checks, db_skew = _database(settings)
    service_checks, skews = _services(settings)
    checks += database_checks + service_checks
    checks.append(_clock([*skews, *([db_skew] if db_skew is not None else [])]))
    return checks
