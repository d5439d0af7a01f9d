"""JSON API of the audit log: events with the auditor's filters, and the chain check."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from opschub.audit import anchor as checkpoints
from opschub.audit import service
from opschub.web.auth import Principal, requires
from opschub.web.deps import get_db

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
LIMITS = service.FILTER_TEXT_LIMITS


class AuditEventOut(BaseModel):
    seq: int = Field(description="position in the chain, from 1")
    id: str
    occurred_at: datetime = Field(description="UTC")
    actor_kind: str = Field(description="user, token, system or public")
    actor_id: str | None
    actor_label: str
    action: str = Field(description="dotted name, e.g. user.login")
    target_type: str | None
    target_id: str | None
    outcome: Literal["ok", "refused", "failed"]
    details: dict[str, Any]
    prev_hash: str = Field(description="row_hash of the previous row (64 zeros for the first)")
    row_hash: str = Field(
        description="HMAC-SHA256 (keyed; plain SHA-256 for rows written before the chain was "
        "keyed) of this row's fields and prev_hash"
    )


class EventPage(BaseModel):
    events: list[AuditEventOut] = Field(description="newest first")
    matching: int = Field(description="events matching the filters, on all pages")
    next_before: int | None = Field(
        description="pass as `before` for the next (older) page; null on the last page"
    )


class ChainProblemOut(BaseModel):
    seq: int | None
    id: str | None
    kind: str = Field(
        description="edited, moved, broken_link, missing, unkeyed, anchor, checkpoint, empty or "
        "truncated"
    )
    message: str


class ChainHeadOut(BaseModel):
    seq: int
    id: str
    row_hash: str
    anchor: str = Field(description="SEQ:HASH; pass it later as `anchor` to detect a cut-off tail")


class CheckpointOut(BaseModel):
    seq: int
    name: str = Field(description="file name in OPSCHUB_AUDIT_ANCHOR_DIR")
    written_at: str


class VerifyReport(BaseModel):
    intact: bool
    checked: int
    head: ChainHeadOut | None
    problems: list[ChainProblemOut]
    keyed_from: int | None = Field(description="seq of the first keyed row")
    checkpoint: CheckpointOut | None = Field(description="the newest signed checkpoint checked")


def _invalid(field: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"detail": "invalid request", "errors": [{"field": f"/{field}", "message": message}]},
        status_code=400,
    )


@router.get("/events", response_model=EventPage, responses={400: {"description": "bad filter"}})
def list_events(
    request: Request,
    principal: Annotated[Principal, requires("audit.read")],
    action: Annotated[
        str | None,
        Query(description="exact, or a prefix ending in *", max_length=LIMITS["action"]),
    ] = None,
    actor: Annotated[
        str | None, Query(description="actor id or label", max_length=LIMITS["actor"])
    ] = None,
    target_type: Annotated[str | None, Query(max_length=LIMITS["target_type"])] = None,
    target_id: Annotated[str | None, Query(max_length=LIMITS["target_id"])] = None,
    outcome: Literal["ok", "refused", "failed"] | None = None,
    since: Annotated[
        str | None,
        Query(
            description="YYYY-MM-DD or ISO date-time (UTC if no zone), inclusive; 1900 to 9998",
            max_length=service.MAX_DATE_TEXT,
        ),
    ] = None,
    until: Annotated[
        str | None,
        Query(
            description="YYYY-MM-DD (whole day included) or date-time, exclusive; 1900 to 9998",
            max_length=service.MAX_DATE_TEXT,
        ),
    ] = None,
    before: Annotated[
        int | None,
        Query(ge=1, le=service.MAX_SEQ, description="only events with seq below"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> EventPage | JSONResponse:
    """Audit events, newest first, narrowed by the filters; page on with ``before``."""
    bounds, errors = service.parse_date_bounds(since, until)
    if errors:
        name, message = next(iter(errors.items()))
        return _invalid(name, message)
    try:
        filters = service.EventFilter(
            action=action,
            actor=actor,
            target_type=target_type,
            target_id=target_id,
            outcome=outcome,
            since=bounds["since"],
            until=bounds["until"],
        )
    except service.FilterError as exc:
        return _invalid(exc.field, str(exc))
    with get_db(request).sessions() as session:
        events = service.list_events(session, filters, limit=limit + 1, before_seq=before)
        matching = service.count_events(session, filters)
        rows = [service.event_as_dict(event) for event in events[:limit]]
    return EventPage(
        events=[AuditEventOut(**row) for row in rows],
        matching=matching,
        next_before=rows[-1]["seq"] if len(events) > limit else None,
    )


@router.get("/verify", response_model=VerifyReport, responses={400: {"description": "bad anchor"}})
def verify(
    request: Request,
    principal: Annotated[Principal, requires("audit.read")],
    anchor: Annotated[
        str | None,
        Query(
            description="SEQ:HASH from an earlier check, to detect a cut-off tail", max_length=100
        ),
    ] = None,
) -> VerifyReport | JSONResponse:
    """Check the whole hash chain; every problem names the row by seq and id."""
    expected = None
    if anchor is not None:
        try:
            expected = service.parse_anchor(anchor)
        except ValueError as exc:
            return _invalid("anchor", str(exc))
    with get_db(request).sessions() as session:
        result = checkpoints.verify(session, anchor=expected, release_between_batches=True)
    head, mark = result.head, result.checkpoint
    return VerifyReport(
        intact=result.intact,
        checked=result.checked,
        head=None
        if head is None
        else ChainHeadOut(seq=head.seq, id=head.id, row_hash=head.row_hash, anchor=head.anchor()),
        problems=[
            ChainProblemOut(seq=p.seq, id=p.id, kind=p.kind, message=p.message)
            for p in result.problems
        ],
        keyed_from=result.keyed_from,
        checkpoint=None
        if mark is None
        else CheckpointOut(seq=mark.seq, name=mark.name, written_at=mark.written_at),
    )
