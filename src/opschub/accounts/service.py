"""Use cases of the accounts capability: the only code that writes its tables.

Every change and every login, failed login, lock-out and logout writes an audit event in the
caller's transaction, so the change and its record commit together or not at all. ``actor`` is the
person (or token) acting; ``None`` means the command line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from opschub.accounts import passwords, tokens, totp
from opschub.accounts.errors import (
    AccountError,
    DuplicateUser,
    TokenError,
    TokenNotAllowed,
    UnknownUser,
)
from opschub.accounts.models import ApiToken, User, UserSession
from opschub.accounts.passwords import PasswordRuleError
from opschub.accounts.permissions import (
    HUMAN_ROLES,
    PERMISSIONS,
    Role,
    parse_role,
    permissions_of,
)
from opschub.accounts.principal import Principal
from opschub.audit import service as audit
from opschub.audit.models import AuditEvent
from opschub.clock import as_utc, utcnow
from opschub.config import get_settings

USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
CLI_ACTOR = "command line"
# Preselected when an administrator adds a person: the role that can change nothing and read no
# reporter's data. Never the administrator.
LEAST_POWERFUL_ROLE = Role.AUDITOR
# An API token's last use, and a session's last activity, are written at most this often (each
# costs a write per request).
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Longer input is refused before any look-up (no legitimate password is this long; hashing a huge
# one would cost the server time).
MAX_PASSWORD_LENGTH = 1024
# What `credential_changes` reports: every change of who can log in, and how.
CREDENTIAL_ACTIONS = (
    "accounts.user.created",
    "accounts.user.disabled",
    "accounts.user.enabled",
    "accounts.user.role_changed",
    "accounts.password.reset",
    "accounts.password.changed",
    "accounts.totp.enabled",
    "accounts.totp.reset",
    "accounts.totp.disabled",
    "accounts.login.locked",
    "accounts.reset_notice.acknowledged",
    "accounts.token.created",
    "accounts.token.revoked",
)


# ---------------------------------------------------------------------------------------------
# helpers


def _record(
    session: Session,
    action: str,
    actor: Principal | None,
    *,
    target: User | ApiToken | None = None,
    outcome: str = "ok",
    actor_label: str | None = None,
    actor_kind: str | None = None,
    **details: Any,
) -> None:
    target_type = None
    if isinstance(target, User):
        target_type = "user"
    elif isinstance(target, ApiToken):
        target_type = "api_token"
    audit.record(
        session,
        action=action,
        actor=actor,
        actor_label=actor_label if actor_label is not None else (None if actor else CLI_ACTOR),
        target_type=target_type,
        target_id=target.id if target is not None else None,
        outcome=outcome,
        details=details or None,
        actor_kind=actor_kind,
    )


def user_principal(
    user: User,
    *,
    session_id: str | None = None,
    csrf_token: str | None = None,
    totp_verified: bool = True,
) -> Principal:
    """The principal of a person; no permissions until their set-up is complete."""
    totp_pending = user.totp_enabled and not totp_verified
    setup_required = user.totp_required and not user.totp_enabled
    reset_notice = user.reset_notice_at is not None
    incomplete = totp_pending or setup_required or user.must_change_password or reset_notice
    return Principal(
        kind="user",
        id=user.id,
        name=user.username,
        role=user.role,
        permissions=frozenset() if incomplete else permissions_of(user.role),
        session_id=session_id,
        csrf_token=csrf_token,
        must_change_password=user.must_change_password,
        totp_pending=totp_pending,
        language=user.language,
        extra={
            "display_name": user.display_name,
            "totp_setup_required": setup_required,
            "reset_notice": reset_notice,
        },
    )


def max_token_days() -> int:
    return get_settings().token_max_days


def _refuse_tokens(actor: Principal | None) -> None:
    """API tokens never manage people or tokens: a stolen token must not mint durable access."""
    if actor is not None and actor.kind == "token":
        raise TokenNotAllowed()


def _actor_name(actor: Principal | None) -> str:
    return actor.name if actor is not None else CLI_ACTOR


def normalise_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME_PATTERN.fullmatch(name):
        raise AccountError(
            "username",
            "invalid_username",
            "username must be 2-64 characters: letters a-z, digits, '.', '_' or '-', "
            "starting with a letter or digit",
        )
    return name


def parse_human_role(role: Role | str) -> Role:
    """A role a person can have, or an AccountError naming the field ``role``."""
    return _human_role(role)


def _human_role(role: Role | str) -> Role:
    try:
        parsed = parse_role(str(role))
    except ValueError as exc:
        raise AccountError("role", "unknown_role", str(exc)) from None
    if parsed not in HUMAN_ROLES:
        raise AccountError("role", "partner_role", "the partner role is for API tokens only")
    return parsed


def _display_name(value: str) -> str:
    value = value.strip()
    if len(value) > 200:
        raise AccountError(
            "display_name", "too_long", "display name must be at most 200 characters"
        )
    return value


# ---------------------------------------------------------------------------------------------
# users


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username.strip().lower()))


def get_user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise AccountError("user_id", "unknown_user", f"no user with id {user_id!r}")
    return user


def require_user(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise UnknownUser(username.strip())
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def create_user(
    session: Session,
    *,
    username: str,
    role: Role | str,
    password: str | None = None,
    display_name: str = "",
    actor: Principal | None = None,
) -> tuple[User, str | None]:
    """Add a person. Without ``password`` a one-time password is generated and returned; it must
    be changed at first login."""
    _refuse_tokens(actor)
    name = normalise_username(username)
    parsed_role = _human_role(role)
    shown_name = _display_name(display_name)
    if find_user(session, name) is not None:
        raise DuplicateUser(name)
    one_time: str | None = None
    if password is None:
        one_time = password = passwords.one_time_password(name)
    else:
        passwords.check_password(password, name)
    user = User(
        username=name,
        role=parsed_role,
        display_name=shown_name,
        password_hash=passwords.hash_password(password),
        password_changed_at=utcnow(),
        must_change_password=one_time is not None,
        disabled=False,
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    _record(
        session, "accounts.user.created", actor, target=user, username=name, role=parsed_role.value
    )
    return user, one_time


def _enabled_admins(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(User).where(User.role == Role.ADMIN, ~User.disabled)
        )
        or 0
    )


def _guard_last_admin(session: Session, user: User) -> None:
    if user.role is Role.ADMIN and not user.disabled and _enabled_admins(session) <= 1:
        raise AccountError(
            "user", "last_admin", f"{user.username} is the last administrator; add another first"
        )


def set_disabled(session: Session, user_id: str, disabled: bool, actor: Principal | None) -> User:
    """Disable (ending every session and revoking the tokens that act for them) or enable a
    person."""
    _refuse_tokens(actor)
    user = get_user(session, user_id)
    if user.disabled == disabled:
        return user
    if disabled:
        _guard_last_admin(session, user)
        _end_all_sessions(session, user.id)
        _revoke_personal_tokens(session, user, actor)
    user.disabled = disabled
    if not disabled:
        user.failed_logins = 0
        user.locked_until = None
    action = "accounts.user.disabled" if disabled else "accounts.user.enabled"
    _record(session, action, actor, target=user, username=user.username)
    return user


def change_role(session: Session, user_id: str, role: Role | str, actor: Principal | None) -> User:
    _refuse_tokens(actor)
    user = get_user(session, user_id)
    new_role = _human_role(role)
    if new_role is user.role:
        return user
    if user.role is Role.ADMIN:
        _guard_last_admin(session, user)
    old_role = user.role
    user.role = new_role
    _record(
        session,
        "accounts.user.role_changed",
        actor,
        target=user,
        username=user.username,
        old_role=old_role.value,
        new_role=new_role.value,
    )
    return user


def reset_password(session: Session, user_id: str, actor: Principal | None) -> str:
    """A new one-time password (returned once); the person must change it at next login, and is
    then told who reset it and when (they must acknowledge that)."""
    _refuse_tokens(actor)
    user = get_user(session, user_id)
    one_time = passwords.one_time_password(user.username)
    user.password_hash = passwords.hash_password(one_time)
    user.password_changed_at = utcnow()
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    user.reset_notice_by = _actor_name(actor)
    user.reset_notice_at = utcnow()
    _end_all_sessions(session, user.id)
    _record(session, "accounts.password.reset", actor, target=user, username=user.username)
    return one_time


def change_password(
    session: Session,
    user_id: str,
    current: str,
    new: str,
    *,
    keep_session_id: str | None = None,
    actor: Principal | None = None,
) -> User:
    """A person changes their own password; their other sessions end.

    The current password is the re-authentication: a wrong one counts as a failed login.
    """
    user = _user_by_id_for_update(session, user_id)
    check_current_password(session, user, current, session_id=keep_session_id)
    if new == current:
        raise PasswordRuleError(
            "unchanged", "new password must differ from the current one", field="new_password"
        )
    try:
        passwords.check_password(new, user.username)
    except PasswordRuleError as exc:
        raise PasswordRuleError(exc.rule, str(exc), field="new_password") from None
    user.password_hash = passwords.hash_password(new)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    _end_all_sessions(session, user.id, except_id=keep_session_id)
    _mark_authenticated(session, keep_session_id)
    _record(
        session,
        "accounts.password.changed",
        actor or user_principal(user),
        target=user,
        username=user.username,
    )
    return user


def set_language(session: Session, user_id: str, language: str | None) -> None:
    """A person's preferred language (None: follow the browser)."""
    if language is not None and language not in get_settings().languages:
        raise AccountError("language", "unknown_language", f"unknown language {language!r}")
    get_user(session, user_id).language = language


