"""Pages every capability shares: the start pages and the health check."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import text

from opschub.accounts.permissions import AUTHENTICATED, PUBLIC
from opschub.web.auth import Principal, requires
from opschub.web.deps import DbSession
from opschub.web.nav import NavItem
from opschub.web.navigation import STAFF_HOME, staff_nav, start_page
from opschub.web.templating import link, render

router = APIRouter()
NAV = [NavItem("Home", "/", PUBLIC, order=0)]


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request, principal: Annotated[Principal | None, requires(PUBLIC)]) -> Response:
    # Staff never land on the public home page (logging in sends people to "/").
    if principal is not None and principal.kind == "user":
        return RedirectResponse(link(request, start_page(principal)), status_code=303)
    return render(request, "web/home.html")


@router.get(STAFF_HOME, response_class=HTMLResponse, include_in_schema=False)
def staff_home(
    request: Request, principal: Annotated[Principal, requires(AUTHENTICATED)]
) -> HTMLResponse:
    """A small start page for roles whose own pages are not built yet."""
    return render(request, "web/staff_home.html", {"items": staff_nav(request.app, principal)})


@router.get("/api/docs", response_class=HTMLResponse, include_in_schema=False)
def api_docs(
    request: Request, principal: Annotated[Principal | None, requires(PUBLIC)]
) -> HTMLResponse:
    """Interactive API documentation from local files (no CDN, no inline script)."""
    return render(request, "web/apidocs.html")


@router.get("/healthz", dependencies=[requires(PUBLIC)], tags=["system"])
def healthz(session: DbSession) -> dict[str, str]:
    """Liveness and database reachability, for load balancers and monitoring."""
    session.execute(text("SELECT 1"))
    return {"status": "ok", "database": "ok"}
