"""CSRF protection for every form.

Logged-in people: a token bound to their server-side session. Anonymous forms (login, public
reporting) cannot use a session, since they set no cookie: they carry a signed, time-limited token,
and the request's Origin, which browsers send on cross-site posts, must be our own.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

from opschub.config import get_settings
from opschub.web.auth import SESSION_COOKIE

FIELD = "csrf_token"
HEADER = "x-csrf-token"
ANON_MAX_AGE = 4 * 3600
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _key() -> bytes:
    return hashlib.sha256(b"csrf:" + get_settings().resolved_secret_key().encode()).digest()


def anonymous_token(now: float | None = None) -> str:
    stamp = str(int(now if now is not None else time.time()))
    nonce = secrets.token_hex(8)
    mac = hmac.new(_key(), f"{stamp}.{nonce}".encode(), hashlib.sha256).hexdigest()
    return f"a.{stamp}.{nonce}.{mac}"


def _valid_anonymous(token: str) -> bool:
    try:
        kind, stamp, nonce, mac = token.split(".")
        age = time.time() - int(stamp)
    except ValueError:
        return False
    expected = hmac.new(_key(), f"{stamp}.{nonce}".encode(), hashlib.sha256).hexdigest()
    return kind == "a" and 0 <= age <= ANON_MAX_AGE and hmac.compare_digest(mac, expected)


def token_for(request: Request) -> str:
    principal = getattr(request.state, "principal", None)
    if principal is not None and principal.csrf_token:
        return str(principal.csrf_token)
    return anonymous_token()


def _origin_ok(request: Request) -> bool:
    """Refuse what the browser itself says is cross-site.

    With ``Referrer-Policy: no-referrer`` Chromium sends ``Origin: null`` even on same-site form
    posts, so "null" proves nothing either way; the token decides then.
    """
    if request.headers.get("sec-fetch-site") == "cross-site":
        return False
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return True
    return urlsplit(origin).netloc == request.url.netloc


def _valid_bearer(request: Request) -> bool:
    """The request carries an API token that resolves: only then is the CSRF token not needed.
    Any other ``Authorization: Bearer`` value is ignored here, so it cannot switch the check off
    on anonymous forms (an unusable token on the API is answered 401 by the permission check)."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return False
    from opschub.accounts import service
    from opschub.web.deps import get_db

    with get_db(request).read() as session:
        try:
            service.resolve_token(session, header[7:].strip())
        except service.TokenError:
            return False
    return True


async def verify_csrf(request: Request) -> None:
    """App-wide dependency: refuse unsafe requests without a valid token (API tokens exempt)."""
    if request.method not in UNSAFE:
        return
    if _valid_bearer(request):
        return  # no ambient credentials: a forged cross-site request cannot carry the token
    if request.url.path.startswith("/api/") and SESSION_COOKIE not in request.cookies:
        return  # nothing ambient to abuse; the permission check answers 401
    if not _origin_ok(request):
        raise HTTPException(status_code=403, detail="cross-site request refused")
    supplied = request.headers.get(HEADER)
    if supplied is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(FIELD)
        supplied = value if isinstance(value, str) else None
    if not supplied:
        raise HTTPException(
            status_code=403, detail="form expired or CSRF token missing; reload the page"
        )
    from opschub.web.auth import resolve_principal

    if SESSION_COOKIE in request.cookies:
        principal = resolve_principal(request)
        if principal is not None and principal.csrf_token:
            if not hmac.compare_digest(supplied, principal.csrf_token):
                raise HTTPException(status_code=403, detail="CSRF token does not match the session")
            return
    if not _valid_anonymous(supplied):
        raise HTTPException(
            status_code=403, detail="form expired or CSRF token invalid; reload the page"
        )
