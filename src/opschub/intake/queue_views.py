"""The analysts' queue: a working tool (search, filters, groups, claims, states, notes).

Everything works without script; ``static/js/queue.js`` adds keyboard shortcuts, selection and the
30-second refresh (``/queue/poll``). Messages after an action travel as a code in the query string
(``?done=claimed&count=3``) and are translated on the page: no cookie, no server-side flash store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from babel.dates import format_timedelta
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from opschub import labels, taxonomy
from opschub.accounts import service as accounts
from opschub.accounts.permissions import permissions_of
from opschub.clock import utcnow
from opschub.intake import service, states
from opschub.intake.models import CHANNELS, STATUSES, Report, report_reference
from opschub.text import N_
from opschub.web.auth import Principal, requires
from opschub.web.deps import get_db
from opschub.web.templating import link, render

router: APIRouter = APIRouter(include_in_schema=False)
PER_PAGE = 50
MAX_BULK = 200

DONE = {
    "claimed": N_("Claimed: %(count)s."),
    "assigned": N_("Assigned: %(count)s."),
    "released": N_("Released: %(count)s."),
    "status": N_("Status changed: %(count)s."),
    "note": N_("Note added."),
    "skipped": N_("Skipped, claimed by someone else or not allowed from their state: %(count)s."),
    "last": N_("There is no other report waiting."),
}
ERRORS = {
    "reason_required": N_("Closing or reopening a report needs a reason."),
    "not_allowed": N_("A report cannot move from its state to the one chosen."),
    "unknown_status": N_("Choose a status."),
    "too_long": N_("The text is too long."),
    "note_required": N_("Write the note first."),
    "nothing_selected": N_("Select at least one report."),
    "unknown_action": N_("Choose what to do with the selected reports."),
    "unknown_user": N_("Choose a person to assign to."),
}


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def what_of(report: Report) -> tuple[str, str]:
    """(kind, text): the reported URL's host and path, or an image fingerprint."""
    if report.urls:
        parts = urlsplit(report.urls[0].normalised)
        path = parts.path + ("?" + parts.query if parts.query else "")
        host = parts.hostname or ""
        return "url", host if path in ("", "/") else host + path
    if report.fingerprints:
        return "fingerprint", report.fingerprints[0].value[:12]
    return "none", ""


def waited(request: Request, since: datetime) -> str:
    locale = "zh_Hans" if request.state.lang.startswith("zh") else "en"
    return format_timedelta(utcnow() - since, format="short", threshold=1.1, locale=locale)


def _people(request: Request) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Everyone's name by id, and the people who may be assigned reports."""
    with get_db(request).read() as session:
        users = accounts.list_users(session)
    names = {u.id: u.display_name or u.username for u in users}
    assignable = [
        (u.id, u.display_name or u.username)
        for u in users
        if not u.disabled and "reports.assess" in permissions_of(u.role)
    ]
    return names, assignable


def _labels(request: Request) -> dict[str, Any]:
    _ = request.state.gettext
    lang = request.state.lang
    return {
        # The words for the codes are opschub.labels' (and the taxonomy's), as on every page.
        "status_labels": {k: _(v) for k, v in labels.REPORT_STATUS.items()},
        "channel_labels": {k: _(v) for k, v in labels.CHANNEL.items()},
        "reason_labels": {k: _(v) for k, v in labels.PRIORITY_REASON.items()},
        "level_labels": {k: _(v) for k, v in labels.PRIORITY_LEVEL.items()},
        "sort_labels": {k: _(v) for k, v in labels.QUEUE_SORT.items()},
        "media_labels": {k: _(v) for k, v in labels.MEDIA_KIND.items()},
        "setting_labels": {c.code: c.label(lang) for c in taxonomy.SETTING},
        "type_labels": {
            c.code: c.label(lang)
            for cl in (taxonomy.FORM_OF_EXPLOITATION, taxonomy.EXPLOITATION_CONTEXT)
            for c in cl
        },
        "age_labels": {k: _(v) for k, v in labels.STATED_AGE_BAND.items()},
        "level_of": states.level_of,
        "what_of": what_of,
        "waited": lambda since: waited(request, since),
        "ref": report_reference,
    }


def _flash(request: Request) -> tuple[list[str], str | None]:
    _ = request.state.gettext
    params = request.query_params
    messages = []
    count = params.get("count", "0")
    for code in params.getlist("done"):
        if code in DONE:
            messages.append(
                _(DONE[code])
                % {"count": count if code != "skipped" else params.get("skipped", "0")}
            )
    error = params.get("error")
    return messages, _(ERRORS[error]) if error in ERRORS else None


@dataclass(frozen=True)
class QueueParams:
    q: str = ""
    status: str = ""
    channel: str = ""
    level: str = ""
    matched: str = ""
    assigned: str = ""
    sort: str = "priority"

    def filter(self, principal: Principal) -> service.QueueFilter:
        return service.QueueFilter(
            status=self.status if self.status in STATUSES else None,
            include_closed=self.status == "all",
            channel=self.channel if self.channel in CHANNELS else None,
            level=self.level if self.level in states.LEVELS else None,
            matched_only=self.matched == "1",
            assigned_to=principal.id if self.assigned == "me" else None,
            unassigned=self.assigned == "none",
            search=self.q[:300],
            sort=self.sort if self.sort in service.SORTS else "priority",
        )

    def query(self) -> dict[str, str]:
        return {
            k: v for k, v in self.__dict__.items() if v and not (k == "sort" and v == "priority")
        }


