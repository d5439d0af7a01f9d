"""Notice pages: every notice with filters, a target's notices with their tries and re-checks,
the recipient's acknowledgement page, and the partner directory.

``reports.read`` sees notices, ``notices.send`` sends one again, ``partners.manage`` keeps the
partner directory. The acknowledgement page is public: the token in its address is the proof,
and nothing about the visitor is stored.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opschub.accounts.permissions import PUBLIC
from opschub.takedown import notifying, partners
from opschub.takedown.notice_models import CHANNELS, LANGUAGES, NOTICE_STATES, RECIPIENT_KINDS
from opschub.text import N_
from opschub.web.auth import Principal, requires
from opschub.web.deps import DbSession
from opschub.web.nav import NavItem
from opschub.web.templating import link, render

router = APIRouter(include_in_schema=False)
NAV = [
    NavItem(N_("Notices"), "/takedown/notices", "reports.read", order=36),
    NavItem(N_("Partner hotlines"), "/admin/partners", "partners.manage", order=94),
]
PARTNER_FIELD_ERRORS = {
    "name": N_("Give the hotline's name."),
    "country": N_("Give the two-letter country code, for example NL."),
    "language": N_("Choose English or Chinese."),
    "channel": N_("Choose email or webhook."),
    "address": N_("Give an email address, or for a webhook an https:// address."),
    "secret": N_("A webhook needs a shared secret of at least 16 characters; email has none."),
}


@router.get("/takedown/notices", response_class=HTMLResponse)
def notice_list(
    request: Request,
    principal: Annotated[Principal, requires("reports.read")],
    session: DbSession,
    state: str = "",
    kind: str = "",
) -> HTMLResponse:
    states = [state] if state in NOTICE_STATES else []
    kinds = [kind] if kind in RECIPIENT_KINDS else []
    found = notifying.list_notices(session, states=states, kinds=kinds)
    return render(
        request,
        "takedown/notice_list.html",
        {
            "notices": found,
            "states": NOTICE_STATES,
            "kinds": RECIPIENT_KINDS,
            "state": state if states else "",
            "kind": kind if kinds else "",
        },
    )


def _target_page(
    request: Request,
    session: DbSession,
    principal: Principal,
    target_id: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    from opschub.takedown import service as takedown

    try:
        target = takedown.get_target(session, target_id)
    except takedown.NotFound:
        raise HTTPException(status_code=404, detail="no such target") from None
    found = notifying.notices_of(session, target_id)
    return render(
        request,
        "takedown/notice_target.html",
        {
            "target": target,
            "notices": found,
            "attempts": notifying.attempts_of(session, [n.id for n in found]),
            "rechecks": notifying.rechecks_of(session, target_id),
            "can_send": principal.can("notices.send"),
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/takedown/targets/{target_id}/notices", response_class=HTMLResponse)
def target_notices(
    request: Request,
    target_id: str,
    principal: Annotated[Principal, requires("reports.read")],
    session: DbSession,
) -> HTMLResponse:
    return _target_page(request, session, principal, target_id)


@router.post("/takedown/notices/{notice_id}/send", response_class=HTMLResponse)
def notice_send(
    request: Request,
    notice_id: str,
    principal: Annotated[Principal, requires("notices.send")],
    session: DbSession,
) -> Response:
    _ = request.state.gettext
    try:
        notice = notifying.get_notice(session, notice_id)
    except notifying.NoticeNotFound:
        raise HTTPException(status_code=404, detail="no such notice") from None
    try:
        notifying.send_again(session, principal, notice_id)
    except notifying.NoticeError:
        return _target_page(
            request,
            session,
            principal,
            notice.target_id,
            error=_("A removed or disputed notice is not sent again."),
            status_code=400,
        )
    return RedirectResponse(
        link(request, f"/takedown/targets/{notice.target_id}/notices"), status_code=303
    )


# -- the recipient's page -------------------------------------------------------------------------


def _ack_page(
    request: Request,
    session: DbSession,
    notice_id: str,
    token: str,
    *,
    done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    try:
        notice = notifying.get_notice(session, notice_id)
    except notifying.NoticeNotFound:
        notice = None
    if notice is None or not notifying.token_matches(notice, token):
        return render(
            request, "takedown/notice_ack.html", {"notice": None, "done": None}, status_code=404
        )
    return render(
        request,
        "takedown/notice_ack.html",
        {"notice": notice, "token": token, "done": done},
        status_code=status_code,
    )


@router.get("/notices/ack/{notice_id}/{token}", response_class=HTMLResponse)
def ack_form(
    request: Request,
    notice_id: str,
    token: str,
    principal: Annotated[Principal | None, requires(PUBLIC)],
    session: DbSession,
) -> HTMLResponse:
    return _ack_page(request, session, notice_id, token)


@router.post("/notices/ack/{notice_id}/{token}", response_class=HTMLResponse)
async def ack_submit(
    request: Request,
    notice_id: str,
    token: str,
    principal: Annotated[Principal | None, requires(PUBLIC)],
    session: DbSession,
) -> HTMLResponse:
    form = await request.form()
    what = form.get("status")
    what = what if isinstance(what, str) else "acknowledged"
    try:
        notifying.answer(session, notice_id, token, what)
    except notifying.NoticeError:
        return _ack_page(request, session, notice_id, "", status_code=404)
    return _ack_page(request, session, notice_id, token, done=what)


# -- the partner directory ------------------------------------------------------------------------


def _partners_page(
    request: Request,
    session: DbSession,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "takedown/notice_partners.html",
        {
            "partners": partners.partners(session),
            "errors": errors or {},
            "field_errors": PARTNER_FIELD_ERRORS,
            "values": values or {},
            "channels": CHANNELS,
            "partner_languages": LANGUAGES,
        },
        status_code=status_code,
    )


@router.get("/admin/partners", response_class=HTMLResponse)
def partners_page(
    request: Request,
    principal: Annotated[Principal, requires("partners.manage")],
    session: DbSession,
) -> HTMLResponse:
    return _partners_page(request, session)


@router.post("/admin/partners", response_class=HTMLResponse)
async def partners_add(
    request: Request,
    principal: Annotated[Principal, requires("partners.manage")],
    session: DbSession,
) -> Response:
    form = await request.form()
    values = {
        k: str(form.get(k) or "").strip()
        for k in ("name", "country", "language", "channel", "address", "secret")
    }
    partner = partners.PartnerIn(
        name=values["name"],
        country=values["country"].upper(),
        channel=values["channel"],
        address=values["address"],
        language=values["language"] or "en",
        secret=values["secret"] or None,
    )
    problems = partners.check(partner)
    if problems:
        values.pop("secret")
        return _partners_page(request, session, errors=problems, values=values, status_code=400)
    partners.add(session, principal, partner)
    return RedirectResponse(link(request, "/admin/partners"), status_code=303)


@router.post("/admin/partners/{partner_id}/{action}", response_class=HTMLResponse)
def partners_toggle(
    request: Request,
    partner_id: str,
    action: str,
    principal: Annotated[Principal, requires("partners.manage")],
    session: DbSession,
) -> Response:
    if action not in ("enable", "disable"):
        raise HTTPException(status_code=404, detail="unknown action")
    try:
        partners.set_active(session, principal, partner_id, action == "enable")
    except partners.PartnerError:
        raise HTTPException(status_code=404, detail="no such partner") from None
    return RedirectResponse(link(request, "/admin/partners"), status_code=303)
