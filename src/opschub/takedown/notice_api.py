"""Notices in the API.

``POST /api/v1/notices/{id}/ack`` is how a recipient's system answers a notice: the body
``{"token": "...", "status": "acknowledged" | "removed" | "disputed"}`` carries the token of
the notice's acknowledgement link (no account needed: the token is the proof; only its hash is
stored, and nothing about the caller is kept). ``GET /api/v1/takedown/targets/{id}/notices``
(``reports.read``) lists a target's notices with their states and attempts.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from opschub.accounts.permissions import PUBLIC
from opschub.takedown import notifying
from opschub.web.auth import Principal, requires
from opschub.web.deps import DbSession

router = APIRouter(prefix="/api/v1", tags=["notices"])


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=8, max_length=200)
    status: Literal["acknowledged", "removed", "disputed"] = "acknowledged"


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


@router.post("/notices/{notice_id}/ack")
def acknowledge(
    notice_id: str,
    body: AckIn,
    principal: Annotated[Principal | None, requires(PUBLIC)],
    session: DbSession,
) -> dict[str, Any]:
    """Answer a notice: received, removed, or disputed (not illegal)."""
    try:
        notice = notifying.answer(session, notice_id, body.token, body.status)
    except notifying.NoticeError as exc:
        raise HTTPException(status_code=404, detail="unknown notice or token") from exc
    return {"id": notice.id, "state": notice.state}


@router.get("/takedown/targets/{target_id}/notices")
def target_notices(
    target_id: str,
    principal: Annotated[Principal, requires("reports.read")],
    session: DbSession,
) -> dict[str, Any]:
    """The notices of one target, each with its tries."""
    found = notifying.notices_of(session, target_id)
    attempts = notifying.attempts_of(session, [n.id for n in found])
    return {
        "target_id": target_id,
        "notices": [
            {
                "id": n.id,
                "recipient_kind": n.recipient_kind,
                "recipient": n.recipient_name,
                "channel": n.channel,
                "language": n.language,
                "purpose": n.reason,
                "state": n.state,
                "rounds": n.rounds,
                "sent_at": _iso(n.sent_at),
                "last_sent_at": _iso(n.last_sent_at),
                "acknowledged_at": _iso(n.acknowledged_at),
                "removed_at": _iso(n.removed_at),
                "last_error": n.last_error,
                "attempts": [
                    {
                        "number": a.number,
                        "state": a.state,
                        "started_at": _iso(a.started_at),
                        "finished_at": _iso(a.finished_at),
                        "detail": a.detail,
                    }
                    for a in attempts[n.id]
                ],
            }
            for n in found
        ],
    }