def ensure_admin(session: Session) -> tuple[User, str] | None:
    """Make sure an enabled administrator exists; returns (admin, one-time password) when one was
    created or re-enabled, None when there already was one."""
    if _enabled_admins(session) > 0:
        return None
    existing = find_user(session, "admin")
    if existing is None:
        user, one_time = create_user(session, username="admin", role=Role.ADMIN)
        assert one_time is not None
        return user, one_time
    # Recovery: a user called admin exists but is not an enabled administrator.
    set_disabled(session, existing.id, False, None)
    if existing.role is not Role.ADMIN:
        change_role(session, existing.id, Role.ADMIN, None)
    return existing, reset_password(session, existing.id, None)


# ---------------------------------------------------------------------------------------------
# login, sessions, TOTP


@dataclass
class LoginResult:
    """``reason`` when not ok: ``invalid`` (unknown user, wrong password or disabled) or
    ``locked`` (too many failures; ``locked_until`` says until when)."""

    ok: bool
    user: User | None = None
    reason: str | None = None
    locked_until: datetime | None = None
    # After the second factor: the new session's cookie value (the old session is gone).
    session_cookie: str | None = None

    @property
    def needs_totp(self) -> bool:
        return self.user is not None and self.user.totp_enabled


def _register_failure(session: Session, user: User, reason: str) -> datetime | None:
    """Count a failed login; returns the lock-out end when this failure locks the account.

    A lock-out ends no session: otherwise anyone could log a person out by typing their name
    five times (the session that was guessing is ended by its caller).
    """
    settings = get_settings()
    user.failed_logins += 1
    actor = user_principal(user)
    _record(
        session,
        "accounts.login.failed",
        actor,
        target=user,
        outcome="refused",
        reason=reason,
        failures=user.failed_logins,
    )
    if user.failed_logins < settings.login_max_failures:
        return None
    user.locked_until = utcnow() + timedelta(minutes=settings.login_lockout_minutes)
    user.failed_logins = 0
    _record(
        session,
        "accounts.login.locked",
        actor,
        target=user,
        outcome="refused",
        until=user.locked_until.isoformat(),
    )
    return user.locked_until


