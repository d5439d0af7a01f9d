"""Who is asking, and may they: the one permission check.

Every route declares the permission it needs with :func:`requires`. The check resolves the
principal (session cookie for people, ``Authorization: Bearer`` for machine clients), refuses with
401/403 (or a redirect to the login page for HTML), and writes the refusal to the audit log.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import RedirectResponse

from opschub.accounts.permissions import AUTHENTICATED, PERMISSIONS, PUBLIC
from opschub.accounts.principal import Principal

SESSION_COOKIE = "opschub_session"
# Permissions an API token never uses, whatever it was granted: managing people and tokens.
PEOPLE_ONLY = frozenset({"users.manage"})
REAUTH_PATH = "/account/reauth"
NOTICE_PATH = "/account/notice"
# Login attempts per client address: a burst of LOGIN_BURST, then one every LOGIN_EVERY seconds.
LOGIN_BURST = 20
LOGIN_EVERY = 3.0

__all__ = ["Principal", "requires"]


class LoginRequired(Exception):
    """An HTML page needs a login; handled by a redirect to /login."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class SetupRequired(Exception):
    """A logged-in person must finish set-up first (change password, TOTP)."""

    def __init__(self, location: str) -> None:
        self.location = location


# Pages a person may still open while their set-up is incomplete.
SETUP_PATHS = (
    "/account/password",
    "/account/totp",
    "/login/totp",
    "/logout",
    "/static/",
    NOTICE_PATH,
    REAUTH_PATH,
)


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def resolve_principal(request: Request) -> Principal | None:
    """The principal of this request, cached on request.state."""
    if hasattr(request.state, "principal"):
        cached: Principal | None = request.state.principal
        return cached
    from opschub.accounts import service
    from opschub.web.deps import get_db

    principal: Principal | None = None
    header = request.headers.get("authorization", "")
    with get_db(request).read() as session:
        if header.lower().startswith("bearer "):
            try:
                principal = service.resolve_token(session, header[7:].strip())
            except service.TokenError as exc:
                request.state.principal = None
                raise HTTPException(
                    status_code=401,
                    detail=f"API token {exc}",
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                ) from None
        else:
            cookie = request.cookies.get(SESSION_COOKIE)
            if cookie:
                principal = service.resolve_session(session, cookie)
    if principal is not None and principal.extra.get("last_used_stale"):
        with get_db(request).transaction() as session:
            service.note_token_use(session, principal.id)
    if principal is not None and principal.session_id and principal.extra.get("session_seen_stale"):
        with get_db(request).transaction() as session:
            service.note_session_use(session, principal.session_id)
    request.state.principal = principal
    _apply_language_preference(request, principal)
    return principal


def _apply_language_preference(request: Request, principal: Principal | None) -> None:
    """A logged-in person's saved language wins over Accept-Language (not over ``?lang=``)."""
    if principal is None or not principal.language or request.state.lang_explicit:
        return
    if principal.language in request.app.state.settings.languages:
        from opschub.web.i18n import translations

        request.state.lang = principal.language
        request.state.gettext = translations(principal.language).gettext


def _audit_refusal(request: Request, principal: Principal | None, permission: str) -> None:
    from opschub.audit import service as audit
    from opschub.web.deps import get_db

    route = request.scope.get("route")
    route_path = getattr(route, "path", request.url.path)
    with get_db(request).transaction() as session:
        audit.record(
            session,
            action="permission.refused",
            actor=principal,
            outcome="refused",
            target_type="route",
            target_id=f"{request.method} {route_path}",
            details={"permission": permission},
        )


class PermissionCheck:
    """The dependency behind :func:`requires`; tests find it on every route."""

    def __init__(self, permission: str) -> None:
        if permission not in PERMISSIONS and permission not in (PUBLIC, AUTHENTICATED):
            raise ValueError(f"unknown permission {permission!r}")
        self.permission = permission

    def __call__(self, request: Request) -> Principal | None:
        if self.permission == PUBLIC:
            # Public pages still show a logged-in person's navigation, but never require it.
            return resolve_principal(request) if SESSION_COOKIE in request.cookies else None
        principal = resolve_principal(request)
        if principal is None:
            if is_api(request):
                raise HTTPException(
                    status_code=401,
                    detail="login or API token required",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            raise LoginRequired(request.url.path)
        if principal.kind == "user" and not request.url.path.startswith(SETUP_PATHS):
            if principal.totp_pending:
                raise SetupRequired("/login/totp")
            if principal.must_change_password:
                raise SetupRequired("/account/password")
            if principal.extra.get("totp_setup_required"):
                raise SetupRequired("/account/totp")
            if principal.extra.get("reset_notice"):
                raise SetupRequired(NOTICE_PATH)
        refused = not principal.can(self.permission)
        if principal.kind == "token" and self.permission in PEOPLE_ONLY:
            refused = True  # a token never creates tokens or manages people
        if refused:
            _audit_refusal(request, principal, self.permission)
            raise HTTPException(status_code=403, detail=f"permission {self.permission} required")
        return principal

    def __repr__(self) -> str:
        return f"requires({self.permission!r})"


def requires(permission: str) -> Any:
    """Declare the permission a route needs (``PUBLIC``/``AUTHENTICATED`` or a named one)."""
    return Depends(PermissionCheck(permission))


def reauth_redirect(request: Request, principal: Principal, back: str) -> RedirectResponse | None:
    """Sudo mode: None when the password was entered recently in this session, else a redirect to
    the re-authentication page, which returns to ``back`` (a page, since a POST cannot be
    replayed)."""
    from opschub.accounts import service
    from opschub.web.templating import link

    if principal.kind != "user" or service.recently_authenticated(principal):
        return None
    return RedirectResponse(link(request, REAUTH_PATH, next=back), status_code=303)


def login_throttle(request: Request) -> float | None:
    """Take one login attempt from this client's allowance: None when allowed, else the seconds
    to wait. The address is only ever used as a keyed, rotating hash (see
    :mod:`opschub.intake.ratelimit`), shared by every web worker through Redis when it is
    configured and held in this process's memory otherwise."""
    from opschub.intake.ratelimit import Limiter, make_rate_limiter

    state = request.app.state
    limiter: Limiter | None = getattr(state, "login_limiter", None)
    if limiter is None:
        limiter = state.login_limiter = make_rate_limiter(
            LOGIN_BURST, 1 / LOGIN_EVERY, name="login", settings=state.settings
        )
    address = request.client.host if request.client else None
    return limiter.hit(limiter.address_key(address))
