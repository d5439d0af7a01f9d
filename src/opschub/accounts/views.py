"""Pages: login (password, then TOTP), logout, one's own account, and the administrators' pages
for users and API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from opschub.accounts import service, totp
from opschub.accounts.errors import AccountError
from opschub.accounts.i18n import (
    ROLE_LABELS,
    account_error_text,
    error_text,
)
from opschub.accounts.models import User
from opschub.accounts.permissions import (
    AUTHENTICATED,
    HUMAN_ROLES,
    PERMISSIONS,
    PUBLIC,
    Role,
    permissions_of,
)
from opschub.config import get_settings
from opschub.intake.ratelimit import retry_after_header
from opschub.text import N_
from opschub.web.auth import (
    NOTICE_PATH,
    REAUTH_PATH,
    SESSION_COOKIE,
    Principal,
    login_throttle,
    reauth_redirect,
    requires,
)
from opschub.web.confirm import Confirmation, confirm_page
from opschub.web.deps import DbSession
from opschub.web.nav import NavItem
from opschub.web.templating import link, render

router = APIRouter(include_in_schema=False)

NAV = [
    NavItem("Users", "/admin/users", "users.manage", order=90),
    NavItem("API tokens", "/admin/tokens", "users.manage", order=91),
    NavItem("My account", "/account", AUTHENTICATED, order=99),
]

FormText = Annotated[str, Form()]


def _safe_next(value: str | None) -> str:
    """Only a path on this site: never an open redirect (browsers drop tabs and newlines, so
    "/\\t/host" would become "//host")."""
    if (
        value
        and value.startswith("/")
        and not value.startswith("//")
        and "\\" not in value
        and all(ord(char) > 0x20 for char in value)
    ):
        return value
    return "/"


def _redirect(request: Request, path: str, **params: str | None) -> RedirectResponse:
    if "?" in path:  # a "next" path with its own query: keep it as it is
        return RedirectResponse(path, status_code=303)
    return RedirectResponse(link(request, path, **params), status_code=303)


def _set_session_cookie(response: Response, raw: str) -> None:
    settings = get_settings()
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        max_age=settings.session_hours * 3600,
        path="/",
        httponly=True,
        secure=settings.https,
        samesite="strict",
    )


def _clear_session_cookie(response: Response) -> None:
    settings = get_settings()
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, secure=settings.https, samesite="strict"
    )


def _next_step(
    request: Request, user: User, totp_verified: bool, next_path: str
) -> RedirectResponse:
    """Where a person goes after a login step: remaining set-up first, then where they wanted."""
    if user.totp_enabled and not totp_verified:
        return _redirect(request, "/login/totp", next=next_path if next_path != "/" else None)
    if user.totp_required and not user.totp_enabled:
        return _redirect(request, "/account/totp")
    if user.must_change_password:
        return _redirect(request, "/account/password")
    if user.reset_notice_at is not None:
        return _redirect(request, NOTICE_PATH)
    return _redirect(request, next_path)


# ---------------------------------------------------------------------------------------------
# login and logout


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request,
    principal: Annotated[Principal | None, requires(PUBLIC)],
    next: str = "/",
) -> Response:
    if principal is not None and not principal.totp_pending:
        return _redirect(request, _safe_next(next))
    return render(request, "accounts/login.html", {"next": _safe_next(next)})


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    principal: Annotated[Principal | None, requires(PUBLIC)],
    session: DbSession,
    username: FormText = "",
    password: FormText = "",
    next: FormText = "/",
) -> Response:
    _ = request.state.gettext
    next_path = _safe_next(next)
    wait = login_throttle(request)
    if wait is not None:
        return render(
            request,
            "accounts/login.html",
            {"next": next_path, "error": error_text(_, "throttled", "too many attempts")},
            status_code=429,
            headers={"Retry-After": retry_after_header(wait)},
        )
    result = service.authenticate(session, username, password)
    if not result.ok or result.user is None:
        # The same page and status for a wrong password, an unknown name, a disabled and a
        # locked account: the answer must not tell which names exist (the typed name is not
        # shown back either: it may hold control characters or a password typed by mistake).
        message = error_text(_, "invalid_login", "wrong username or password")
        return render(
            request,
            "accounts/login.html",
            {"next": next_path, "error": message},
            status_code=400,
        )
    old_cookie = request.cookies.get(SESSION_COOKIE)
    if old_cookie:
        service.end_session(session, old_cookie)
    raw, row = service.start_session(session, result.user, totp_verified=False)
    response = _next_step(request, result.user, row.totp_verified, next_path)
    _set_session_cookie(response, raw)
    return response


@router.post("/logout")
def logout(
    request: Request,
    principal: Annotated[Principal | None, requires(PUBLIC)],
    session: DbSession,
) -> Response:
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        service.end_session(session, raw)
    response = _redirect(request, "/login")
    _clear_session_cookie(response)
    return response


@router.get("/login/totp", response_class=HTMLResponse)
def totp_page(
    request: Request,
    principal: Annotated[Principal, requires(AUTHENTICATED)],
    session: DbSession,
    next: str = "/",
) -> Response:
    if principal.kind != "user":
        return _redirect(request, "/")
    if not principal.totp_pending:
        user = service.get_user(session, principal.id)
        return _next_step(request, user, True, _safe_next(next))
    return render(request, "accounts/login_totp.html", {"next": _safe_next(next)})


@router.post("/login/totp", response_class=HTMLResponse)
def totp_submit(
    request: Request,
    principal: Annotated[Principal, requires(AUTHENTICATED)],
    session: DbSession,
    code: FormText = "",
    next: FormText = "/",
) -> Response:
    _ = request.state.gettext
    next_path = _safe_next(next)
    if principal.kind != "user" or not principal.totp_pending or principal.session_id is None:
        return _redirect(request, next_path)
    try:
        result = service.verify_login_totp(session, principal.session_id, code)
    except AccountError as exc:
        return render(
            request,
            "accounts/login_totp.html",
            {"next": next_path, "error": account_error_text(_, exc)},
            status_code=400,
        )
    if result.reason == "locked":
        # The lock-out ended this (half-logged-in) session: back to the login page.
        message = error_text(_, "locked_now", "locked")
        response = render(
            request, "accounts/login.html", {"next": next_path, "error": message}, status_code=400
        )
        _clear_session_cookie(response)
        return response
    if not result.ok or result.user is None or result.session_cookie is None:
        return render(
            request,
            "accounts/login_totp.html",
            {"next": next_path, "error": error_text(_, "wrong_code", "wrong code")},
            status_code=400,
        )
    done = _next_step(request, result.user, True, next_path)
    _set_session_cookie(done, result.session_cookie)
    return done


# ---------------------------------------------------------------------------------------------
# one's own account


def _full_user(session: Session, principal: Principal) -> User:
    return service.get_user(session, principal.id)


@router.get("/account", response_class=HTMLResponse)
def account_page(
    request: Request,
    principal: Annotated[Principal, requires(AUTHENTICATED)],
    session: DbSession,
    done: str | None = None,
) -> Response:
    if principal.kind != "user":
        return _redirect(request, "/")
    user = _full_user(session, principal)
    return render(
        request,
        "accounts/account.html",
        {
            "user": user,
            "done": done,
            "role_label": ROLE_LABELS[user.role],
            "permission_labels": [PERMISSIONS[p] for p in sorted(permissions_of(user.role))],
        },
    )


@router.post("/account/language", response_class=HTMLResponse)
def language_submit(
    request: Request,
    principal: Annotated[Principal, requires(AUTHENTICATED)],
    session: DbSession,
    language: FormText = "",
) -> Response:
    """A person's preferred language for pages (empty: follow the browser)."""
    if principal.kind != "user":
        return _redirect(request, "/")
    try:
        service.set_language(session, principal.id, language or None)
    except AccountError:
        return _redirect(request, "/account")
    return RedirectResponse(
        "/account?done=language" + (f"&lang={language}" if language else ""), status_code=303
    )


