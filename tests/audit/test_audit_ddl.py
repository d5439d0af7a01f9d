"""The append-only triggers: installed by create_all and by the migrations, idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest
from audit_helpers import fill
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from opschub import migrate
from opschub.audit.ddl import (
    append_only_sql,
    install_append_only,
    remove_append_only,
    remove_append_only_sql,
)
from opschub.db import Database


def test_install_is_idempotent_and_removable(database: Database) -> None:
    fill(database, 2)
    with database.engine.begin() as conn:
        install_append_only(conn)
        install_append_only(conn)
    with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events"))
    with database.engine.begin() as conn:
        remove_append_only(conn)
        conn.execute(text("UPDATE audit_events SET actor_label = 'x' WHERE seq = 1"))
        install_append_only(conn)  # leave the shared PostgreSQL database as it was
    with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor_label = 'y' WHERE seq = 1"))


def test_unknown_dialect_is_refused() -> None:
    with pytest.raises(ValueError, match="dialect 'oracle'"):
        append_only_sql("oracle")
    with pytest.raises(ValueError, match="dialect 'oracle'"):
        remove_append_only_sql("oracle")


def test_migrated_database_refuses_changes(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'migrated.sqlite3'}")
    try:
        migrate.upgrade(database.engine)
        fill(database, 1)
        with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as conn:
            conn.execute(text("UPDATE audit_events SET actor_label = 'x'"))
    finally:
        database.dispose()