def _locked_until(user: User) -> datetime | None:
    if user.locked_until is not None and as_utc(user.locked_until) > utcnow():
        return as_utc(user.locked_until)
    return None


def _user_for_update(session: Session, username: str) -> User | None:
    """The user row, locked until the transaction ends (PostgreSQL), so that concurrent attempts
    cannot undercount failures or reuse a TOTP code. SQLite serialises writers anyway."""
    return session.scalar(
        select(User).where(User.username == username.strip().lower()).with_for_update()
    )


def _plausible_username(username: str) -> bool:
    """Only names that could exist reach the database: control characters (a NUL breaks
    PostgreSQL) and overlong input are failed logins, not errors."""
    return USERNAME_PATTERN.fullmatch(username.strip().lower()) is not None


def _user_by_id_for_update(session: Session, user_id: str) -> User:
    user = session.get(User, user_id, with_for_update=True, populate_existing=True)
    if user is None:
        raise AccountError("user_id", "unknown_user", f"no user with id {user_id!r}")
    return user


def authenticate(session: Session, username: str, password: str) -> LoginResult:
    """Check a username and password, counting failures and locking out after too many.

    For a person with a second factor the failure count is not reset here but only when the
    second factor succeeds: otherwise "password, wrong codes, password again" never locks.
    """
    plausible = _plausible_username(username) and len(password) <= MAX_PASSWORD_LENGTH
    user = _user_for_update(session, username) if plausible else None
    if user is None:
        passwords.burn_time(password[:MAX_PASSWORD_LENGTH])
        # The attempted name is not recorded: people type passwords into the username field.
        _record(
            session,
            "accounts.login.failed",
            None,
            outcome="refused",
            actor_label="anonymous",
            actor_kind="public",
            reason="unknown_user",
        )
        return LoginResult(ok=False, reason="invalid")
    locked = _locked_until(user)
    if locked is not None:
        passwords.burn_time(password)
        _record(
            session,
            "accounts.login.failed",
            user_principal(user),
            target=user,
            outcome="refused",
            reason="locked",
        )
        return LoginResult(ok=False, user=user, reason="locked", locked_until=locked)
    if not passwords.verify_password(user.password_hash, password):
        locked = _register_failure(session, user, "password")
        if locked is not None:
            return LoginResult(ok=False, user=user, reason="locked", locked_until=locked)
        return LoginResult(ok=False, user=user, reason="invalid")
    if user.disabled:
        _record(
            session,
            "accounts.login.failed",
            user_principal(user),
            target=user,
            outcome="refused",
            reason="disabled",
        )
        return LoginResult(ok=False, user=user, reason="invalid")
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    if not user.totp_enabled:
        user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    _record(
        session,
        "accounts.login",
        user_principal(user),
        target=user,
        second_factor="pending" if user.totp_enabled else "none",
    )
    return LoginResult(ok=True, user=user)


