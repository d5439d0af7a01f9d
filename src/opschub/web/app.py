"""The application factory: every capability's routers, pages and API under one app."""

from __future__ import annotations

import importlib
from typing import Any

import swagger_ui_bundle
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from opschub import __version__
from opschub.config import Settings, get_settings
from opschub.db import Database, get_database
from opschub.web.auth import LoginRequired, SetupRequired, is_api
from opschub.web.csrf import verify_csrf
from opschub.web.i18n import PACKAGE_ROOT
from opschub.web.middleware import ShellMiddleware
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
    "opschub.evidence.views",
)

API_DESCRIPTION = """JSON API of opschub. Machine clients authenticate with an API token
(`Authorization: Bearer ...`) scoped to named permissions; people use their session."""


def _load_router_modules() -> list[Any]:
    return [importlib.import_module(name) for name in ROUTER_MODULES]


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
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
    for module in _load_router_modules():
        app.include_router(module.router)
        nav.extend(getattr(module, "NAV", []))
    app.state.nav = sorted(nav, key=lambda item: item.order)
    for static_dir in sorted(PACKAGE_ROOT.glob("*/static")):
        app.mount(f"/static/{static_dir.parent.name}", StaticFiles(directory=static_dir))
    app.mount("/static/apidocs", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path))
    _install_handlers(app)
    app.add_middleware(ShellMiddleware, settings=settings)
    return app


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
            {"status": exc.status_code, "detail": exc.detail},
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


__all__ = ["HTTPException", "create_app"]
