"""Database triggers that keep the audit log append-only.

The service exposes no update or delete; these triggers make the database refuse them too, so that
a mistaken query or a stray ORM delete cannot change history. Someone with owner rights can still
drop a trigger: that is what the hash chain (``opschub audit verify``) is for.

Migrations call :func:`install_append_only` after creating the table (and
:func:`remove_append_only` on downgrade); ``create_all`` calls it through a table event. Both are
idempotent. The SQL avoids ``%`` so that no driver reads it as a placeholder.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

TABLE = "audit_events"
PG_FUNCTION = "opschub_audit_append_only"
PG_TRIGGER = "audit_events_append_only"
SQLITE_TRIGGERS = ("audit_events_no_update", "audit_events_no_delete")

REFUSAL = "audit_events is append-only"


def append_only_sql(dialect: str) -> list[str]:
    """Statements that install the triggers on ``dialect`` (``postgresql`` or ``sqlite``)."""
    if dialect == "postgresql":
        return [
            f"""
            CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION USING
                    MESSAGE = '{REFUSAL}: ' || TG_OP || ' refused',
                    ERRCODE = 'insufficient_privilege';
            END
            $$
            """,
            f"DROP TRIGGER IF EXISTS {PG_TRIGGER} ON {TABLE}",
            f"""
            CREATE TRIGGER {PG_TRIGGER}
            BEFORE UPDATE OR DELETE OR TRUNCATE ON {TABLE}
            FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()
            """,
        ]
    if dialect == "sqlite":
        no_update, no_delete = SQLITE_TRIGGERS
        return [
            f"""
            CREATE TRIGGER IF NOT EXISTS {no_update} BEFORE UPDATE ON {TABLE}
            BEGIN SELECT RAISE(ABORT, '{REFUSAL}: UPDATE refused'); END
            """,
            f"""
            CREATE TRIGGER IF NOT EXISTS {no_delete} BEFORE DELETE ON {TABLE}
            BEGIN SELECT RAISE(ABORT, '{REFUSAL}: DELETE refused'); END
            """,
        ]
    raise ValueError(f"no append-only triggers for database dialect {dialect!r}")


def remove_append_only_sql(dialect: str) -> list[str]:
    """Statements that drop the triggers again (migration downgrade)."""
    if dialect == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {PG_TRIGGER} ON {TABLE}",
            f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()",
        ]
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGERS]
    raise ValueError(f"no append-only triggers for database dialect {dialect!r}")


def install_append_only(connection: Connection) -> None:
    for statement in append_only_sql(connection.dialect.name):
        connection.exec_driver_sql(statement)


def remove_append_only(connection: Connection) -> None:
    for statement in remove_append_only_sql(connection.dialect.name):
        connection.exec_driver_sql(statement)