def start_session(
    session: Session,
    user: User,
    *,
    totp_verified: bool,
    authenticated_at: datetime | None = None,
) -> tuple[str, UserSession]:
    """Open a session; returns the raw cookie value (never stored) and the row.

    A session is opened when the password has just been entered, so it starts freshly
    authenticated (``authenticated_at``, now unless given).
    """
    now = utcnow()
    session.execute(delete(UserSession).where(UserSession.expires_at < now))
    raw = tokens.new_session_value()
    row = UserSession(
        created_at=now,
        user_id=user.id,
        token_hash=tokens.sha256_hex(raw),
        expires_at=now + timedelta(hours=get_settings().session_hours),
        totp_verified=totp_verified or not user.totp_enabled,
        last_seen_at=now,
        authenticated_at=authenticated_at or now,
    )
    session.add(row)
    session.flush()
    return raw, row


def _find_session(session: Session, raw_cookie: str) -> UserSession | None:
    if not raw_cookie or len(raw_cookie) > 200:
        return None
    row = session.scalar(
        select(UserSession).where(UserSession.token_hash == tokens.sha256_hex(raw_cookie))
    )
    now = utcnow()
    if row is None or as_utc(row.expires_at) <= now:
        return None
    last_seen = as_utc(row.last_seen_at or row.created_at)
    if now - last_seen > timedelta(minutes=get_settings().session_idle_minutes):
        return None
    return row


