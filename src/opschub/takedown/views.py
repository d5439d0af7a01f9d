"""Takedown pages for analysts: start a takedown from a report, the assessment queue, one item
(blurred by default), one target (its capture), and the national categories (administrators).

Welfare rules (docs/takedown.md, "Assessment with your welfare in mind"): material arrives as a
small blurred greyscale rendition made on the server, and a CSS filter blurs it again; it is shown
as it is only after a deliberate "Reveal" (a form; the script asks for confirmation), which counts
in the analyst's exposure today; video never plays by itself (no autoplay, no preload, a poster).
Pictures travel inside the no-store page as data: URIs. ``static/assess.js`` adds the keyboard
shortcuts; every action is also a plain form without script.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opschub import taxonomy
from opschub.config import get_settings
from opschub.evidence import rendition
from opschub.takedown import service
from opschub.takedown.models import Item
from opschub.text import N_
from opschub.web.auth import Principal, requires
from opschub.web.deps import DbSession
from opschub.web.nav import NavItem
from opschub.web.templating import link, render

router = APIRouter(include_in_schema=False)

NAV = [
    NavItem(N_("Assessment"), "/takedown", "reports.assess", order=25),
    NavItem(
        N_("National categories"), "/admin/takedown/categories", "takedown.configure", order=93
    ),
]
NO_STORE = {"Cache-Control": "no-store"}
FormText = Annotated[str, Form()]
DONE = {
    "started": N_("Takedown started: the web addresses are being captured."),
    "assessed": N_("Decision saved."),
    "closed": N_("Closed as not illegal."),
    "added": N_("Category added."),
}


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


def _common(session: Any, principal: Principal) -> dict[str, Any]:
    exposure = service.exposure_today(session, principal.id)
    limit = get_settings().takedown_break_after
    return {"exposure": exposure, "break_after": limit, "take_break": exposure >= limit}


@router.post("/takedown/reports/{report_id}/start")
def takedown_start(
    request: Request,
    report_id: str,
    principal: Annotated[Principal, requires("reports.assess")],
    session: DbSession,
) -> Response:
    """One action from the report page: a target per URL, each captured in the background."""
    try:
        service.start_takedown(session, principal, report_id)
    except service.NotFound:
        raise HTTPException(status_code=404, detail="no such report") from None
    except service.TakedownError:
        return RedirectResponse(
            link(request, f"/takedown/reports/{report_id}", error="no_url"), status_code=303
        )
    return RedirectResponse(
        link(request, f"/takedown/reports/{report_id}", done="started"), status_code=303
    )


@router.get("/takedown/reports/{report_id}", response_class=HTMLResponse)
def takedown_report(
    request: Request,
    report_id: str,
    principal: Annotated[Principal, requires("reports.assess")],
    session: DbSession,
    done: str = "",
    error: str = "",
) -> HTMLResponse:
    targets = service.targets_of_report(session, report_id)
    return render(
        request,
        "takedown/report.html",
        {
            "report_id": report_id,
            "targets": targets,
            "done": DONE.get(done),
            "no_url": error == "no_url",
        },
        headers=NO_STORE,
    )


@router.get("/takedown", response_class=HTMLResponse)
def takedown_queue(
    request: Request,
    principal: Annotated[Principal, requires("reports.assess")],
    session: DbSession,
    done: str = "",
) -> HTMLResponse:
    items = service.queue(session, principal)
    return render(
        request,
        "takedown/queue.html",
        {
            "items": items,
            "done": DONE.get(done),
            "targets": service.recent_targets(session),
            **_common(session, principal),
        },
        headers=NO_STORE,
    )


@router.get("/takedown/next")
def takedown_next(
    request: Request,
    principal: Annotated[Principal, requires("reports.assess")],
    session: DbSession,
) -> Response:
    items = service.queue(session, principal, limit=1)
    if not items:
        return RedirectResponse(link(request, "/takedown", done="assessed"), status_code=303)
    return RedirectResponse(link(request, f"/takedown/items/{items[0].id}"), status_code=303)


def _item_page(
    request: Request,
    session: Any,
    principal: Principal,
    item_id: str,
    *,
    revealed: str | None = None,
    error: str | None = None,
    status_code: int = 200,
    video: bool = False,
) -> HTMLResponse:
    try:
        item = service.get_item(session, item_id)
    except service.NotFound:
        return render(request, "takedown/missing.html", {}, status_code=404, headers=NO_STORE)
    target = service.get_target(session, item.target_id)
    shown = None
    if item.auto_from_item_id is None and revealed is None:
        try:
            shown = rendition.data_uri(service.preview(session, principal, item.id))
        except rendition.NoRendition:
            shown = None
    history = service.assessments(session, item.id)
    return render(
        request,
        "takedown/item.html",
        {
            "item": item,
            "target": target,
            "shown": shown,
            "revealed": revealed,
            "video": video,
            "error": error,
            "history": history,
            "can_decide": item.state != "disputed" or principal.can(service.DECIDE_PERMISSION),
            "categories": service.categories(session, active_only=True),
            "forms": [c.code for c in taxonomy.FORM_OF_EXPLOITATION],
            "age_bands": [c.code for c in taxonomy.AGE_BAND],
            "sexes": [c.code for c in taxonomy.SEX],
            **_common(session, principal),
        },
        status_code=status_code,
        headers=NO_STORE,
    )


@router.get("/takedown/items/{item_id}", response_class=HTMLResponse)
def takedown_item(
    request: Request,
    item_id: str,
    principal: Annotated[Principal, requires("reports.assess")],
    session: DbSession,
) -> HTMLResponse:
    return _item_page(request, session, principal, item_id)


@router.post("/takedown/items/{item_id}/reveal", response_class=HTMLResponse)
def takedown_reveal(
    request: Request,
    item_id: str,
    principal: Annotated[Principal, requires("reports.assess")],
    session: DbSession,
    confirm: FormText = "",
) -> HTMLResponse:
    """Show the item as it is: a deliberate act, counted in today's exposure."""
    _ = request.state.gettext
    if confirm != "yes":
        return _item_page(
            request, session, principal, item_id, status_code=400,
            error=_("Tick the box to confirm that you want to see the material."),
        )  # fmt: skip
    try:
        item = service.get_item(session, item_id)
        data = service.reveal(session, principal, item_id)
    except service.NotFound:
        return _item_page(request, session, principal, item_id)
    except service.Refused as exc:
        return _item_page(
            request, session, principal, item_id, error=_error(request, exc), status_code=409
        )
    if item.kind == "video":
        # Never plays by itself: a poster, controls, nothing loaded until the analyst presses play.
        try:
            poster = rendition.data_uri(rendition.contact_sheet(data))
        except rendition.NoRendition:
            poster = ""
        return _item_page(request, session, principal, item_id, revealed=poster, video=True)
    return _item_page(request, session, principal, item_id, revealed=rendition.data_uri(data))


