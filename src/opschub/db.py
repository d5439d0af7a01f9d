"""Database engine and sessions: SQLite by default, PostgreSQL by URL, one session factory.

Capabilities declare tables on :class:`Base`; their ``service.py`` alone writes them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import DateTime, Engine, MetaData, String, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from opschub.clock import as_utc, utcnow
from opschub.ids import new_id

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on both engines.

    Values are converted to UTC when bound: SQLite keeps no zone and would otherwise store the
    wall-clock time of any offset as if it were UTC (12:00+02:00 read back as 12:00 UTC).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use opschub.clock.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class IdMixin:
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


READONLY = "opschub_readonly"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # an acknowledged write survives a crash
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _create_private_file(url: str) -> None:
    """Create a SQLite database file 0600 before SQLite does (it would use 0644 minus the umask);
    SQLite gives its -wal and -shm files the database file's mode."""
    path = make_url(url).database
    if path and path != ":memory:" and not path.startswith("file:") and not os.path.exists(path):
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass  # another process won the race; it created the file the same way
        except FileNotFoundError:
            pass  # no such directory: SQLite names the problem when it connects


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        _create_private_file(url)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)

        # pysqlite's own transaction handling defers BEGIN; take the write lock at the start so
        # that read-then-write transactions (the audit chain) are serialised.
        @event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            # Read-only work (who is this request?) must not queue behind writers.
            readonly = conn.get_execution_options().get(READONLY, False)
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


class Database:
    """An engine and its session factory."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessions = sessionmaker(
            self.engine.execution_options(**{READONLY: True}), expire_on_commit=False
        )

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits together or not at all."""
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A transaction for reading; on SQLite it does not take the write lock up front."""
        with self.read_sessions() as session, session.begin():
            yield session

    def create_all(self) -> None:
        import_all_models()
        Base.metadata.create_all(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


MODEL_MODULES = (
    "opschub.accounts.models",
    "opschub.audit.models",
    "opschub.intake.models",
    "opschub.jobs.models",
    "opschub.evidence.models",
    "opschub.takedown.models",
    "opschub.takedown.notice_models",
    "opschub.takedown.lists_models",
    "opschub.orgunits.models",
    "opschub.cases.models",
    "opschub.cases.followup_models",
    "opschub.stats.models",
)


def import_all_models() -> MetaData:
    """Import every capability's tables so that the metadata is complete."""
    import importlib

    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base.metadata


_database: Database | None = None


def get_database() -> Database:
    """The process-wide database from settings (created on first use)."""
    global _database
    if _database is None:
        from opschub.config import get_settings

        settings = get_settings()
        settings.ensure_data_dir()
        _database = Database(settings.sqlalchemy_url)
    return _database


def set_database(database: Database | None) -> None:
    global _database
    _database = database
