"""Response headers, language negotiation and a privacy-preserving access log.

A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` would cost every request an extra
task and a copy of the response stream.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.datastructures import Headers, MutableHeaders, QueryParams
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opschub.config import Settings
from opschub.web.i18n import match_language, parse_accept_language, translations

log = logging.getLogger("opschub.access")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'; worker-src 'self' blob:"
)
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("Referrer-Policy", "no-referrer"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)


def choose_language(settings: Settings, query: QueryParams, headers: Headers) -> tuple[str, bool]:
    """(language, chosen explicitly with ``?lang=``)."""
    explicit = query.get("lang")
    lang = match_language(explicit, settings.languages) if explicit else None
    if lang is not None:
        return lang, True
    lang = parse_accept_language(headers.get("accept-language", ""), settings.languages)
    if lang is None:
        default = settings.default_language
        lang = default if default in settings.languages else settings.languages[0]
    return lang, False


class ShellMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lang, explicit = choose_language(
            self.settings, QueryParams(scope.get("query_string", b"")), Headers(scope=scope)
        )
        state: dict[str, Any] = scope.setdefault("state", {})
        state.update(lang=lang, lang_explicit=explicit, gettext=translations(lang).gettext)
        static = scope["path"].startswith("/static/")
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers.setdefault(name, value)
                if not static:
                    headers.setdefault("Cache-Control", "no-store")
                if self.settings.https:
                    headers.setdefault(
                        "Strict-Transport-Security", "max-age=63072000; includeSubDomains"
                    )
                headers.setdefault("Content-Language", lang)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            # Answer an unexpected error here, with the security headers; the server's own
            # error middleware then only logs it (the response has started).
            if not response_started:
                await PlainTextResponse("Internal Server Error", status_code=500)(
                    scope, receive, send_with_headers
                )
            raise
        finally:
            # Method, route template and status only: never the address, user agent or query.
            route = scope.get("route")
            log.info(
                "%s %s %d %.1fms",
                scope["method"],
                getattr(route, "path", "-"),
                status,
                (time.perf_counter() - started) * 1000,
            )