@router.get("/account/password", response_class=HTMLResponse)
def password_page(
    request: Request, principal: Annotated[Principal, requires(AUTHENTICATED)]
) -> Response:
    if principal.kind != "user":
        return _redirect(request, "/")
    if principal.totp_pending:
        return _redirect(request, "/login/totp")
    return render(request, "accounts/password.html", {"forced": principal.must_change_password})


@router.post("/account/password", response_class=HTMLResponse)
def password_submit(
    request: Request,
    principal: Annotated[Principal, requires(AUTHENTICATED)],
    session: DbSession,
    current_password: FormText = "",
    new_password: FormText = "",
    confirm_password: FormText = "",
) -> Response:
    _ = request.state.gettext
    if principal.kind != "user":
        return _redirect(request, "/")
    if principal.totp_pending:
        return _redirect(request, "/login/totp")
    context: dict[str, object] = {"forced": principal.must_change_password}
    if new_password != confirm_password:
        context.update(error=error_text(_, "mismatch", "mismatch"), error_field="confirm_password")
        return render(request, "accounts/password.html", context, status_code=400)
    try:
        service.change_password(
            session,
            principal.id,
            current_password,
            new_password,
            keep_session_id=principal.session_id,
            actor=principal,
        )
    except AccountError as exc:
        if exc.code == "locked_now":
            return _locked_out(request)
        context.update(error=account_error_text(_, exc), error_field=exc.field)
        return render(request, "accounts/password.html", context, status_code=400)
    return _redirect(request, "/account", done="password")


