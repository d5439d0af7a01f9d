"""Evidence management in the web: legal holds, the second person's approval, destruction one by
one or of everything whose retention has run out, and the retention rules.

Destruction is irreversible (crypto-shredding), so it follows the staff patterns for destructive
actions (docs/ui-patterns.md): a confirmation page of its own that says what will happen, and the
password entered again recently ("sudo mode"). A batch destroys every chosen item or none: the
first item that cannot be destroyed (on hold, not approved, approved by the person acting) is
named and nothing changes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opschub.evidence import i18n, service
from opschub.evidence.models import CATEGORIES, LINKED_STATES, EvidenceItem
from opschub.evidence.vault import vault_from_settings
from opschub.web.auth import Principal, reauth_redirect, requires
from opschub.web.confirm import Confirmation, confirm_page
from opschub.web.deps import DbSession
from opschub.web.templating import link, render

router = APIRouter(include_in_schema=False)
FormText = Annotated[str, Form()]
NO_STORE = {"Cache-Control": "no-store"}
MAX_BATCH = 500


def _item_url(request: Request, item_id: str, **params: str) -> str:
    return link(request, f"/evidence/{item_id}", **params)


def _blocker(
    session: DbSession, item: EvidenceItem, principal: Principal, four_eyes: bool
) -> str | None:
    """Why ``principal`` cannot destroy ``item`` now (a code of ``i18n.MANAGE_ERRORS``), or None."""
    if item.state == "destroyed":
        return "destroyed"
    if item.on_hold:
        return "on_hold"
    if not four_eyes:
        return None
    approval = service.approval_for(session, item.id, "destroy")
    if approval is None:
        return "needs_approval"
    return "own_approval" if approval.actor_id == principal.id else None


@router.post("/evidence/{item_id}/hold")
def hold(
    request: Request,
    item_id: str,
    principal: Annotated[Principal, requires("evidence.manage")],
    session: DbSession,
    reason: FormText = "",
) -> Response:
    if not reason.strip():
        return RedirectResponse(_item_url(request, item_id, error="reason"), status_code=303)
    try:
        service.hold(session, item_id, actor=principal, reason=reason)
    except service.NotFound:
        return RedirectResponse(_item_url(request, item_id), status_code=303)
    except service.EvidenceError:
        item = service.get_item(session, item_id)
        code = "destroyed" if item.state == "destroyed" else "already_held"
        return RedirectResponse(_item_url(request, item_id, error=code), status_code=303)
    return RedirectResponse(_item_url(request, item_id, done="held"), status_code=303)


@router.post("/evidence/{item_id}/release")
def release(
    request: Request,
    item_id: str,
    principal: Annotated[Principal, requires("evidence.manage")],
    session: DbSession,
    reason: FormText = "",
) -> Response:
    try:
        service.release(session, item_id, actor=principal, reason=reason)
    except service.NotFound:
        return RedirectResponse(_item_url(request, item_id), status_code=303)
    except service.EvidenceError:
        return RedirectResponse(_item_url(request, item_id, error="not_held"), status_code=303)
    return RedirectResponse(_item_url(request, item_id, done="released"), status_code=303)


@router.post("/evidence/{item_id}/approve")
def approve(
    request: Request,
    item_id: str,
    principal: Annotated[Principal, requires("evidence.manage")],
    session: DbSession,
    note: FormText = "",
) -> Response:
    try:
        item = service.get_item(session, item_id)
        if item.state == "destroyed":
            return RedirectResponse(_item_url(request, item_id, error="destroyed"), status_code=303)
        service.approve(session, item_id, actor=principal, action="destroy", note=note)
    except service.NotFound:
        return RedirectResponse(_item_url(request, item_id), status_code=303)
    return RedirectResponse(_item_url(request, item_id, done="approved"), status_code=303)


def _confirm_destroy(
    request: Request, items: list[EvidenceItem], reason: str, back: str
) -> HTMLResponse:
    _ = request.state.gettext
    return confirm_page(
        request,
        Confirmation(
            title=_("Destroy %(count)s evidence items for good?") % {"count": len(items)},
            consequence=_(
                "Their encryption keys and stored copies are deleted for good; nobody can open "
                "the material again. The hashes, the chain of custody and a signed certificate "
                "are kept."
            ),
            action=link(request, "/evidence/destroy"),
            confirm_label=_("Destroy"),
            cancel_url=back,
            cancel_label=_("Cancel"),
            details=[(_("Item"), f"{item.id} ({item.media_type})") for item in items]
            + [(_("Reason"), reason)],
            fields={"reason": reason, "back": back, "items": " ".join(i.id for i in items)},
        ),
    )


@router.get("/evidence/destroy", response_class=HTMLResponse)
def destroy_confirm(
    request: Request,
    principal: Annotated[Principal, requires("evidence.manage")],
    session: DbSession,
    item: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI reads the default)
    reason: str = "",
    back: str = "/evidence/retention",
) -> Response:
    back = back if back.startswith("/evidence") else "/evidence/retention"
    ids = list(dict.fromkeys(i for i in item if i))[:MAX_BATCH]
    if not ids:
        return RedirectResponse(link(request, back, error="nothing"), status_code=303)
    if not reason.strip():
        return RedirectResponse(link(request, back, error="reason"), status_code=303)
    redirect = reauth_redirect(request, principal, str(request.url.path) + "?" + request.url.query)
    if redirect is not None:
        return redirect
    found = []
    for item_id in ids:
        try:
            found.append(service.get_item(session, item_id))
        except service.NotFound:
            continue
    if not found:
        return RedirectResponse(link(request, back, error="nothing"), status_code=303)
    return _confirm_destroy(request, found, reason.strip(), back)


@router.post("/evidence/destroy")
def destroy(
    request: Request,
    principal: Annotated[Principal, requires("evidence.manage")],
    session: DbSession,
    items: FormText = "",
    reason: FormText = "",
    back: FormText = "/evidence/retention",
) -> Response:
    back = back if back.startswith("/evidence") else "/evidence/retention"
    ids = items.split()[:MAX_BATCH]
    if not ids:
        return RedirectResponse(link(request, back, error="nothing"), status_code=303)
    if not reason.strip():
        return RedirectResponse(link(request, back, error="reason"), status_code=303)
    again = reauth_redirect(request, principal, back)
    if again is not None:
        return again
    vault = vault_from_settings()
    try:
        # Checked first, so that the person reads why in their language and nothing changes.
        for item_id in ids:
            code = _blocker(session, service.get_item(session, item_id), principal, vault.four_eyes)
            if code is not None:
                return RedirectResponse(
                    link(request, back, error=code, item=item_id), status_code=303
                )
        service.destroy_many(session, vault, ids, actor=principal, reason=reason.strip())
    except service.NotFound:
        session.rollback()
        return RedirectResponse(link(request, back, error="nothing"), status_code=303)
    done_url = link(request, back, done="destroyed")
    return RedirectResponse(done_url, status_code=303)


@router.get("/evidence/retention", response_class=HTMLResponse)
def retention(
    request: Request,
    principal: Annotated[Principal, requires("evidence.view")],
    session: DbSession,
    done: str = "",
    error: str = "",
    item: str = "",
) -> HTMLResponse:
    due = service.due_for_destruction(session)
    approvals = {d.item_id: service.approval_for(session, d.item_id, "destroy") for d in due}
    return render(
        request,
        "evidence/retention.html",
        {
            "rules": service.retention_rules(session),
            "due": due,
            "approvals": approvals,
            "four_eyes": vault_from_settings().four_eyes,
            "done": i18n.MANAGE_DONE.get(done),
            "error": i18n.MANAGE_ERRORS.get(error),
            "error_item": item,
            "categories": CATEGORIES,
            "linked_states": LINKED_STATES,
            "error_code": error,
        },
        headers=NO_STORE,
    )


@router.post("/evidence/retention/rules")
def save_rule(
    request: Request,
    principal: Annotated[Principal, requires("evidence.manage")],
    session: DbSession,
    category: FormText = "",
    linked_state: FormText = "*",
    keep_days: FormText = "",
    name: FormText = "",
) -> Response:
    try:
        days = int(keep_days)
        service.set_retention_rule(
            session,
            actor=principal,
            category=category,
            linked_state=linked_state.strip() or "*",
            keep_days=days,
            name=name,
        )
    except (ValueError, service.EvidenceError) as exc:
        session.rollback()
        fields = exc.fields if isinstance(exc, service.RuleInvalid) else ()
        code = "rule_state" if "linked_state" in fields else "rule"
        url = link(request, "/evidence/retention", error=code)
        return RedirectResponse(url, status_code=303)
    url = link(request, "/evidence/retention", done="rule_saved")
    return RedirectResponse(url, status_code=303)