@router.get("/takedown/items/{item_id}/media")
def takedown_media(
    request: Request,
    item_id: str,
    principal: Annotated[Principal, requires("reports.assess")],
    session: DbSession,
) -> Response:
    """A revealed video's bytes (only after this analyst revealed it today; never cached)."""
    if not service.revealed_today(session, principal.id, item_id):
        # Not revealed by this analyst today: nothing to play here (not a permission matter).
        raise HTTPException(status_code=404, detail="reveal the item first")
    item: Item = service.get_item(session, item_id)
    data = service.reveal_bytes(session, principal, item_id)
    return Response(
        data,
        media_type=item.media_type,
        headers={**NO_STORE, "Content-Disposition": "inline", "X-Content-Type-Options": "nosniff"},
    )


@router.post("/takedown/items/{item_id}/assess", response_class=HTMLResponse)
def takedown_assess(
    request: Request,
    item_id: str,
    principal: Annotated[Principal, requires("reports.assess")],
    session: DbSession,
    decision: FormText = "",
    real_child: FormText = "",
    under_13: FormText = "",
    abuse_or_genitals: FormText = "",
    category: FormText = "",
    form: FormText = "",
    age_band: FormText = "",
    sex: FormText = "",
) -> Response:
    choice = service.Decision(
        decision=decision,
        real_child=_yes_no(real_child),
        under_13=_yes_no(under_13),
        abuse_or_genitals=_yes_no(abuse_or_genitals),
        category_code=category or None,
        form=form or None,
        age_band=age_band or None,
        sex=sex or None,
    )
    try:
        service.assess(session, principal, item_id, choice)
    except service.NotFound:
        return _item_page(request, session, principal, item_id)
    except service.TakedownError as exc:
        return _item_page(
            request, session, principal, item_id, error=_error(request, exc), status_code=400
        )
    return RedirectResponse(link(request, "/takedown/next"), status_code=303)


