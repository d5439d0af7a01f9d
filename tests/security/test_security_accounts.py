"""Attacks on logins and sessions (issue 8: findings 1, 7, 14, 15, 16, 17).

Each test replays an attack that worked on the code before the fix and asserts on what the
attacker sees. Every test runs on SQLite and PostgreSQL (the ``database`` fixture).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from factories import create_user, csrf_token, logged_in_client, totp_code
from opschub import clock, config
from opschub.accounts import service
from opschub.accounts.permissions import Role
from opschub.audit.models import AuditEvent
from opschub.db import Database
from opschub.web.auth import SESSION_COOKIE

_CSRF_VALUE = re.compile(r'name="csrf_token" value="[^"]*"')


def _page(html: str) -> str:
    """A page without its CSRF token (new on every page), for comparing answers."""
    return _CSRF_VALUE.sub("", html)


def _login_post(client: TestClient, username: str, password: str):  # type: ignore[no-untyped-def]
    page = client.get("/login").text
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(page)},
        follow_redirects=False,
    )


def _locked(database: Database, username: str) -> bool:
    with database.transaction() as session:
        user = service.require_user(session, username)
        return user.locked_until is not None and user.locked_until > clock.utcnow()


@pytest.fixture
def max_failures(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("OPSCHUB_LOGIN_MAX_FAILURES", "3")
    config.get_settings.cache_clear()
    return 3


# --- 1. TOTP guessing --------------------------------------------------------------------------


def test_totp_guesses_between_correct_passwords_lock_the_account(
    client: TestClient, database: Database, max_failures: int
) -> None:
    """The attacker knows the password and guesses codes, logging in again before each guess so
    that a correct password would reset the count."""
    admin, password = create_user(database, Role.ADMIN)
    for _ in range(max_failures):
        client.cookies.clear()
        assert _login_post(client, admin.username, password).status_code == 303
        page = client.get("/login/totp").text
        client.post(
            "/login/totp",
            data={"code": "000000", "csrf_token": csrf_token(page)},
            follow_redirects=False,
        )
    assert _locked(database, admin.username)
    client.cookies.clear()
    assert _login_post(client, admin.username, password).status_code == 400


# --- 7. anonymous lock-out ---------------------------------------------------------------------


def test_a_stranger_locking_an_account_does_not_log_its_owner_out(
    app: FastAPI, client: TestClient, database: Database, max_failures: int
) -> None:
    with logged_in_client(app, database, Role.SENIOR_ANALYST) as owner:
        username = owner.user.username  # type: ignore[attr-defined]
        for _ in range(max_failures):
            _login_post(client, username, "a wrong guess 123")
        assert _locked(database, username)
        assert owner.get("/api/v1/me").status_code == 200  # still working


def test_login_answers_alike_for_unknown_disabled_locked_and_wrong(
    client: TestClient, database: Database, max_failures: int
) -> None:
    """The login page must not tell an attacker which names exist or are locked."""
    wrong_user, _ = create_user(database, Role.CASE_WORKER)
    disabled, password = create_user(database, Role.CASE_WORKER)
    locked, locked_password = create_user(database, Role.CASE_WORKER)
    with database.transaction() as session:
        service.set_disabled(session, disabled.id, True, None)
    for _ in range(max_failures):
        _login_post(client, locked.username, "a wrong guess 123")
    answers = {
        "wrong password": _login_post(client, wrong_user.username, "a wrong guess 123"),
        "unknown name": _login_post(client, "nobody-here", "a wrong guess 123"),
        "disabled": _login_post(client, disabled.username, password),
        "locked": _login_post(client, locked.username, locked_password),
    }
    reference = answers["wrong password"]
    assert reference.status_code == 400
    for label, answer in answers.items():
        assert answer.status_code == reference.status_code, label
        assert _page(answer.text) == _page(reference.text), label
        assert "set-cookie" not in answer.headers, label


def test_login_flood_from_one_client_is_throttled(client: TestClient, database: Database) -> None:
    user, _ = create_user(database, Role.CASE_WORKER)
    page = client.get("/login").text
    statuses = []
    for _ in range(60):
        response = client.post(
            "/login",
            data={
                "username": user.username,
                "password": "a wrong guess 123",
                "csrf_token": csrf_token(page),
            },
        )
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    assert statuses[:10] == [400] * 10  # people who mistype are not slowed down
    assert statuses[-1] == 429 and int(response.headers["retry-after"]) >= 1
    # A throttled attempt is not even checked (no password hashing, no failed-login event).
    with database.transaction() as session:
        checked = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "accounts.login.failed")
        )
    assert checked == len(statuses) - 1
    limiter = client.app.state.login_limiter  # type: ignore[attr-defined]
    assert all("testclient" not in key for key in limiter._buckets)  # only keyed hashes


# --- 14. current-password guesses and the authenticator -----------------------------------------


@pytest.mark.parametrize(
    ("path", "field"),
    [("/account/password", "current_password"), ("/account/totp/disable", "password")],
)
def test_guessing_the_current_password_in_a_stolen_session_locks_the_account(
    app: FastAPI, database: Database, max_failures: int, path: str, field: str
) -> None:
    user, _ = create_user(database, Role.CASE_WORKER, totp=True)
    # The thief holds the person's session (an unlocked screen).
    with database.transaction() as session:
        raw, _row = service.start_session(session, user, totp_verified=True)
        principal = service.resolve_session(session, raw)
    assert principal is not None and principal.csrf_token
    with TestClient(app) as thief:
        thief.cookies.set(SESSION_COOKIE, raw)
        thief.headers["x-csrf-token"] = principal.csrf_token
        data = {field: "a wrong guess 123", "new_password": "x", "confirm_password": "x"}
        answers = [thief.post(path, data=data, follow_redirects=False) for _ in range(max_failures)]
    assert _locked(database, user.username)
    assert answers[-1].status_code == 400
    # The guessing session has ended.
    with database.transaction() as session:
        assert service.resolve_session(session, raw) is None


def test_replacing_the_authenticator_needs_a_recently_entered_password(
    app: FastAPI, database: Database
) -> None:
    with logged_in_client(app, database, Role.CASE_WORKER) as client:
        minutes = config.get_settings().reauth_minutes
        with clock.frozen(clock.utcnow() + timedelta(minutes=minutes + 1)):
            page = client.get("/account/totp", follow_redirects=False)
            posted = client.post("/account/totp", data={"code": "123456"}, follow_redirects=False)
    for answer in (page, posted):
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/account/reauth?next=%2Faccount%2Ftotp")


# --- 15. control characters in the username -----------------------------------------------------


@pytest.mark.parametrize(
    "username", ["ad\x00min", "admin\x00", "\x07bell", "a" * 10_000, "ad\u202emin"]
)
def test_control_characters_and_overlong_names_are_a_failed_login(
    client: TestClient, database: Database, username: str
) -> None:
    create_user(database, Role.CASE_WORKER, username="admin")
    answer = _login_post(client, username, "a wrong guess 123")
    assert answer.status_code == 400
    assert "Wrong username or password." in answer.text


# --- 16. sessions: idle timeout and fixation ----------------------------------------------------


def test_an_idle_session_ends(app: FastAPI, database: Database) -> None:
    idle = config.get_settings().session_idle_minutes
    with logged_in_client(app, database, Role.CASE_WORKER) as client:
        start = clock.utcnow()
        # Activity keeps a session alive (its last-seen time is written at most once a minute)...
        with clock.frozen(start + timedelta(minutes=idle - 5)):
            assert client.get("/api/v1/me").status_code == 200
        with clock.frozen(start + timedelta(minutes=2 * idle - 10)):
            assert client.get("/api/v1/me").status_code == 200
        # ... and a session left alone longer than the idle time is over.
        with clock.frozen(start + timedelta(minutes=3 * idle)):
            assert client.get("/api/v1/me").status_code == 401


def test_a_cookie_planted_before_login_is_not_the_logged_in_session(
    client: TestClient, database: Database
) -> None:
    """Session fixation: the cookie of the half-done login (password only) must not become the
    logged-in session once the second factor succeeds."""
    admin, password = create_user(database, Role.ADMIN)
    assert _login_post(client, admin.username, password).status_code == 303
    planted = client.cookies[SESSION_COOKIE]
    page = client.get("/login/totp").text
    assert admin.totp_secret is not None
    done = client.post(
        "/login/totp",
        data={
            "code": totp_code(database, admin.username, admin.totp_secret),
            "csrf_token": csrf_token(page),
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert client.cookies[SESSION_COOKIE] != planted
    assert client.get("/admin/users").status_code == 200
    with database.transaction() as session:
        assert service.resolve_session(session, planted) is None


# --- 17. a bearer header must not switch CSRF off -----------------------------------------------


def test_a_junk_bearer_header_does_not_skip_csrf_on_anonymous_forms(
    client: TestClient, database: Database
) -> None:
    user, password = create_user(database, Role.CASE_WORKER)
    forged = client.post(
        "/login",
        data={"username": user.username, "password": password},
        headers={"authorization": "Bearer anything-at-all"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert "set-cookie" not in forged.headers


def test_a_real_token_still_needs_no_csrf_token(client: TestClient, database: Database) -> None:
    """A machine client sends no CSRF token; a cookie in its jar must not change that."""
    with database.transaction() as session:
        _token, raw = service.create_token(
            session,
            name="partner",
            permissions=["reports.submit"],
            expires_in_days=1,
            actor=None,
            partner=True,
        )
    client.cookies.set(SESSION_COOKIE, "left over from a browser")
    report = {"incident_types": ["csam"], "urls": ["https://example.org/a"]}
    answer = client.post(
        "/api/v1/reports",
        json={"reports": [report]},
        headers={"authorization": f"Bearer {raw}"},
    )
    assert answer.status_code == 202, answer.text