def resolve_session(session: Session, raw_cookie: str) -> Principal | None:
    """The person behind a session cookie; None when unknown, expired or the person is disabled."""
    row = _find_session(session, raw_cookie)
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        return None
    csrf = tokens.csrf_token_for(raw_cookie, get_settings().resolved_secret_key())
    principal = user_principal(
        user, session_id=row.id, csrf_token=csrf, totp_verified=row.totp_verified
    )
    last_seen = as_utc(row.last_seen_at or row.created_at)
    principal.extra["session_seen_stale"] = utcnow() - last_seen >= LAST_USED_RESOLUTION
    principal.extra["authenticated_at"] = as_utc(row.authenticated_at or row.created_at)
    return principal


def note_session_use(session: Session, session_id: str) -> None:
    """Record a session's last activity (for the idle timeout), at most once a minute; apart
    from :func:`resolve_session` for the same reason as :func:`note_token_use`."""
    now = utcnow()
    session.execute(
        update(UserSession)
        .where(UserSession.id == session_id)
        .where(
            or_(
                UserSession.last_seen_at.is_(None),
                UserSession.last_seen_at < now - LAST_USED_RESOLUTION,
            )
        )
        .values(last_seen_at=now)
    )


def recently_authenticated(principal: Principal) -> bool:
    """The password was entered in this session within ``OPSCHUB_REAUTH_MINUTES``."""
    at = principal.extra.get("authenticated_at")
    if not isinstance(at, datetime):
        return False
    return utcnow() - at <= timedelta(minutes=get_settings().reauth_minutes)


def _mark_authenticated(session: Session, session_id: str | None) -> None:
    if session_id is None:
        return
    row = session.get(UserSession, session_id)
    if row is not None:
        row.authenticated_at = utcnow()


def check_current_password(
    session: Session, user: User, password: str, *, session_id: str | None
) -> None:
    """A logged-in person proves it is them by their password (changing credentials,
    re-authentication). Wrong guesses count like failed logins; while the account is locked even
    the right password is refused; the guessing session ends when its guesses lock the account."""
    if _locked_until(user) is not None:
        passwords.burn_time(password[:MAX_PASSWORD_LENGTH])
        raise AccountError("current_password", "locked_now", "the account is locked for now")
    if len(password) <= MAX_PASSWORD_LENGTH and passwords.verify_password(
        user.password_hash, password
    ):
        return
    if _register_failure(session, user, "current_password") is not None:
        if session_id is not None:
            session.execute(delete(UserSession).where(UserSession.id == session_id))
        raise AccountError("current_password", "locked_now", "the account is locked for now")
    raise AccountError("current_password", "wrong_password", "current password is wrong")


def reauthenticate(session: Session, principal: Principal, password: str) -> None:
    """Re-authentication ("sudo mode"): the password again, for sensitive changes."""
    user = _user_by_id_for_update(session, principal.id)
    check_current_password(session, user, password, session_id=principal.session_id)
    _mark_authenticated(session, principal.session_id)
    _record(session, "accounts.reauthenticated", principal, target=user)


def acknowledge_reset_notice(session: Session, principal: Principal) -> None:
    """The person has read who reset their credentials and when."""
    user = get_user(session, principal.id)
    if user.reset_notice_at is None:
        return
    _record(
        session,
        "accounts.reset_notice.acknowledged",
        principal,
        target=user,
        reset_by=user.reset_notice_by or "",
        reset_at=as_utc(user.reset_notice_at).isoformat(),
    )
    user.reset_notice_by = None
    user.reset_notice_at = None


