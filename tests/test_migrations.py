"""The models and the migrations agree, on both engines, and the history is one straight line."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

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


# SQLite's reflection leaves out expression indexes, so the comparison cannot see
# ix_case_people_alias_lower there; the last test of this module checks it on SQLite directly.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
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


# revision a1e6c4d2f801: the indexes a large installation needs (opschub.cases)
CASE_INDEXES = {
    "ix_case_people_victim_person_id": "case_people",
    "ix_case_referrals_person_id": "case_referrals",
    "ix_case_proceedings_suspect_id": "case_proceedings",
    "ix_case_offences_victim_id": "case_offences",
    "ix_case_offences_suspect_id": "case_offences",
    "ix_cases_creator": "cases",
    "ix_case_people_alias_lower": "case_people",
}


def _indexes(engine: Engine) -> dict[str, str]:
    """Index name -> its definition as the database keeps it (SQLite's reflection leaves out
    expression indexes, so both engines are asked directly)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            query = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        else:
            query = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
        return {str(name): str(sql) for name, sql in conn.exec_driver_sql(query)}


def _downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    config = migrate.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_the_case_indexes_come_with_their_migration_and_go_with_its_downgrade(
    database: Database, tmp_path: Path
) -> None:
    target = _fresh(database, tmp_path)
    engine = target.engine
    try:
        migrate.upgrade(engine, "8d4a1f3b6e01")
        assert not set(CASE_INDEXES) & set(_indexes(engine))
        assert "ix_case_people_alias" in _indexes(engine)
        migrate.upgrade(engine)
        found = _indexes(engine)
        assert "ix_case_people_alias" not in found  # no query used it any more
        for name, table in CASE_INDEXES.items():
            assert name in found and f"ON {table}" in found[name].replace("public.", "")
        assert "lower(" in found["ix_case_people_alias_lower"]
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                plan = conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN SELECT id FROM case_people WHERE lower(alias) = lower(?)",
                    ("Sunny Riverside Child",),
                ).all()
            assert "ix_case_people_alias_lower" in " ".join(str(row[-1]) for row in plan)
        _downgrade(engine, "8d4a1f3b6e01")
        assert migrate.current_revision(engine) == "8d4a1f3b6e01"
        left = _indexes(engine)
        assert not set(CASE_INDEXES) & set(left)
        assert "ix_case_people_alias" in left  # what was there before is back
        migrate.upgrade(engine)
        assert set(CASE_INDEXES) <= set(_indexes(engine))
        assert migrate.current_revision(engine) == migrate.head_revision()
    finally:
        if target is not database:
            target.dispose()
        else:
            with database.engine.begin() as conn:
                Base.metadata.drop_all(conn)
                conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
            Base.metadata.create_all(database.engine)
