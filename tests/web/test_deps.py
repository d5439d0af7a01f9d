"""A request's changes are committed before its response leaves the server."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from opschub.accounts.permissions import PUBLIC
from opschub.audit import service as audit
from opschub.audit.models import AuditEvent
from opschub.db import Database
from opschub.web.auth import requires
from opschub.web.csrf import anonymous_token
from opschub.web.deps import DbSession


def _count(database: Database) -> int:
    with database.read() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def test_changes_are_committed_before_the_response_starts(app: FastAPI, database: Database) -> None:
    router = APIRouter()

    @router.post("/probe", dependencies=[requires(PUBLIC)])
    def probe(session: DbSession) -> dict[str, str]:
        audit.record(session, action="test.probe")
        return {"status": "written"}

    app.include_router(router)
    seen_at_start: list[int] = []

    async def watching(scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def spy(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                # Another connection: sees only what is committed.
                seen_at_start.append(_count(database))
            await send(message)

        await app(scope, receive, spy)

    with TestClient(watching) as client:  # type: ignore[arg-type]
        response = client.post("/probe", headers={"x-csrf-token": anonymous_token()})
    assert response.status_code == 200
    assert seen_at_start == [1]
