"""The application factory: every capability's routers, pages and API under one app."""

from __future__ import annotations

import importlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from opschub import __version__, labels
from opschub.config import Settings, get_settings
from opschub.db import Database, get_database
from opschub.text import N_
from opschub.web.auth import LoginRequired, SetupRequired, is_api
from opschub.web.csrf import verify_csrf
from opschub.web.i18n import PACKAGE_ROOT
from opschub.web.middleware import BodyLimit, BodyLimitMiddleware, BodyLimits, ShellMiddleware
from opschub.web.nav import NavItem

# Modules with a ``router``; optional ``NAV`` lists of NavItem.
ROUTER_MODULES = (
    "opschub.web.views",
    "opschub.accounts.views",
    "opschub.accounts.api",
    "opschub.audit.views",
    "opschub.audit.api",
    "opschub.intake.views",
    "opschub.intake.api",
    "opschub.jobs.views",
    "opschub.hashlists.views",
    # before evidence.views, whose /evidence/{item_id} would take /evidence/retention
    "opschub.evidence.manage_views",
    "opschub.evidence.views",
    "opschub.takedown.views",
    "opschub.takedown.notice_views",
    "opschub.takedown.notice_api",
    "opschub.takedown.figures_views",
    "opschub.takedown.lists_api",
    # before cases.views, whose /cases/{case_id} would take /cases/dashboard
    "opschub.cases.followup_views",
    "opschub.cases.followup_api",
    "opschub.cases.views",
    "opschub.cases.api",
    "opschub.stats.views",
    "opschub.stats.api",
)

# The vendored Swagger UI (see its README.md): only the files /api/docs loads are served, not the
# distribution's sample index.html or oauth2-redirect.html.
APIDOCS_DIR = Path(__file__).with_name("vendor") / "swagger_ui"
APIDOCS_FILES = frozenset({"swagger-ui-bundle.js", "swagger-ui.css"})


class AllowListedFiles(StaticFiles):
    """Static files of one folder, limited to the names given; anything else is a 404."""

    def __init__(self, directory: Path, names: frozenset[str]) -> None:
        super().__init__(directory=directory)
        self.names = names

    def get_path(self, scope: Scope) -> str:
        path: str = super().get_path(scope)
        if path not in self.names:
            raise StarletteHTTPException(status_code=404)
        return path


# Body limits of routes in modules that do not declare ``BODY_LIMITS`` themselves yet (a router
# module's own ``BODY_LIMITS`` mapping is the place; see docs/architecture.md).
BODY_LIMITS = {
    # The public report form: a 5,000-character description, where seen, contact, up to 100 URLs.
    "/report": BodyLimit(1024 * 1024),
    # Partner batches (opschub.intake.api.MAX_BODY_BYTES).
    "/api/v1/reports": BodyLimit(5 * 1024 * 1024),
}

API_DESCRIPTION = """JSON API of opschub. Machine clients authenticate with an API token
(`Authorization: Bearer ...`) scoped to named permissions; people use their session."""


def _load_router_modules() -> list[Any]:
    return [importlib.import_module(name) for name in ROUTER_MODULES]


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The embedded job worker (no broker configured): see opschub.jobs.runtime.
    settings: Settings = app.state.settings
    runtime = None
    if settings.run_jobs and not settings.broker_url:
        from opschub.jobs.runtime import JobRuntime

        runtime = JobRuntime(settings, app.state.database)
        runtime.start()
    try:
        yield
    finally:
        if runtime is not None:
            runtime.stop()


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        lifespan=_lifespan,
        title="opschub",
        version=__version__,
        description=API_DESCRIPTION,
        docs_url=None,  # served by opschub.web.views from local files: no CDN, no inline script
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        dependencies=[Depends(verify_csrf)],
    )
    app.state.settings = settings
    app.state.database = database or get_database()
    nav: list[NavItem] = []
    body_limits = BodyLimits(BODY_LIMITS)
    for module in _load_router_modules():
        app.include_router(module.router)
        nav.extend(getattr(module, "NAV", []))
        for path, limit in getattr(module, "BODY_LIMITS", {}).items():
            body_limits.declare(path, limit)
    app.state.nav = sorted(nav, key=lambda item: item.order)
    for static_dir in sorted(PACKAGE_ROOT.glob("*/static")):
        app.mount(f"/static/{static_dir.parent.name}", StaticFiles(directory=static_dir))
    app.mount("/static/apidocs", AllowListedFiles(APIDOCS_DIR, APIDOCS_FILES))
    _install_handlers(app)
    app.add_middleware(BodyLimitMiddleware, limits=body_limits)  # inside the shell: its headers
    app.add_middleware(ShellMiddleware, settings=settings)
    return app


# requires(...) refuses with "permission users.manage required" (the API's wording); a person
# reads the permission's name instead of its code.
_PERMISSION_REFUSED = re.compile(r"permission ([a-z_.]+) required")
PERMISSION_REFUSED_TEXT = N_(
    "You may not open this page: it needs the permission “%(permission)s”."
)


def _readable_detail(request: Request, exc: StarletteHTTPException) -> Any:
    found = _PERMISSION_REFUSED.fullmatch(str(exc.detail))
    if exc.status_code != 403 or found is None:
        return exc.detail
    gettext = request.state.gettext
    permission = labels.label("permission", found.group(1), gettext, request.state.lang)
    return gettext(PERMISSION_REFUSED_TEXT) % {"permission": permission}


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        from opschub.web.templating import link

        return RedirectResponse(link(request, "/login", next=exc.next_path), status_code=303)

    @app.exception_handler(SetupRequired)
    async def _setup(request: Request, exc: SetupRequired) -> Response:
        if is_api(request):
            return JSONResponse({"detail": "account set-up incomplete"}, status_code=403)
        return RedirectResponse(exc.location, status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if is_api(request) or exc.status_code < 400:
            return JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
            )
        from opschub.web.templating import render

        return render(
            request,
            "web/error.html",
            {"status": exc.status_code, "detail": _readable_detail(request, exc)},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {
                "field": "/" + "/".join(str(part) for part in error.get("loc", ())[1:]),
                "message": error.get("msg", ""),
            }
            for error in exc.errors()
        ]
        if is_api(request):
            return JSONResponse({"detail": "invalid request", "errors": errors}, status_code=400)
        from opschub.web.templating import render

        detail = "; ".join(f"{e['field'].lstrip('/')}: {e['message']}" for e in errors)
        return render(request, "web/error.html", {"status": 400, "detail": detail}, status_code=400)

    @app.exception_handler(OperationalError)
    async def _database_busy(request: Request, exc: OperationalError) -> Response:
        # SQLite's write lock held past the busy timeout, or PostgreSQL's lock timeout: nothing
        # was stored and the request can simply be sent again. Other errors stay errors (500).
        if not database_busy(exc):
            raise exc
        headers = {"Retry-After": str(BUSY_RETRY_AFTER)}
        if is_api(request):
            return JSONResponse(
                {"detail": "database busy; nothing was stored, retry later"},
                status_code=503,
                headers=headers,
            )
        from opschub.web.templating import render

        return render(request, "intake/busy.html", {}, status_code=503, headers=headers)


BUSY_RETRY_AFTER = 5  # seconds


def database_busy(exc: OperationalError) -> bool:
    """Whether ``exc`` says the database is locked by another writer (worth a retry)."""
    if getattr(exc.orig, "sqlstate", None) == "55P03":  # PostgreSQL lock_not_available
        return True
    message = str(exc.orig).lower()
    return "database is locked" in message or "database table is locked" in message


__all__ = ["HTTPException", "create_app"]
