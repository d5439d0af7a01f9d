"""FastAPI dependencies shared by every capability."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy.orm import Session

from opschub.db import Database


def get_db(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def db_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back on error."""
    with get_db(request).transaction() as session:
        yield session
