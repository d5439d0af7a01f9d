"""Response headers, language negotiation and a privacy-preserving access log."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from opschub.web.i18n import match_language, parse_accept_language, translations

log = logging.getLogger("opschub.access")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'; worker-src 'self' blob:"
)


def install(app: FastAPI) -> None:
    settings = app.state.settings

    @app.middleware("http")
    async def headers_and_language(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        explicit = request.query_params.get("lang")
        lang = match_language(explicit, settings.languages) if explicit else None
        request.state.lang_explicit = lang is not None
        if lang is None:
            lang = parse_accept_language(
                request.headers.get("accept-language", ""), settings.languages
            )
        request.state.lang = lang or (
            settings.default_language
            if settings.default_language in settings.languages
            else settings.languages[0]
        )
        request.state.gettext = translations(request.state.lang).gettext
        started = time.perf_counter()
        response = await call_next(request)
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if not request.url.path.startswith("/static/"):
            headers.setdefault("Cache-Control", "no-store")
        if settings.https:
            headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
        headers.setdefault("Content-Language", request.state.lang)
        # Method, route template and status only: never the address, user agent or query string.
        route = request.scope.get("route")
        log.info(
            "%s %s %d %.1fms",
            request.method,
            getattr(route, "path", "-"),
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return response
