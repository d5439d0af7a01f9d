"""Response headers, language negotiation, a privacy-preserving access log, and body limits.

A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` would cost every request an extra
task and a copy of the response stream.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers, MutableHeaders, QueryParams
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opschub.config import Settings
from opschub.text import N_
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


# --- request body limits ------------------------------------------------------------------------


@dataclass(frozen=True)
class BodyLimit:
    """The most a route accepts as a request body, and whether it takes files (multipart)."""

    max_bytes: int
    multipart: bool = False


KIB = 1024
# Forms that take no files (login, settings, status changes): a few KiB is plenty.
FORM_LIMIT = BodyLimit(16 * KIB)
# Any other body (the JSON API) on a route that declares nothing.
DEFAULT_LIMIT = BodyLimit(256 * KIB)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/")

TOO_LARGE = N_("The request is too large.")
NO_FILES = N_("This form does not take files.")


class BodyTooLarge(HTTPException):
    """Raised while the body arrives, as soon as it passes the route's limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"request body is larger than {limit} bytes")


class BodyLimits:
    """Which limit applies to a path: declared per path, or per prefix (a key ending in ``/``).

    An exact path wins over a prefix, a longer prefix over a shorter one; a path with no
    declaration gets :data:`FORM_LIMIT` for form posts and :data:`DEFAULT_LIMIT` for other bodies.
    Capabilities declare theirs in a router module's ``BODY_LIMITS`` mapping (see
    docs/architecture.md); multipart bodies are refused unless the limit says ``multipart=True``.
    """

    def __init__(self, declared: Mapping[str, BodyLimit] | None = None) -> None:
        self._exact: dict[str, BodyLimit] = {}
        self._prefixes: list[tuple[str, BodyLimit]] = []
        for path, limit in (declared or {}).items():
            self.declare(path, limit)

    def declare(self, path: str, limit: BodyLimit) -> None:
        if not path.startswith("/") or limit.max_bytes < 0:
            raise ValueError(f"body limit for {path!r}: path must start with / and size be >= 0")
        if path.endswith("/"):
            self._prefixes.append((path, limit))
            self._prefixes.sort(key=lambda item: len(item[0]), reverse=True)
        else:
            self._exact[path] = limit

    def for_request(self, path: str, content_type: str) -> BodyLimit:
        declared = self._exact.get(path)
        if declared is None:
            declared = next(
                (lim for prefix, lim in self._prefixes if path.startswith(prefix)), None
            )
        if declared is not None:
            return declared
        return FORM_LIMIT if content_type.startswith(FORM_TYPES) else DEFAULT_LIMIT


class BodyLimitMiddleware:
    """Refuse a body larger than its route's limit BEFORE anything reads it.

    A declared ``Content-Length`` over the limit is answered 413 at once; otherwise the bytes are
    counted as they arrive (also for chunked bodies, which declare no length), and the read that
    passes the limit raises :class:`BodyTooLarge` (413), so that neither the CSRF check nor a
    form parser ever spools more than the limit. Multipart bodies on routes that take no files are
    answered 415 unread.
    """

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        content_type = headers.get("content-type", "").strip().lower()
        limit = self.limits.for_request(scope["path"], content_type)
        if content_type.startswith("multipart/") and not limit.multipart:
            await self._refuse(scope, receive, send, 415, NO_FILES)
            return
        declared = headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > limit.max_bytes:
            await self._refuse(scope, receive, send, 413, TOO_LARGE)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.max_bytes:
                    raise BodyTooLarge(limit.max_bytes)
            return message

        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watch)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send, 413, TOO_LARGE)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, text: str) -> None:
        gettext = scope.get("state", {}).get("gettext")
        message = gettext(text) if gettext is not None else text
        response: Response
        if scope["path"].startswith("/api/"):
            response = JSONResponse({"detail": message}, status_code=status)
        else:
            response = PlainTextResponse(message, status_code=status)
        # The body was not read: close the connection rather than parse what follows as a request.
        response.headers["Connection"] = "close"
        await response(scope, receive, send)
