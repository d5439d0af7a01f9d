"""What someone who can write the database could do, for the tests that prove it is detected."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text

from opschub.audit.ddl import install_append_only, remove_append_only
from opschub.db import Database


@contextmanager
def tampering(database: Database) -> Iterator[Connection]:
    """A raw connection with the audit log's append-only triggers out of the way, as someone
    who can write the database (its owner, or anyone with the file) would have it."""
    with database.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            yield conn
        else:
            remove_append_only(conn)
            yield conn
            install_append_only(conn)