def _locked_out(request: Request) -> Response:
    """Wrong passwords locked the account from inside a session: that session has ended."""
    message = error_text(request.state.gettext, "locked_now", "locked")
    response = render(
        request, "accounts/login.html", {"next": "/", "error": message}, status_code=400
    )
    _clear_session_cookie(response)
    return response


@router.get("/account/totp", response_class=HTMLResponse)
def totp_setup_page(
    request: Request,
    principal: Annotated[Principal, requires(AUTHENTICATED)],
    session: DbSession,
) -> Response:
    if principal.kind != "user":
        return _redirect(request, "/")
    if principal.totp_pending:
        # Replacing the second factor needs the second factor first.
        return _redirect(request, "/login/totp")
    # ... and the password, recently (sudo mode).
    back = reauth_redirect(request, principal, "/account/totp")
    if back is not None:
        return back
    return _totp_setup(request, session, principal)


def _totp_setup(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    user = _full_user(session, principal)
    secret = service.begin_totp_setup(session, user.id)
    return render(
        request,
        "accounts/totp_setup.html",
        {
            "user": user,
            "secret": totp.grouped(secret),
            "uri": totp.provisioning_uri(secret, user.username),
            "qr_svg": totp.qr_svg(totp.provisioning_uri(secret, user.username)),
            "required": user.totp_required,
            "error": error,
        },
        status_code=status_code,
    )


@router.post("/account/totp", response_class=HTMLResponse)
def totp_setup_submit(
    request: Request,
    principal: Annotated[Principal, requires(AUTHENTICATED)],
    session: DbSession,
    code: FormText = "",
) -> Response:
    _ = request.state.gettext
    if principal.kind != "user":
        return _redirect(request, "/")
    if principal.totp_pending:
        return _redirect(request, "/login/totp")
    back = reauth_redirect(request, principal, "/account/totp")
    if back is not None:
        return back
    try:
        user = service.confirm_totp_setup(session, principal.id, principal.session_id, code)
    except AccountError as exc:
        return _totp_setup(
            request, session, principal, error=account_error_text(_, exc), status_code=400
        )
    if user.must_change_password:
        return _redirect(request, "/account/password")
    return _redirect(request, "/account", done="totp")


@router.post("/account/totp/disable", response_class=HTMLResponse)
def totp_disable(
    request: Request,
    principal: Annotated[Principal, requires(AUTHENTICATED)],
    session: DbSession,
    password: FormText = "",
) -> Response:
    """People for whom TOTP is optional may switch it off again, with their password."""
    _ = request.state.gettext
    if principal.kind != "user" or principal.totp_pending:
        return _redirect(request, "/")
    user = _full_user(session, principal)
    if user.totp_required:
        return _redirect(request, "/account")
    try:
        service.disable_own_totp(session, user.id, principal, password)
    except AccountError as exc:
        if exc.code == "locked_now":
            return _locked_out(request)
        return render(
            request,
            "accounts/account.html",
            {
                "user": user,
                "role_label": ROLE_LABELS[user.role],
                "permission_labels": [PERMISSIONS[p] for p in sorted(permissions_of(user.role))],
                "error": account_error_text(_, exc),
            },
            status_code=400,
        )
    return _redirect(request, "/account", done="totp_off")


# ---------------------------------------------------------------------------------------------
# re-authentication ("sudo mode") and the notice of a reset


@router.get(REAUTH_PATH, response_class=HTMLResponse)
def reauth_page(
    request: Request,
    principal: Annotated[Principal, requires(AUTHENTICATED)],
    next: str = "/account",
) -> Response:
    if principal.kind != "user" or principal.totp_pending:
        return _redirect(request, "/")
    return render(request, "accounts/reauth.html", {"next": _safe_next(next)})


@router.post(REAUTH_PATH, response_class=HTMLResponse)
def reauth_submit(
    request: Request,
    principal: Annotated[Principal, requires(AUTHENTICATED)],
    session: DbSession,
    password: FormText = "",
    next: FormText = "/account",
) -> Response:
    _ = request.state.gettext
    next_path = _safe_next(next)
    if principal.kind != "user" or principal.totp_pending:
        return _redirect(request, "/")
    try:
        service.reauthenticate(session, principal, password)
    except AccountError as exc:
        if exc.code == "locked_now":
            return _locked_out(request)
        return render(
            request,
            "accounts/reauth.html",
            {"next": next_path, "error": account_error_text(_, exc)},
            status_code=400,
        )
    return _redirect(request, next_path)


@router.get(NOTICE_PATH, response_class=HTMLResponse)
def notice_page(
    request: Request,
    principal: Annotated[Principal, requires(AUTHENTICATED)],
    session: DbSession,
) -> Response:
    if principal.kind != "user" or principal.totp_pending:
        return _redirect(request, "/")
    user = _full_user(session, principal)
    if user.reset_notice_at is None:
        return _redirect(request, "/")
    return render(request, "accounts/reset_notice.html", {"user": user, "cli": service.CLI_ACTOR})


@router.post(NOTICE_PATH, response_class=HTMLResponse)
def notice_acknowledge(
    request: Request,
    principal: Annotated[Principal, requires(AUTHENTICATED)],
    session: DbSession,
) -> Response:
    if principal.kind != "user" or principal.totp_pending:
        return _redirect(request, "/")
    service.acknowledge_reset_notice(session, principal)
    return _redirect(request, "/")


# ---------------------------------------------------------------------------------------------
# administrators: users


def _users_page(
    request: Request,
    session: Session,
    *,
    error: str | None = None,
    error_field: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "accounts/users.html",
        {
            "users": service.list_users(session),
            "roles": [(role.value, ROLE_LABELS[role]) for role in HUMAN_ROLES],
            "default_role": service.LEAST_POWERFUL_ROLE.value,
            "role_labels": {role.value: label for role, label in ROLE_LABELS.items()},
            "error": error,
            "error_field": error_field,
            "form": form or {},
        },
        status_code=status_code,
    )


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(
    request: Request,
    principal: Annotated[Principal, requires("users.manage")],
    session: DbSession,
) -> Response:
    return _users_page(request, session)


@router.post("/admin/users", response_class=HTMLResponse)
def users_add(
    request: Request,
    principal: Annotated[Principal, requires("users.manage")],
    session: DbSession,
    username: FormText = "",
    display_name: FormText = "",
    role: FormText = "",
) -> Response:
    _ = request.state.gettext
    try:
        user, one_time = service.create_user(
            session, username=username, role=role, display_name=display_name, actor=principal
        )
    except AccountError as exc:
        return _users_page(
            request,
            session,
            error=account_error_text(_, exc),
            error_field=exc.field,
            form={"username": username, "display_name": display_name, "role": role},
            status_code=400,
        )
    return render(
        request,
        "accounts/one_time_password.html",
        {"user": user, "password": one_time, "created": True},
    )


def _user_action_error(request: Request, session: Session, exc: AccountError) -> Response:
    return _users_page(
        request, session, error=account_error_text(request.state.gettext, exc), status_code=400
    )


# What each destructive action on a person says before it is done: (title, consequence, button).
USER_ACTIONS: dict[str, tuple[str, str, str]] = {
    "disable": (
        N_("Disable %(name)s?"),
        N_(
            "They are logged out at once, cannot log in until an administrator enables them "
            "again, and the API tokens acting for them are revoked."
        ),
        N_("Disable"),
    ),
    "reset-password": (
        N_("Reset the password of %(name)s?"),
        N_(
            "Their password stops working and they are logged out. You get a one-time password "
            "to hand over; at their next login they are told that you reset it."
        ),
        N_("Reset password"),
    ),
    "reset-totp": (
        N_("Reset the two-factor authentication of %(name)s?"),
        N_(
            "Their authenticator stops working and they are logged out; they set up a new one at "
            "their next login and are told that you reset it."
        ),
        N_("Reset two-factor"),
    ),
    "role": (
        N_("Change the role of %(name)s?"),
        N_(
            "They can do at once what the new role allows, and no longer what only the old one did."
        ),
        N_("Change role"),
    ),
}


def _user_confirmation(
    request: Request, session: Session, user_id: str, action: str, role: str | None = None
) -> Response:
    _ = request.state.gettext
    try:
        user = service.get_user(session, user_id)
        new_role = service.parse_human_role(role) if role is not None else None
    except AccountError as exc:
        return _user_action_error(request, session, exc)
    title, consequence, button = USER_ACTIONS[action]
    details = [
        (_("Username"), user.username),
        (_("Name"), user.display_name or "-"),
        (_("Role"), _(ROLE_LABELS[user.role])),
    ]
    if new_role is not None:
        details.append((_("New role"), _(ROLE_LABELS[new_role])))
    return confirm_page(
        request,
        Confirmation(
            title=_(title) % {"name": user.username},
            consequence=_(consequence),
            action=link(request, f"/admin/users/{user.id}/{action}"),
            confirm_label=_(button),
            cancel_url=link(request, "/admin/users"),
            cancel_label=_("Cancel"),
            details=details,
            fields={"role": new_role.value} if new_role is not None else {},
        ),
    )


def _confirm_path(request: Request, user_id: str, action: str, **params: str | None) -> str:
    return link(request, f"/admin/users/{user_id}/{action}", **params)


@router.get("/admin/users/{user_id}/disable", response_class=HTMLResponse)
def users_disable_confirm(
    request: Request,
    user_id: str,
    principal: Annotated[Principal, requires("users.manage")],
    session: DbSession,
) -> Response:
    back = reauth_redirect(request, principal, _confirm_path(request, user_id, "disable"))
    return back or _user_confirmation(request, session, user_id, "disable")


@router.post("/admin/users/{user_id}/disable", response_class=HTMLResponse)
def users_disable(
    request: Request,
    user_id: str,
    principal: Annotated[Principal, requires("users.manage")],
    session: DbSession,
) -> Response:
    back = reauth_redirect(request, principal, _confirm_path(request, user_id, "disable"))
    if back is not None:
        return back
    try:
        service.set_disabled(session, user_id, True, principal)
    except AccountError as exc:
        return _user_action_error(request, session, exc)
    return _redirect(request, "/admin/users")


@router.post("/admin/users/{user_id}/enable", response_class=HTMLResponse)
def users_enable(
    request: Request,
    user_id: str,
    principal: Annotated[Principal, requires("users.manage")],
    session: DbSession,
) -> Response:
    try:
        service.set_disabled(session, user_id, False, principal)
    except AccountError as exc:
        return _user_action_error(request, session, exc)
    return _redirect(request, "/admin/users")


@router.get("/admin/users/{user_id}/role", response_class=HTMLResponse)
def users_role_confirm(
    request: Request,
    user_id: str,
    principal: Annotated[Principal, requires("users.manage")],
    session: DbSession,
    role: str = "",
) -> Response:
    back = reauth_redirect(request, principal, _confirm_path(request, user_id, "role", role=role))
    return back or _user_confirmation(request, session, user_id, "role", role)


@router.post("/admin/users/{user_id}/role", response_class=HTMLResponse)
def users_role(
    request: Request,
    user_id: str,
    principal: Annotated[Principal, requires("users.manage")],
    session: DbSession,
    role: FormText = "",
) -> Response:
    back = reauth_redirect(request, principal, _confirm_path(request, user_id, "role", role=role))
    if back is not None:
        return back
    try:
        service.change_role(session, user_id, role, principal)
    except AccountError as exc:
        return _user_action_error(request, session, exc)
    return _redirect(request, "/admin/users")


@router.get("/admin/users/{user_id}/reset-password", response_class=HTMLResponse)
def users_reset_password_confirm(
    request: Request,
    user_id: str,
    principal: Annotated[Principal, requires("users.manage")],
    session: DbSession,
) -> Response:
    back = reauth_redirect(request, principal, _confirm_path(request, user_id, "reset-password"))
    return back or _user_confirmation(request, session, user_id, "reset-password")


@router.post("/admin/users/{user_id}/reset-password", response_class=HTMLResponse)
def users_reset_password(
    request: Request,
    user_id: str,
    principal: Annotated[Principal, requires("users.manage")],
    session: DbSession,
) -> Response:
    back = reauth_redirect(request, principal, _confirm_path(request, user_id, "reset-password"))
    if back is not None:
        return back
    try:
        one_time = service.reset_password(session, user_id, principal)
    except AccountError as exc:
        return _user_action_error(request, session, exc)
    user = service.get_user(session, user_id)
    return render(
        request,
        "accounts/one_time_password.html",
        {"user": user, "password": one_time, "created": False},
    )


@router.get("/admin/users/{user_id}/reset-totp", response_class=HTMLResponse)
def users_reset_totp_confirm(
    request: Request,
    user_id: str,
    principal: Annotated[Principal, requires("users.manage")],
    session: DbSession,
) -> Response:
    back = reauth_redirect(request, principal, _confirm_path(request, user_id, "reset-totp"))
    return back or _user_confirmation(request, session, user_id, "reset-totp")


@router.post("/admin/users/{user_id}/reset-totp", response_class=HTMLResponse)
def users_reset_totp(
    request: Request,
    user_id: str,
    principal: Annotated[Principal, requires("users.manage")],
    session: DbSession,
) -> Response:
    back = reauth_redirect(request, principal, _confirm_path(request, user_id, "reset-totp"))
    if back is not None:
        return back
    try:
        service.reset_totp(session, user_id, principal)
    except AccountError as exc:
        return _user_action_error(request, session, exc)
    return _redirect(request, "/admin/users")


# ---------------------------------------------------------------------------------------------
# administrators: API tokens


def _tokens_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    error: str | None = None,
    error_field: str | None = None,
    form: dict[str, object] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "accounts/tokens.html",
        {
            "tokens": [(t, service.token_status(t)) for t in service.list_tokens(session)],
            "own_permissions": [
                (p, PERMISSIONS[p]) for p in sorted(permissions_of(principal.role))
            ],
            "partner_permissions": [
                (p, PERMISSIONS[p]) for p in sorted(permissions_of(Role.PARTNER))
            ],
            "role_labels": {role.value: label for role, label in ROLE_LABELS.items()},
            "own_role": principal.role.value,
            "max_days": service.max_token_days(),
            "error": error,
            "error_field": error_field,
            # A new token acts for a partner unless the administrator chooses otherwise: the
            # least powerful choice is the default.
            "form": form or {"expires_days": "90", "acts_for": "partner"},
        },
        status_code=status_code,
    )


