"""The auditor's pages: the audit log with filters, and a check of its hash chain."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from opschub import labels
from opschub.accounts import service as accounts
from opschub.accounts.models import User
from opschub.audit import anchor as checkpoints
from opschub.audit import service
from opschub.audit.models import AuditEvent
from opschub.clock import as_utc
from opschub.text import N_
from opschub.web.auth import Principal, requires
from opschub.web.deps import get_db
from opschub.web.nav import NavItem
from opschub.web.templating import link, render

router = APIRouter(include_in_schema=False)

NAV = [NavItem("Audit log", "/audit", "audit.read", order=80)]

PAGE_SIZE = 50
FILTER_FIELDS = ("action", "actor", "target_type", "target_id", "outcome", "since", "until")


# The outcome filter as the page words it: "did not succeed" finds refused and failed events
# alike (a failed login is refused), the others one outcome each.
OUTCOME_CHOICES: dict[str, tuple[str, tuple[str, ...]]] = {
    "ok": (N_("succeeded"), ("ok",)),
    "not_ok": (N_("did not succeed (refused or failed)"), ("refused", "failed")),
    "refused": (N_("refused"), ("refused",)),
    "failed": (N_("failed"), ("failed",)),
}
# Events of one actor on one target within this many seconds are one row (a status change is
# recorded with the opening of the report around it).
GROUP_SECONDS = 2
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
    outcomes: tuple[str, ...] = ()
    if values["outcome"]:
        if values["outcome"] in OUTCOME_CHOICES:
            outcomes = OUTCOME_CHOICES[values["outcome"]][1]
        else:
            errors["outcome"] = _("Unknown outcome.")
    try:
        filters = service.EventFilter(
            action=values["action"] or None,
            actor=values["actor"] or None,
            target_type=values["target_type"] or None,
            target_id=values["target_id"] or None,
            outcomes=outcomes,
            since=bounds.get("since"),
            until=bounds.get("until"),
        )
    except service.FilterError:
        raise HTTPException(
            status_code=400,
            detail=_("A filter is too long or contains a character that is not allowed."),
        ) from None
    return ParsedFilters(filters, values, errors)


def _before(request: Request) -> int | None:
    raw = request.query_params.get("before", "")
    if not raw:
        return None
    if not re.fullmatch(r"[0-9]{1,19}", raw) or not 1 <= int(raw) <= service.MAX_SEQ:
        raise HTTPException(
            status_code=400, detail=request.state.gettext("The page position is not valid.")
        )
    return int(raw)


@dataclass
class Row:
    """One line of the log as a person reads it: an event and the related events around it."""

    event: AuditEvent
    actor: str
    actor_hint: str
    actor_link: str | None
    action: str
    target: str
    target_link: str | None
    details: list[tuple[str, str]]
    outcome: str
    related: list[Row] = field(default_factory=list)


class _Reader:
    """Turns events into rows: names for ids, labels for codes, links to the targets' pages (the
    page itself decides whether the reader may open it)."""

    def __init__(self, request: Request, people: dict[str, User]) -> None:
        self.gettext = request.state.gettext
        self.lang: str = request.state.lang
        self.request = request
        self.people = people

    def _label(self, kind: str, code: str) -> str:
        return labels.label(kind, code, self.gettext, self.lang)

    def _person(self, user_id: str | None) -> User | None:
        return self.people.get(user_id) if user_id else None

    def _user_link(self, user_id: str) -> str:
        return link(self.request, "/admin/users") + f"#user-{user_id}"

    def row(self, event: AuditEvent) -> Row:
        person = self._person(event.actor_id) if event.actor_kind == "user" else None
        if person is not None:
            actor = person.display_name or person.username
            actor_hint = person.username if person.display_name else ""
            actor_link = self._user_link(person.id)
        elif event.actor_kind == "public" or event.actor_label == event.actor_kind:
            actor, actor_hint, actor_link = self._label("actor_kind", event.actor_kind), "", None
        else:
            actor = self._label("actor_name", event.actor_label)
            actor_hint = self._label("actor_kind", event.actor_kind)
            actor_link = None
        target, target_link = self._target(event)
        return Row(
            event=event,
            actor=actor,
            actor_hint=actor_hint,
            actor_link=actor_link,
            action=labels.action_label(event.action, self.gettext),
            target=target,
            target_link=target_link,
            details=labels.details(event.details or {}, self.gettext, self.lang),
            outcome=self._label("outcome", event.outcome),
        )

    def _target(self, event: AuditEvent) -> tuple[str, str | None]:
        kind, ident = event.target_type, event.target_id
        if not kind:
            return "", None
        kind_label = self._label("target_type", kind)
        if not ident:
            return kind_label, None
        if kind == "user":
            person = self.people.get(ident)
            name = (person.display_name or person.username) if person else ident
            return f"{kind_label} {name}", self._user_link(ident)
        if kind == "report":
            short = ident[-8:]
            return f"{kind_label} …{short}", link(self.request, f"/queue/{ident}")
        if kind == "api_token":
            return f"{kind_label} …{ident[-8:]}", link(self.request, "/admin/tokens")
        if kind == "hashlist":
            href = link(self.request, f"/hashlists/{ident}")
            return f"{kind_label} {self._label('hash_list', ident)}", href
        if kind == "route":
            # "GET /queue/{report_id}": the parameter's name is code, not something to read.
            return f"{kind_label} {_ROUTE_PARAM.sub('…', ident)}", None
        return f"{kind_label} {ident}", None


_ROUTE_PARAM = re.compile(r"\{[^}]*\}")


def _same_moment(first: AuditEvent, other: AuditEvent) -> bool:
    gap = abs((as_utc(first.occurred_at) - as_utc(other.occurred_at)).total_seconds())
    return (
        gap <= GROUP_SECONDS
        and first.actor_kind == other.actor_kind
        and first.actor_id == other.actor_id
        and first.actor_label == other.actor_label
        and first.target_type is not None
        and (first.target_type, first.target_id) == (other.target_type, other.target_id)
    )


def group_rows(rows: list[Row]) -> list[Row]:
    """Consecutive rows of one actor on one target at the same moment become one row, headed by
    the change (an opening of a page is only context)."""
    groups: list[list[Row]] = []
    for row in rows:
        if groups and _same_moment(groups[-1][0].event, row.event):
            groups[-1].append(row)
        else:
            groups.append([row])
    out = []
    for group in groups:
        head = next((r for r in group if not r.event.action.endswith(".viewed")), group[0])
        head.related = [r for r in group if r is not head]
        out.append(head)
    return out


def _action_choices(request: Request, actions: Sequence[str]) -> list[tuple[str, str]]:
    gettext = request.state.gettext
    choices = {action: labels.action_label(action, gettext) for action in actions}
    return sorted(choices.items(), key=lambda item: item[1])


def _resolve_actor(people: dict[str, User], text: str) -> str:
    """The page shows people by name: a name (or user name) typed in the filter finds their id."""
    wanted = text.casefold()
    for user in people.values():
        if wanted in (user.username.casefold(), user.display_name.casefold()):
            return user.id
    return text


@router.get("/audit", response_class=HTMLResponse)
def audit_log(
    request: Request, principal: Annotated[Principal, requires("audit.read")]
) -> HTMLResponse:
    parsed = parse_filters(request)
    before = _before(request)
    with get_db(request).sessions() as session:
        people = {user.id: user for user in accounts.list_users(session)}
        filters = parsed.filters
        if filters.actor:
            filters = replace(filters, actor=_resolve_actor(people, filters.actor))
        events = service.list_events(session, filters, limit=PAGE_SIZE + 1, before_seq=before)
        matching = service.count_events(session, filters)
        actions = service.known_actions(session)
        reader = _Reader(request, people)
        more = len(events) > PAGE_SIZE
        events = events[:PAGE_SIZE]
        rows = group_rows([reader.row(event) for event in events])
    query = {k: v for k, v in parsed.values.items() if v}
    target_types = sorted(labels.TARGET_TYPE, key=lambda code: reader._label("target_type", code))
    return render(
        request,
        "audit/events.html",
        {
            "rows": rows,
            "events": events,
            "matching": matching,
            "values": parsed.values,
            "errors": parsed.errors,
            "actions": _action_choices(request, actions),
            "outcomes": [(code, text) for code, (text, _) in OUTCOME_CHOICES.items()],
            "target_types": target_types,
            "older": {**query, "before": events[-1].seq} if more and events else None,
            "newest": query if before is not None else None,
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
