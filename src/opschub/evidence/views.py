"""Evidence pages: the list, one item with its custody, and viewing it safely.

Images are shown as a small blurred greyscale rendition made on the server; the full image is
sent only after a deliberate "show" with a stated purpose, and each view is a custody event.
Images travel inside the (no-store) page as data: URIs, never at a URL a browser could cache.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from opschub.evidence import i18n, rendition, service
from opschub.evidence.models import PURPOSES, EvidenceItem
from opschub.evidence.vault import vault_from_settings
from opschub.web.auth import Principal, requires
from opschub.web.deps import DbSession
from opschub.web.nav import NavItem
from opschub.web.templating import render

router = APIRouter(include_in_schema=False)

NAV = [NavItem("Evidence", "/evidence", "evidence.view", order=60)]
FormText = Annotated[str, Form()]
NO_STORE = {"Cache-Control": "no-store"}
PAGE_SIZE = 100
# Viewable purposes (intake and retention are the vault's own).
VIEW_PURPOSES = tuple(p for p in PURPOSES if p not in ("intake", "retention"))


def _labels() -> dict[str, object]:
    # The codes' words come from opschub.labels through the templates' label().
    return {"view_purposes": VIEW_PURPOSES}


@router.get("/evidence", response_class=HTMLResponse)
def evidence_list(
    request: Request, principal: Annotated[Principal, requires("evidence.view")], session: DbSession
) -> HTMLResponse:
    items = list(
        session.scalars(select(EvidenceItem).order_by(EvidenceItem.id.desc()).limit(PAGE_SIZE))
    )
    return render(request, "evidence/list.html", {"items": items, **_labels()}, headers=NO_STORE)


def _item_page(
    request: Request,
    session: DbSession,
    item_id: str,
    *,
    shown: str | None = None,
    mode: str = "",
    error: str | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
    done: str = "",
    failed: str = "",
) -> HTMLResponse:
    _ = request.state.gettext
    try:
        item = service.get_item(session, item_id)
    except service.NotFound:
        return render(
            request,
            "evidence/missing.html",
            {"item_id": item_id},
            status_code=404,
            headers=NO_STORE,
        )
    return render(
        request,
        "evidence/item.html",
        {
            "item": item,
            "acquisitions": service.acquisitions(session, item.id),
            "events": service.custody(session, item.id),
            "shown": shown,
            "mode": mode,
            "error": error,
            "values": values or {},
            "approval": service.approval_for(session, item.id, "destroy"),
            "four_eyes": vault_from_settings().four_eyes,
            "done": i18n.MANAGE_DONE.get(done),
            "failed": i18n.MANAGE_ERRORS.get(failed),
            "is_image": item.media_type.startswith("image/"),
            "is_video": item.media_type.startswith("video/")
            and item.size <= rendition.VIDEO_MAX_BYTES,
            **_labels(),
        },
        status_code=status_code,
        headers=NO_STORE,
    )


@router.get("/evidence/{item_id}", response_class=HTMLResponse)
def evidence_item(
    request: Request,
    item_id: str,
    principal: Annotated[Principal, requires("evidence.view")],
    session: DbSession,
    done: str = "",
    error: str = "",
) -> HTMLResponse:
    """Metadata and custody only: the material is shown after a purpose is given."""
    return _item_page(request, session, item_id, done=done, failed=error)


@router.post("/evidence/{item_id}/view", response_class=HTMLResponse)
def evidence_view(
    request: Request,
    item_id: str,
    principal: Annotated[Principal, requires("evidence.view")],
    session: DbSession,
    purpose: FormText = "",
    note: FormText = "",
    mode: FormText = "blurred",
) -> HTMLResponse:
    _ = request.state.gettext
    values = {"purpose": purpose, "note": note}
    if purpose not in VIEW_PURPOSES:
        return _item_page(
            request, session, item_id, error=_("Choose why you need to see this item."),
            values=values, status_code=400,
        )  # fmt: skip
    mode = "full" if mode == "full" else "blurred"
    try:
        item = service.get_item(session, item_id)
        video = item.media_type.startswith("video/")
        if video:
            mode = "sheet"  # video is only ever shown as a blurred contact sheet
        if (
            item.state != "stored"
            or not (item.media_type.startswith("image/") or video)
            or (video and item.size > rendition.VIDEO_MAX_BYTES)
        ):
            return _item_page(
                request, session, item_id, values=values, status_code=400,
                error=_("This item cannot be shown here."),
            )  # fmt: skip
        chunks = service.open_for(
            session,
            vault_from_settings(),
            item_id,
            actor=principal,
            purpose=purpose,
            note=note,
            details={"rendition": mode},
        )
        data = b"".join(chunks)
    except service.NotFound:
        return _item_page(request, session, item_id)
    try:
        if mode == "sheet":
            picture = rendition.contact_sheet(data)
        elif mode == "full":
            picture = rendition.full(data)
        else:
            picture = rendition.blurred(data)
    except rendition.NoRendition:
        return _item_page(
            request, session, item_id, values=values, status_code=400,
            error=_("This material cannot be decoded for viewing."),
        )  # fmt: skip
    return _item_page(
        request, session, item_id, shown=rendition.data_uri(picture), mode=mode, values=values
    )