def _error(request: Request, exc: service.TakedownError) -> str:
    _ = request.state.gettext
    messages = {
        "decision": _("Choose illegal or not illegal."),
        "category": _(
            "Illegal material meets the international baseline (three times yes) or falls "
            "in a national category: give one."
        ),
        "form": _("Choose a form of exploitation from the list."),
        "age_band": _("Choose an age band from the list."),
        "sex": _("Choose from the list."),
        "analyst": _("Four eyes: a different analyst must confirm your decision."),
        "permission": _("A senior analyst decides when analysts disagree."),
        "item": _("This item is already decided."),
    }
    return messages.get(exc.field, str(exc))


@router.get("/takedown/targets/{target_id}", response_class=HTMLResponse)
def takedown_target(
    request: Request,
    target_id: str,
    principal: Annotated[Principal, requires("reports.assess")],
    session: DbSession,
    done: str = "",
) -> HTMLResponse:
    try:
        target = service.get_target(session, target_id)
    except service.NotFound:
        return render(request, "takedown/missing.html", {}, status_code=404, headers=NO_STORE)
    return render(
        request,
        "takedown/target.html",
        {
            "target": target,
            "items": service.items_of(session, target_id),
            "done": DONE.get(done),
            "closable": target.state in ("captured", "assessing", "capture_failed"),
        },
        headers=NO_STORE,
    )


@router.post("/takedown/targets/{target_id}/not-illegal")
def takedown_not_illegal(
    request: Request,
    target_id: str,
    principal: Annotated[Principal, requires("reports.assess")],
    session: DbSession,
) -> Response:
    """The quick path: everything undecided at this address is not illegal; closed."""
    try:
        service.close_not_illegal(session, principal, target_id)
    except service.NotFound:
        raise HTTPException(status_code=404, detail="no such target") from None
    except service.Refused:
        return RedirectResponse(link(request, f"/takedown/targets/{target_id}"), status_code=303)
    return RedirectResponse(link(request, "/takedown", done="closed"), status_code=303)


@router.get("/admin/takedown/categories", response_class=HTMLResponse)
def categories_page(
    request: Request,
    principal: Annotated[Principal, requires("takedown.configure")],
    session: DbSession,
    done: str = "",
) -> HTMLResponse:
    return render(
        request,
        "takedown/categories.html",
        {"categories": service.categories(session), "done": DONE.get(done), "values": {}},
    )


@router.post("/admin/takedown/categories", response_class=HTMLResponse)
def categories_add(
    request: Request,
    principal: Annotated[Principal, requires("takedown.configure")],
    session: DbSession,
    code: FormText = "",
    name: FormText = "",
    legal_reference: FormText = "",
) -> Response:
    _ = request.state.gettext
    values = {"code": code, "name": name, "legal_reference": legal_reference}
    try:
        service.add_category(
            session, principal, code=code, name=name, legal_reference=legal_reference
        )
    except service.TakedownError as exc:
        messages = {
            "code": _("A code is 1 to 32 letters, digits, '-', '_' or '.', not used yet."),
            "name": _("Give a name of at most 200 characters, in the preferred terms."),
            "legal_reference": _("Give the legal reference (at most 500 characters)."),
        }
        return render(
            request,
            "takedown/categories.html",
            {
                "categories": service.categories(session),
                "values": values,
                "error": messages.get(exc.field, str(exc)),
                "error_field": exc.field,
                "done": None,
            },
            status_code=400,
        )
    return RedirectResponse(
        link(request, "/admin/takedown/categories", done="added"), status_code=303
    )