def end_session(session: Session, raw_cookie: str) -> None:
    """Log out: the session row is deleted (an unknown cookie is ignored)."""
    row = _find_session(session, raw_cookie)
    if row is None:
        return
    user = session.get(User, row.user_id)
    session.delete(row)
    if user is not None:
        _record(session, "accounts.logout", user_principal(user), target=user)


def _end_all_sessions(session: Session, user_id: str, *, except_id: str | None = None) -> None:
    statement = delete(UserSession).where(UserSession.user_id == user_id)
    if except_id is not None:
        statement = statement.where(UserSession.id != except_id)
    session.execute(statement)


def verify_login_totp(session: Session, session_id: str, code: str) -> LoginResult:
    """Second step of a login: a wrong code counts as a failed login (and may lock out)."""
    row = session.get(UserSession, session_id)
    if row is None:
        raise AccountError("session", "no_session", "the login has expired; log in again")
    user = session.get(User, row.user_id, with_for_update=True, populate_existing=True)
    if user is None:
        raise AccountError("session", "no_session", "the login has expired; log in again")
    if user.totp_secret is None:
        raise AccountError("code", "totp_not_set_up", "two-factor authentication is not set up")
    if _locked_until(user) is not None:
        session.delete(row)
        return LoginResult(ok=False, user=user, reason="locked", locked_until=_locked_until(user))
    step = totp.matching_step(user.totp_secret, code, utcnow(), after=user.totp_last_step)
    if step is None:
        locked = _register_failure(session, user, "totp")
        if locked is not None:
            # Only the session that was guessing ends; the person's other sessions stay.
            session.delete(row)
            return LoginResult(ok=False, user=user, reason="locked", locked_until=locked)
        return LoginResult(ok=False, user=user, reason="wrong_code")
    user.totp_last_step = step
    user.failed_logins = 0
    # A new session (and cookie) once both factors are proven: a cookie planted before the login
    # (session fixation) never becomes a logged-in session.
    authenticated_at = as_utc(row.authenticated_at or row.created_at)
    session.delete(row)
    session.flush()
    raw, _new_row = start_session(
        session, user, totp_verified=True, authenticated_at=authenticated_at
    )
    _record(session, "accounts.login.totp", user_principal(user), target=user)
    return LoginResult(ok=True, user=user, session_cookie=raw)


def begin_totp_setup(session: Session, user_id: str) -> str:
    """The secret being set up (made on first call, kept until confirmed)."""
    user = get_user(session, user_id)
    if user.totp_pending_secret is None:
        user.totp_pending_secret = totp.new_secret()
    return user.totp_pending_secret


def confirm_totp_setup(session: Session, user_id: str, session_id: str | None, code: str) -> User:
    """Switch TOTP on once the person proves their app shows the right code."""
    user = get_user(session, user_id)
    secret = user.totp_pending_secret
    if secret is None:
        raise AccountError("code", "no_pending_secret", "start the set-up again")
    step = totp.matching_step(secret, code, utcnow())
    if step is None:
        raise AccountError("code", "wrong_code", "the code is wrong; check the time on your phone")
    replaced = user.totp_secret is not None
    user.totp_secret = secret
    user.totp_pending_secret = None
    user.totp_last_step = step
    if session_id is not None:
        _end_all_sessions(session, user.id, except_id=session_id)
        row = session.get(UserSession, session_id)
        if row is not None:
            row.totp_verified = True
    _record(
        session,
        "accounts.totp.enabled",
        user_principal(user),
        target=user,
        username=user.username,
        replaced=replaced,
    )
    return user


def reset_totp(session: Session, user_id: str, actor: Principal | None) -> User:
    """Remove a person's TOTP (lost phone); they must set it up again at next login when their
    role requires it, and are told who reset it and when."""
    _refuse_tokens(actor)
    user = get_user(session, user_id)
    user.totp_secret = None
    user.totp_pending_secret = None
    user.totp_last_step = None
    user.reset_notice_by = _actor_name(actor)
    user.reset_notice_at = utcnow()
    _end_all_sessions(session, user.id)
    _record(session, "accounts.totp.reset", actor, target=user, username=user.username)
    return user