@router.get("/admin/tokens", response_class=HTMLResponse)
def tokens_page(
    request: Request,
    principal: Annotated[Principal, requires("users.manage")],
    session: DbSession,
) -> Response:
    return _tokens_page(request, session, principal)


@router.post("/admin/tokens", response_class=HTMLResponse)
def tokens_create(
    request: Request,
    principal: Annotated[Principal, requires("users.manage")],
    session: DbSession,
    name: FormText = "",
    acts_for: FormText = "partner",
    permission: Annotated[list[str] | None, Form()] = None,
    expires_days: FormText = "90",
) -> Response:
    _ = request.state.gettext
    back = reauth_redirect(request, principal, "/admin/tokens")
    if back is not None:
        return back
    permissions = permission or []
    partner = acts_for == "partner"
    form: dict[str, object] = {
        "name": name,
        "acts_for": "partner" if partner else "own",
        "permissions": permissions,
        "expires_days": expires_days,
    }
    try:
        try:
            days = int(expires_days)
        except ValueError:
            raise AccountError("expires_days", "invalid_expiry", "not a number") from None
        token, raw = service.create_token(
            session,
            name=name,
            permissions=permissions,
            expires_in_days=days,
            actor=principal,
            partner=partner,
        )
    except AccountError as exc:
        return _tokens_page(
            request,
            session,
            principal,
            error=account_error_text(_, exc),
            error_field=exc.field,
            form=form,
            status_code=400,
        )
    return render(
        request,
        "accounts/token_created.html",
        {
            "token": token,
            "raw": raw,
            "role_label": ROLE_LABELS[token.role],
            "permission_labels": [PERMISSIONS[p] for p in token.permissions],
        },
    )


