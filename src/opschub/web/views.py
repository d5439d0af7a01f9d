"""Pages every capability shares: the start pages, the API docs, the favicon, the health check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import text

from opschub.accounts.permissions import AUTHENTICATED, PUBLIC
from opschub.web.auth import Principal, requires
from opschub.web.deps import get_db
from opschub.web.nav import NavItem
from opschub.web.navigation import STAFF_HOME, staff_nav, start_page
from opschub.web.templating import link, render

router = APIRouter()
NAV = [NavItem("Home", "/", PUBLIC, order=0)]


STATIC = Path(__file__).with_name("static")


# HEAD as well as GET: monitors and link checkers ask HEAD and must get the same status and headers.
@router.api_route(
    "/", methods=["GET", "HEAD"], response_class=HTMLResponse, include_in_schema=False
)
def home(request: Request, principal: Annotated[Principal | None, requires(PUBLIC)]) -> Response:
    # Staff never land on the public home page (logging in sends people to "/").
    if principal is not None and principal.kind == "user":
        return RedirectResponse(link(request, start_page(principal)), status_code=303)
    from opschub.intake.views import quick_exit_url  # the public pages' neutral site

    return render(request, "web/home.html", {"quick_exit_url": quick_exit_url(request.state.lang)})


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


@router.get("/favicon.ico", include_in_schema=False)
def favicon(principal: Annotated[Principal | None, requires(PUBLIC)]) -> FileResponse:
    """Browsers ask for /favicon.ico on every site; answer it instead of logging 404s."""
    return FileResponse(STATIC / "favicon.ico", media_type="image/x-icon")


@router.get("/healthz", dependencies=[requires(PUBLIC)], tags=["system"])
def healthz(request: Request) -> JSONResponse:
    """The database, the job broker and the workers' last heartbeats, for load balancers and
    monitoring. 503 only when the database is unreachable; a broker outage is ``degraded`` (web
    requests still answer; due jobs wait in the database). Names no host or address."""
    from opschub.jobs import health

    settings = request.app.state.settings
    body: dict[str, Any] = {"status": "ok", "database": "ok"}
    try:
        with get_db(request).read() as session:
            session.execute(text("SELECT 1"))
            body["workers"] = health.workers_summary(session, settings)
    except Exception:
        body.update(status="unavailable", database="unreachable")
        return JSONResponse(body, status_code=503)
    body["broker"] = health.broker_state(settings)
    if body["broker"] == "unreachable":
        body["status"] = "degraded"
    return JSONResponse(body)