def disable_own_totp(session: Session, user_id: str, actor: Principal, password: str) -> User:
    """A person for whom TOTP is optional switches it off with their password (their other
    sessions end); wrong passwords count as failed logins."""
    user = _user_by_id_for_update(session, user_id)
    if user.totp_required:
        raise AccountError("code", "totp_required", "this role must keep two-factor login")
    check_current_password(session, user, password, session_id=actor.session_id)
    user.totp_secret = None
    user.totp_pending_secret = None
    user.totp_last_step = None
    _end_all_sessions(session, user.id, except_id=actor.session_id)
    _record(session, "accounts.totp.disabled", actor, target=user, username=user.username)
    return user


# ---------------------------------------------------------------------------------------------
# API tokens


def _token_role(partner: bool, role: Role | str | None, actor: Principal | None) -> Role:
    if partner:
        return Role.PARTNER
    if role is not None:
        try:
            parsed = parse_role(str(role))
        except ValueError as exc:
            raise AccountError("role", "unknown_role", str(exc)) from None
        if actor is not None and parsed is not actor.role and parsed is not Role.PARTNER:
            raise AccountError(
                "role", "foreign_role", "a token can act for your own role or for a partner only"
            )
        return parsed
    if actor is not None:
        return actor.role
    raise AccountError("role", "role_required", "say which role the token acts for (or partner)")


def _token_permissions(requested: Iterable[str], role: Role) -> list[str]:
    wanted = sorted({p.strip() for p in requested if p.strip()})
    if not wanted:
        raise AccountError("permissions", "no_permissions", "give at least one permission")
    unknown = [p for p in wanted if p not in PERMISSIONS]
    if unknown:
        raise AccountError(
            "permissions",
            "unknown_permission",
            f"unknown permission {unknown[0]!r}; known: {', '.join(sorted(PERMISSIONS))}",
        )
    allowed = permissions_of(role)
    beyond = [p for p in wanted if p not in allowed]
    if beyond:
        raise AccountError(
            "permissions",
            "not_granted",
            f"role {role.value} does not have {', '.join(beyond)}; "
            f"it has: {', '.join(sorted(allowed))}",
        )
    return wanted


def create_token(
    session: Session,
    *,
    name: str,
    permissions: Iterable[str],
    expires_in_days: int,
    actor: Principal | None,
    partner: bool = False,
    role: Role | str | None = None,
) -> tuple[ApiToken, str]:
    """A new API token; the raw token is returned once and only its hash is kept.

    The token acts for a partner (``partner``) or for a role: the creating person's, or from the
    command line the given ``role``. Its permissions must be a subset of that role's.
    """
    _refuse_tokens(actor)
    label = name.strip()
    if not label or len(label) > 200:
        raise AccountError("name", "invalid_name", "token name must be 1-200 characters")
    limit = max_token_days()
    if not 1 <= expires_in_days <= limit:
        raise AccountError("expires_days", "invalid_expiry", f"expiry must be 1-{limit} days")
    token_role = _token_role(partner, role, actor)
    granted = _token_permissions(permissions, token_role)
    secret = tokens.new_token_secret()
    token = ApiToken(
        name=label,
        secret_hash=tokens.sha256_hex(secret),
        role=token_role,
        permissions=granted,
        created_by_id=actor.id if actor is not None and actor.kind == "user" else None,
        expires_at=utcnow() + timedelta(days=expires_in_days),
    )
    session.add(token)
    session.flush()
    _record(
        session,
        "accounts.token.created",
        actor,
        target=token,
        name=label,
        role=token_role.value,
        permissions=granted,
        expires_at=token.expires_at.isoformat(),
    )
    return token, tokens.format_token(token.id, secret)


