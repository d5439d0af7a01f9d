"""FastAPI dependencies shared by every capability."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from opschub.db import Database


def get_db(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def db_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back on error."""
    with get_db(request).transaction() as session:
        yield session


# scope="function": the transaction commits when the handler returns, BEFORE the response is
# sent. FastAPI's default runs a yield dependency's exit after sending, which would acknowledge
# a change (a login, a report) that is not yet committed, or that then fails to commit.
DbSession = Annotated[Session, Depends(db_session, scope="function")]
