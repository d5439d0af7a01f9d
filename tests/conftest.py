"""Shared fixtures: settings in a temporary data directory, and a database on each engine.

Every database test runs on SQLite and on PostgreSQL (a throw-away database on the server named
by OPSCHUB_TEST_POSTGRES_URL, default postgres@127.0.0.1:5432). Without a reachable server the
PostgreSQL half is skipped with the reason, or fails when OPSCHUB_REQUIRE_POSTGRES=1 (CI).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from opschub import config
from opschub.db import Base, Database, import_all_models, set_database

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("OPSCHUB_SHARED_DIR", REPO.parent / "shared"))
POSTGRES_ADMIN_URL = os.environ.get(
    "OPSCHUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TEST_SECRET = "test-secret-key-0123456789abcdef0123456789abcdef"


@pytest.fixture(autouse=True)
def fast_password_hashing() -> Iterator[None]:
    """argon2 with production parameters takes about a second here; tests use cheap ones."""
    from factories import FAST_HASHER
    from opschub.accounts import passwords

    previous = passwords.use_hasher(FAST_HASHER)
    yield
    passwords.use_hasher(previous)


@pytest.fixture(autouse=True)
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[config.Settings]:
    """Every test gets its own data directory and a known master key."""
    data_dir = tmp_path / "var"
    monkeypatch.setenv("OPSCHUB_DATA_DIR", str(data_dir))
    monkeypatch.setenv("OPSCHUB_SECRET_KEY", TEST_SECRET)
    monkeypatch.delenv("OPSCHUB_DATABASE_URL", raising=False)
    config.get_settings.cache_clear()
    settings = config.get_settings()
    settings.ensure_data_dir()
    yield settings
    config.get_settings.cache_clear()
    set_database(None)


def _require(kind: str) -> bool:
    return os.environ.get(f"OPSCHUB_REQUIRE_{kind}") == "1"


def create_schema(database: Database) -> None:
    import_all_models()
    Base.metadata.create_all(database.engine)


class _PostgresServer:
    """One throw-away database for the whole run, emptied between tests."""

    def __init__(self) -> None:
        self.database: Database | None = None
        self.name = f"opschub_test_{secrets.token_hex(4)}"
        self.error: str | None = None

    def get(self) -> Database:
        if self.database is not None:
            return self.database
        if self.error is not None:
            self._skip()
        admin = Database(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            with admin.engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        except Exception as exc:
            self.error = (
                f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc.__class__.__name__}"
            )
            self._skip()
        finally:
            admin.dispose()
        url = make_url(POSTGRES_ADMIN_URL).set(database=self.name)
        self.database = Database(url.render_as_string(hide_password=False))
        create_schema(self.database)
        return self.database

    def _skip(self) -> None:
        if _require("POSTGRES"):
            pytest.fail(f"{self.error} (OPSCHUB_REQUIRE_POSTGRES=1)")
        pytest.skip(str(self.error))

    def empty(self) -> None:
        assert self.database is not None
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        if tables:
            with self.database.engine.begin() as conn:
                # The audit log refuses changes by trigger; tests may empty it.
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))

    def drop(self) -> None:
        if self.database is None:
            return
        self.database.dispose()
        admin = Database(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[_PostgresServer]:
    server = _PostgresServer()
    yield server
    server.drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(
    request: pytest.FixtureRequest, tmp_path: Path, settings: config.Settings
) -> Iterator[Database]:
    """A database with the full schema, on each engine in turn."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'test.sqlite3'}")
        create_schema(database)
        set_database(database)
        yield database
        database.dispose()
    else:
        server: _PostgresServer = request.getfixturevalue("postgres_server")
        database = server.get()
        set_database(database)
        try:
            yield database
        finally:
            server.empty()


@pytest.fixture
def app(database: Database, settings: config.Settings):  # type: ignore[no-untyped-def]
    from opschub.web.app import create_app

    return create_app(settings, database)


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client