def _revoke_personal_tokens(session: Session, user: User, actor: Principal | None) -> None:
    """A person's tokens (those acting for their role) die with the person's access."""
    personal = session.scalars(
        select(ApiToken).where(
            ApiToken.created_by_id == user.id,
            ApiToken.role != Role.PARTNER,
            ApiToken.revoked_at.is_(None),
        )
    )
    for token in personal:
        token.revoked_at = utcnow()
        _record(
            session,
            "accounts.token.revoked",
            actor,
            target=token,
            name=token.name,
            reason="creator_disabled",
        )


def find_token(session: Session, token_id: str) -> ApiToken | None:
    return session.get(ApiToken, token_id.strip())


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc())))


def revoke_token(session: Session, token_id: str, actor: Principal | None) -> None:
    """Revoke a token at once; revoking a revoked token changes nothing."""
    _refuse_tokens(actor)
    token = session.get(ApiToken, token_id.strip())
    if token is None:
        raise AccountError("token_id", "unknown_token", f"no API token with id {token_id!r}")
    if token.revoked_at is not None:
        return
    token.revoked_at = utcnow()
    _record(session, "accounts.token.revoked", actor, target=token, name=token.name)


def resolve_token(session: Session, raw_token: str) -> Principal:
    """The machine client behind a raw token; raises :class:`TokenError` when it cannot be used."""
    parsed = tokens.parse_token(raw_token)
    if parsed is None:
        raise TokenError("unknown")
    token = session.get(ApiToken, parsed.token_id)
    if token is None or not tokens.digest_matches(token.secret_hash, parsed.secret):
        raise TokenError("unknown")
    if token.revoked_at is not None:
        raise TokenError("revoked")
    now = utcnow()
    if effective_expiry(token) <= now:
        raise TokenError("expired")
    # Narrowed by the role's current grants, should the table have changed since.
    granted = frozenset(token.permissions) & permissions_of(token.role)
    if token.role is not Role.PARTNER and token.created_by_id is not None:
        # A person's token never does more than that person can do now.
        creator = session.get(User, token.created_by_id)
        if creator is None or creator.disabled:
            raise TokenError("revoked")
        granted &= permissions_of(creator.role)
    stale = token.last_used_at is None or now - as_utc(token.last_used_at) >= LAST_USED_RESOLUTION
    return Principal(
        kind="token",
        id=token.id,
        name=token.name,
        role=token.role,
        permissions=granted,
        extra={"last_used_stale": stale},
    )


def note_token_use(session: Session, token_id: str) -> None:
    """Record when a token was last used, at most once a minute.

    Kept apart from :func:`resolve_token` so that telling who is asking stays a read: on SQLite a
    read that turns into a write cannot wait for the lock and fails instead.
    """
    now = utcnow()
    session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id)
        .where(
            or_(
                ApiToken.last_used_at.is_(None),
                ApiToken.last_used_at < now - LAST_USED_RESOLUTION,
            )
        )
        .values(last_used_at=now)
    )


def token_status(token: ApiToken) -> str:
    """``active``, ``expired`` or ``revoked``."""
    if token.revoked_at is not None:
        return "revoked"
    if effective_expiry(token) <= utcnow():
        return "expired"
    return "active"


def effective_expiry(token: ApiToken) -> datetime:
    """When a token stops working: its own expiry, but never later than the current
    ``OPSCHUB_TOKEN_MAX_DAYS`` after its creation, so lowering the cap also shortens tokens made
    before (for example the ten-year tokens older versions allowed)."""
    capped = as_utc(token.created_at) + timedelta(days=max_token_days())
    return min(as_utc(token.expires_at), capped)


# ---------------------------------------------------------------------------------------------
# oversight


def credential_changes(session: Session, days: int) -> list[AuditEvent]:
    """Every change of credentials, roles and tokens of the last ``days`` days, oldest first:
    what a weekly review reads (``opschub user summary``)."""
    if not 1 <= days <= 366:
        raise AccountError("days", "invalid_days", "days must be 1-366")
    since = utcnow() - timedelta(days=days)
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action.in_(CREDENTIAL_ACTIONS), AuditEvent.occurred_at >= since)
            .order_by(AuditEvent.seq)
        )
    )