@router.get("/admin/tokens/{token_id}/revoke", response_class=HTMLResponse)
def tokens_revoke_confirm(
    request: Request,
    token_id: str,
    principal: Annotated[Principal, requires("users.manage")],
    session: DbSession,
) -> Response:
    _ = request.state.gettext
    token = service.find_token(session, token_id)
    if token is None:
        return _tokens_page(
            request,
            session,
            principal,
            error=error_text(_, "unknown_token", "unknown token"),
            status_code=404,
        )
    return confirm_page(
        request,
        Confirmation(
            title=_("Revoke the API token %(name)s?") % {"name": token.name},
            consequence=_(
                "Every request with this token is refused from now on; this cannot be undone. "
                "The client needs a new token to go on working."
            ),
            action=link(request, f"/admin/tokens/{token.id}/revoke"),
            confirm_label=_("Revoke"),
            cancel_url=link(request, "/admin/tokens"),
            cancel_label=_("Cancel"),
            details=[
                (_("ID"), token.id),
                (_("Name"), token.name),
                (_("Acts for"), _(ROLE_LABELS[token.role])),
            ],
        ),
    )


@router.post("/admin/tokens/{token_id}/revoke", response_class=HTMLResponse)
def tokens_revoke(
    request: Request,
    token_id: str,
    principal: Annotated[Principal, requires("users.manage")],
    session: DbSession,
) -> Response:
    try:
        service.revoke_token(session, token_id, principal)
    except AccountError as exc:
        return _tokens_page(
            request,
            session,
            principal,
            error=account_error_text(request.state.gettext, exc),
            status_code=400,
        )
    return _redirect(request, "/admin/tokens")