@router.get("/queue", response_class=HTMLResponse)
def queue_page(
    request: Request,
    principal: Annotated[Principal, requires("reports.read")],
    q: str = "",
    status: str = "",
    channel: str = "",
    level: str = "",
    matched: str = "",
    assigned: str = "",
    sort: str = "priority",
    page: int = 1,
) -> HTMLResponse:
    params = QueueParams(q.strip(), status, channel, level, matched, assigned, sort)
    filters = params.filter(principal)
    page = max(1, min(page, 10_000))
    with get_db(request).read() as session:
        reports, total = service.queue(
            session, filters, limit=PER_PAGE, offset=(page - 1) * PER_PAGE
        )
        groups = service.group_members(session, reports, filters)
        rows: list[tuple[Report, list[Report]]] = []
        seen: set[str] = set()
        for report in reports:
            key = service.group_key(report)
            if key in seen:
                continue
            seen.add(key)
            members = groups.get(key, [report])
            rows.append((report, [m for m in members if m.id != report.id]))
    names, assignable = _people(request)
    done, error = _flash(request)
    return render(
        request,
        "intake/queue.html",
        {
            "rows": rows,
            "total": min(total, service.COUNT_CAP),
            "more": total > service.COUNT_CAP,
            "params": params,
            "page": page,
            "pages": max(1, -(-total // PER_PAGE)),
            "statuses": STATUSES,
            "channels": CHANNELS,
            "levels": states.LEVELS,
            "sorts": service.SORTS,
            "names": names,
            "assignable": assignable,
            "can_assess": principal.can("reports.assess"),
            "loaded_at": utcnow().isoformat(),
            "done": done,
            "error": error,
            "back": link(request, "/queue", **params.query(), page=str(page) if page > 1 else None),
            "page_link": lambda number: link(request, "/queue", **params.query(), page=str(number)),
            **_labels(request),
        },
    )


@router.get("/queue/poll", response_class=JSONResponse)
def queue_poll(
    request: Request,
    principal: Annotated[Principal, requires("reports.read")],
    since: str = "",
) -> JSONResponse:
    """For the page's 30-second refresh: open count and new urgent or high reports."""
    try:
        after = datetime.fromisoformat(since) if since else None
    except ValueError:
        raise HTTPException(status_code=400, detail="since: an ISO 8601 time") from None
    with get_db(request).read() as session:
        total, fresh = service.poll(session, after)
    _ = request.state.gettext
    return JSONResponse(
        {
            "open": total,
            "now": utcnow().isoformat(),
            "new": [
                {
                    "reference": item.reference,
                    "level": item.level,
                    "level_label": _(labels.PRIORITY_LEVEL[item.level]),
                    "url": link(request, f"/queue/{item.id}"),
                }
                for item in fresh
            ],
        },
        headers={"Cache-Control": "no-store"},
    )


def _back(form: FormData) -> str:
    """Where to return after a form: a queue address given by the page, never another site."""
    value = _text(form, "back")
    return (
        value
        if value.startswith("/queue") and "//" not in value and "\\" not in value
        else "/queue"
    )


def _with(path: str, **params: str | int | None) -> str:
    from urllib.parse import urlencode

    query = urlencode({k: v for k, v in params.items() if v is not None})
    joiner = "&" if "?" in path else "?"
    return path + (joiner + query if query else "")


@router.post("/queue/bulk")
async def queue_bulk(
    request: Request, principal: Annotated[Principal, requires("reports.assess")]
) -> Response:
    form = await request.form()
    back = _back(form)
    ids = [v for v in form.getlist("ids") if isinstance(v, str)][:MAX_BULK]
    action = _text(form, "action")
    if not ids:
        return RedirectResponse(_with(back, error="nothing_selected"), status_code=303)
    _names, assignable = _people(request)

    def run() -> tuple[str, int, list[str]]:
        with get_db(request).transaction() as session:
            if action == "claim":
                changed, skipped = service.assign(session, ids, principal.id, principal, claim=True)
                return "claimed", changed, skipped
            if action == "release":
                changed, skipped = service.assign(session, ids, None, principal)
                return "released", changed, skipped
            if action == "assign":
                assignee = _text(form, "assignee")
                if assignee not in {uid for uid, _n in assignable}:
                    raise service.QueueActionError("unknown_user", "unknown assignee")
                changed, skipped = service.assign(session, ids, assignee, principal)
                return "assigned", changed, skipped
            if action == "status":
                changed, skipped = service.change_status_many(
                    session, ids, _text(form, "status"), principal, reason=_text(form, "reason")
                )
                return "status", changed, skipped
            raise service.QueueActionError("unknown_action", "unknown action")

    try:
        done, count, skipped = await run_in_threadpool(run)
    except service.QueueActionError as exc:
        return RedirectResponse(_with(back, error=exc.code), status_code=303)
    except service.UnknownReport:
        raise HTTPException(status_code=404, detail="no such report") from None
    target = _with(back, done=done, count=count)
    if skipped:
        target = _with(target, done="skipped", skipped=len(skipped))
    return RedirectResponse(target, status_code=303)


@router.get("/queue/{report_id}", response_class=HTMLResponse)
def queue_detail(
    request: Request, report_id: str, principal: Annotated[Principal, requires("reports.read")]
) -> HTMLResponse:
    with get_db(request).transaction() as session:
        try:
            report = service.get_report(session, report_id)
        except service.UnknownReport:
            raise HTTPException(status_code=404, detail="no such report") from None
        linked = service.linked_reports(session, report_id)
        service.record_view(session, report_id, principal)
        # Decrypt while the session is open.
        details = {
            "where_seen": report.where_seen,
            "description": report.description,
            "contact": report.contact,
        }
        notes = [(n.author_name, n.created_at, n.body) for n in service.notes(session, report_id)]
        history = [
            (h.actor_name, h.created_at, h.from_status, h.to_status, h.reason)
            for h in service.status_history(session, report_id)
        ]
    names, assignable = _people(request)
    done, error = _flash(request)
    moves = sorted(states.TRANSITIONS[report.status], key=STATUSES.index)
    return render(
        request,
        "intake/detail.html",
        {
            "report": report,
            "details": details,
            "linked": linked,
            "notes": notes,
            "history": history,
            "moves": moves,
            "names": names,
            "assignable": assignable,
            "can_assess": principal.can("reports.assess"),
            "me": principal.id,
            "done": done,
            "error": error,
            **_labels(request),
        },
    )


def _detail(request: Request, report_id: str, **params: str | int | None) -> str:
    return link(
        request, f"/queue/{report_id}", **{k: str(v) for k, v in params.items() if v is not None}
    )


@router.post("/queue/{report_id}/status")
async def queue_change_status(
    request: Request, report_id: str, principal: Annotated[Principal, requires("reports.assess")]
) -> Response:
    form = await request.form()
    status = _text(form, "status")

    def change() -> str | None:
        with get_db(request).transaction() as session:
            service.change_status(
                session, report_id, status, principal, reason=_text(form, "reason")
            )
            if _text(form, "next") == "1":
                return service.next_report(session, report_id, principal.id)
            return None

    try:
        following = await run_in_threadpool(change)
    except service.UnknownReport:
        raise HTTPException(status_code=404, detail="no such report") from None
    except service.QueueActionError as exc:
        return RedirectResponse(_detail(request, report_id, error=exc.code), status_code=303)
    if _text(form, "next") == "1":
        if following is None:
            return RedirectResponse(link(request, "/queue", done="last"), status_code=303)
        return RedirectResponse(
            _detail(request, following, done="status", count=1), status_code=303
        )
    return RedirectResponse(_detail(request, report_id, done="status", count=1), status_code=303)


@router.post("/queue/{report_id}/assign")
async def queue_assign(
    request: Request, report_id: str, principal: Annotated[Principal, requires("reports.assess")]
) -> Response:
    """Claim (``action=claim``), release, or assign to someone (``assignee``)."""
    form = await request.form()
    action = _text(form, "action")
    _names, assignable = _people(request)

    def run() -> tuple[str, int]:
        with get_db(request).transaction() as session:
            if action == "claim":
                changed, _s = service.assign(session, [report_id], principal.id, principal)
                return "claimed", changed
            if action == "release":
                changed, _s = service.assign(session, [report_id], None, principal)
                return "released", changed
            assignee = _text(form, "assignee")
            if assignee not in {uid for uid, _n in assignable}:
                raise service.QueueActionError("unknown_user", "unknown assignee")
            changed, _s = service.assign(session, [report_id], assignee, principal)
            return "assigned", changed

    try:
        done, count = await run_in_threadpool(run)
    except service.UnknownReport:
        raise HTTPException(status_code=404, detail="no such report") from None
    except service.QueueActionError as exc:
        return RedirectResponse(_detail(request, report_id, error=exc.code), status_code=303)
    return RedirectResponse(_detail(request, report_id, done=done, count=count), status_code=303)


@router.post("/queue/{report_id}/notes")
async def queue_add_note(
    request: Request, report_id: str, principal: Annotated[Principal, requires("reports.assess")]
) -> Response:
    form = await request.form()

    def run() -> None:
        with get_db(request).transaction() as session:
            service.add_note(session, report_id, _text(form, "body"), principal)

    try:
        await run_in_threadpool(run)
    except service.UnknownReport:
        raise HTTPException(status_code=404, detail="no such report") from None
    except service.QueueActionError as exc:
        return RedirectResponse(_detail(request, report_id, error=exc.code), status_code=303)
    return RedirectResponse(_detail(request, report_id, done="note") + "#notes", status_code=303)
