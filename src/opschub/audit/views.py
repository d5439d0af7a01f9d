"""The auditor's pages: the audit log with filters, and a check of its hash chain."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from opschub.audit import anchor as checkpoints
from opschub.audit import service
from opschub.audit.models import OUTCOMES
from opschub.text import N_
from opschub.web.auth import Principal, requires
from opschub.web.deps import get_db
from opschub.web.nav import NavItem
from opschub.web.templating import render

router = APIRouter(include_in_schema=False)

NAV = [NavItem("Audit log", "/audit", "audit.read", order=80)]

PAGE_SIZE = 50
FILTER_FIELDS = ("action", "actor", "target_type", "target_id", "outcome", "since", "until")


OUTCOME_LABELS = {"ok": N_("ok"), "refused": N_("refused"), "failed": N_("failed")}
ACTOR_KIND_LABELS = {
    "user": N_("person"),
    "token": N_("API token"),
    "system": N_("system"),
    "public": N_("public"),
}
PROBLEM_LABELS = {
    "edited": N_("The row's contents do not match its hash: it was edited."),
    "moved": N_("The row was written at another position: rows were re-ordered."),
    "broken_link": N_(
        "The link to the previous row does not match: that row was edited and re-hashed, "
        "replaced, or rows were re-ordered."
    ),
    "missing": N_("Rows before this one are missing: they were deleted."),
    "anchor": N_("The row at the anchor is missing or different: the end of the log was cut off."),
    "truncated": N_("More problems than can be listed; the check stopped."),
    "unkeyed": N_(
        "The row's hash is not keyed although the keyed chain had already started: the row was "
        "rewritten without the key."
    ),
    "checkpoint": N_(
        "A signed checkpoint kept outside the database does not match: rows were deleted or "
        "rewritten, or the checkpoint was altered."
    ),
    "empty": N_("The audit log is empty: it was emptied."),
}


@dataclass(frozen=True)
class ParsedFilters:
    filters: service.EventFilter
    values: dict[str, str]  # as typed, to refill the form
    errors: dict[str, str]  # field -> translated message


def parse_filters(request: Request) -> ParsedFilters:
    """The filter form's fields; a bad one is named, the others still apply."""
    _ = request.state.gettext
    values = {name: request.query_params.get(name, "").strip() for name in FILTER_FIELDS}
    bounds, bad_dates = service.parse_date_bounds(values["since"], values["until"])
    errors = {
        name: _("Enter a date as YYYY-MM-DD (or an ISO date and time).") for name in bad_dates
    }
    outcome = values["outcome"] or None
    if outcome is not None and outcome not in OUTCOMES:
        errors["outcome"] = _("Unknown outcome.")
        outcome = None
    try:
        filters = service.EventFilter(
            action=values["action"] or None,
            actor=values["actor"] or None,
            target_type=values["target_type"] or None,
            target_id=values["target_id"] or None,
            outcome=outcome,
            since=bounds.get("since"),
            until=bounds.get("until"),
        )
    except service.FilterError:
        raise HTTPException(
            status_code=400,
            detail=_("A filter is too long or contains a character that is not allowed."),
        ) from None
    return ParsedFilters(filters, values, errors)


def _details_json(details: dict[str, Any]) -> str:
    return json.dumps(details, ensure_ascii=False, indent=2, sort_keys=True)


def _before(request: Request) -> int | None:
    raw = request.query_params.get("before", "")
    if not raw:
        return None
    if not re.fullmatch(r"[0-9]{1,19}", raw) or not 1 <= int(raw) <= service.MAX_SEQ:
        raise HTTPException(
            status_code=400, detail=request.state.gettext("The page position is not valid.")
        )
    return int(raw)


@router.get("/audit", response_class=HTMLResponse)
def audit_log(
    request: Request, principal: Annotated[Principal, requires("audit.read")]
) -> HTMLResponse:
    parsed = parse_filters(request)
    before = _before(request)
    with get_db(request).sessions() as session:
        events = service.list_events(
            session, parsed.filters, limit=PAGE_SIZE + 1, before_seq=before
        )
        matching = service.count_events(session, parsed.filters)
        actions = service.known_actions(session)
    more = len(events) > PAGE_SIZE
    events = events[:PAGE_SIZE]
    query = {k: v for k, v in parsed.values.items() if v}
    return render(
        request,
        "audit/events.html",
        {
            "events": events,
            "matching": matching,
            "values": parsed.values,
            "errors": parsed.errors,
            "actions": actions,
            "outcomes": [(code, OUTCOME_LABELS[code]) for code in OUTCOMES],
            "outcome_labels": OUTCOME_LABELS,
            "actor_kind_labels": ACTOR_KIND_LABELS,
            "older": {**query, "before": events[-1].seq} if more and events else None,
            "newest": query if before is not None else None,
            "details_json": _details_json,
        },
        status_code=400 if parsed.errors else 200,
    )


@router.get("/audit/verify", response_class=HTMLResponse)
def audit_verify(
    request: Request, principal: Annotated[Principal, requires("audit.read")]
) -> HTMLResponse:
    _ = request.state.gettext
    anchor_text = request.query_params.get("anchor", "").strip()
    anchor = None
    error = None
    if anchor_text:
        try:
            anchor = service.parse_anchor(anchor_text)
        except ValueError:
            error = _("An anchor is written SEQ:HASH, as shown after an earlier check.")
    with get_db(request).sessions() as session:
        result = checkpoints.verify(session, anchor=anchor, release_between_batches=True)
    return render(
        request,
        "audit/verify.html",
        {
            "result": result,
            "anchor": anchor_text,
            "error": error,
            "problem_labels": PROBLEM_LABELS,
        },
        status_code=400 if error else 200,
    )
