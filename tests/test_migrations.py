"""The models and the migrations agree, on both engines, and the history is one straight line."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from opschub import migrate
from opschub.db import Base, Database, import_all_models


def _fresh(database: Database, tmp_path: Path) -> Database:
    """An empty database on the same engine as ``database``."""
    if database.engine.dialect.name == "sqlite":
        return Database(f"sqlite:///{tmp_path / 'migrated.sqlite3'}")
    # PostgreSQL: the fixture's database already has the schema from the models; use a schema
    # of our own by dropping everything first.
    with database.engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    return database


def test_migrations_build_the_models_schema(database: Database, tmp_path: Path) -> None:
    target = _fresh(database, tmp_path)
    try:
        migrate.upgrade(target.engine)
        assert migrate.current_revision(target.engine) == migrate.head_revision()
        with target.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, import_all_models())
        assert differences == [], f"models and migrations differ: {differences}"
        tables = set(inspect(target.engine).get_table_names())
        assert {t.name for t in Base.metadata.sorted_tables} <= tables
    finally:
        if target is not database:
            target.dispose()
        else:  # leave the fixture's database as it found it: the models' schema
            with database.engine.begin() as conn:
                Base.metadata.drop_all(conn)
                conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
            Base.metadata.create_all(database.engine)


def test_history_is_linear() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    heads = script.get_heads()
    assert len(heads) == 1, f"more than one head: {heads}"
    for revision in script.walk_revisions():
        down = revision.down_revision
        assert down is None or isinstance(down, str), f"{revision.revision} merges branches"


def test_upgrade_is_idempotent(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'twice.sqlite3'}")
    migrate.upgrade(database.engine)
    migrate.upgrade(database.engine)
    assert migrate.current_revision(database.engine) == migrate.head_revision()
    database.dispose()


def test_downgrade_to_nothing_and_back(tmp_path: Path) -> None:
    from alembic import command

    database = Database(f"sqlite:///{tmp_path / 'roundtrip.sqlite3'}")
    config = migrate.alembic_config(str(database.engine.url))
    migrate.upgrade(database.engine)
    command.downgrade(config, "base")
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(database.engine)
    assert migrate.current_revision(database.engine) == migrate.head_revision()
    database.dispose()
