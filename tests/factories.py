"""Test helpers for people and logins, shared by every capability's tests.

user, password = create_user(database, Role.ANALYST)
actor = create_actor(database, Role.CASE_WORKER)  # a real account as a service sees it acting
officer = Person("officer", frozenset({"evidence.view"}))     # an actor for a service, no account
client = logged_in_client(app, database, Role.SENIOR_ANALYST)   # POSTs carry the CSRF token
location = login(client, user.username, password, totp_secret=user.totp_secret)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pyotp
from argon2 import PasswordHasher, profiles
from fastapi import FastAPI
from fastapi.testclient import TestClient

from opschub.accounts import passwords, service
from opschub.accounts.models import User
from opschub.accounts.permissions import Role, permissions_of
from opschub.accounts.principal import Principal
from opschub.clock import utcnow
from opschub.db import Database
from opschub.ids import new_id
from opschub.web.auth import SESSION_COOKIE
from opschub.web.csrf import HEADER as CSRF_HEADER

PASSWORD = "correct horse battery staple 42"
# Production argon2 parameters cost about a second per hash on a loaded CI machine; tests that
# use these helpers hash with the cheapest parameters instead.
FAST_HASHER = PasswordHasher.from_parameters(profiles.CHEAPEST)
passwords.use_hasher(FAST_HASHER)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Person:
    """A logged-in person as a service sees one (the shape of accounts' ``Principal``), for tests
    of a service that need no account; the id is made from the name."""

    name: str
    permissions: frozenset[str] = frozenset()
    kind: str = "user"

    @property
    def id(self) -> str:
        return self.name.ljust(32, "0")[:32]

    def can(self, permission: str) -> bool:
        return permission in self.permissions


def create_user(
    database: Database,
    role: Role | str,
    *,
    username: str | None = None,
    password: str = PASSWORD,
    totp: bool | None = None,
    display_name: str = "",
) -> tuple[User, str]:
    """A ready user (no forced password change). Administrators get TOTP set up unless
    ``totp=False``; the secret is ``user.totp_secret``."""
    role = Role(role)
    name = username or f"{role.value.replace('_', '-')}-{new_id()[-8:]}"
    with database.transaction() as session:
        user, _ = service.create_user(
            session, username=name, role=role, password=password, display_name=display_name
        )
        if totp if totp is not None else user.totp_required:
            secret = service.begin_totp_setup(session, user.id)
            service.confirm_totp_setup(session, user.id, None, pyotp.TOTP(secret).now())
    return user, password


def principal_of(user: User) -> Principal:
    """``user`` acting, as a service sees them: a ``Principal`` with their role's permissions
    (what a complete web session resolves to)."""
    role = Role(user.role)
    return Principal(
        kind="user", id=user.id, name=user.username, role=role, permissions=permissions_of(role)
    )


def create_actor(database: Database, role: Role | str = Role.CASE_WORKER) -> Principal:
    """A new user of ``role`` (no TOTP set up) as the ``Principal`` a service is given."""
    user, _password = create_user(database, role, totp=False)
    return principal_of(user)


def csrf_token(html: str) -> str:
    """The CSRF token of the first form in a page."""
    found = _CSRF.search(html)
    assert found, "no csrf_token field in the page"
    return found.group(1)


def totp_code(database: Database, username: str, secret: str) -> str:
    """A code the server will accept now: within the clock window and not used before."""
    with database.transaction() as session:
        user = service.require_user(session, username)
        last = user.totp_last_step
    totp = pyotp.TOTP(secret)
    now = utcnow()
    current = totp.timecode(now)
    # The current step first: it stays acceptable if a step boundary passes before the check.
    for step in (current, current + 1):
        if last is None or step > last:
            return totp.at(now + timedelta(seconds=(step - current) * totp.interval))
    raise AssertionError("the codes of this window have been used; wait 30 s")


def login(client: TestClient, username: str, password: str, totp_secret: str | None = None) -> str:
    """Log in through the forms; returns where the last step redirects (e.g. "/" or
    "/account/password"). Fails the test if a step is refused."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, f"login refused: {response.status_code}"
    location = response.headers["location"]
    if location.startswith("/login/totp"):
        assert totp_secret, f"{username} needs a TOTP code"
        page = client.get(location)
        database: Database = client.app.state.database  # type: ignore[attr-defined]
        response = client.post(
            "/login/totp",
            data={
                "code": totp_code(database, username, totp_secret),
                "csrf_token": csrf_token(page.text),
            },
            follow_redirects=False,
        )
        assert response.status_code == 303, f"TOTP refused: {response.status_code}"
        location = response.headers["location"]
    return location


def logged_in_client(
    app: FastAPI, database: Database, role: Role | str, *, username: str | None = None
) -> TestClient:
    """A client with a complete session of a new user of ``role`` (administrators: TOTP done).

    The session is opened directly (not through the forms) and the client sends the session's
    CSRF token in the ``X-CSRF-Token`` header, so POSTs need no token of their own. The user is
    ``client.user`` (an attribute set here)."""
    user, _password = create_user(database, role, username=username)
    with database.transaction() as session:
        raw, _row = service.start_session(session, user, totp_verified=True)
        principal = service.resolve_session(session, raw)
    assert principal is not None and principal.csrf_token is not None
    client = TestClient(app, base_url="http://testserver")
    client.cookies.set(SESSION_COOKIE, raw)
    client.headers[CSRF_HEADER] = principal.csrf_token
    client.user = user  # type: ignore[attr-defined]
    return client


def browser_login(page: Any, base_url: str, database: Database, user: User) -> None:
    """Give a Playwright page a complete session of ``user`` (second factor done), as
    :func:`logged_in_client` does for the test client; the login form has tests of its own."""
    with database.transaction() as session:
        raw, _row = service.start_session(session, user, totp_verified=True)
    page.context.add_cookies([{"name": SESSION_COOKIE, "value": raw, "url": base_url}])
