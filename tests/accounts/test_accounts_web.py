"""Login, TOTP, logout, forced password change and the administrators' pages, through HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from factories import PASSWORD, create_user, csrf_token, logged_in_client, login, totp_code
from opschub import clock, config
from opschub.accounts import service
from opschub.accounts.permissions import Role, permissions_of
from opschub.db import Database
from opschub.web.auth import SESSION_COOKIE


def post_form(client: TestClient, path: str, page: str, data: dict[str, str]) -> object:
    """POST a form with the CSRF token of ``page`` (the page it was shown on)."""
    return client.post(path, data={**data, "csrf_token": csrf_token(page)}, follow_redirects=False)


def submit_login(client: TestClient, username: str, password: str, **params: str):  # type: ignore[no-untyped-def]
    page = client.get("/login", params=params).text
    return client.post(
        "/login",
        params=params,
        data={"username": username, "password": password, "csrf_token": csrf_token(page)},
        follow_redirects=False,
    )


def same_page(one: str, other: str) -> bool:
    """The same page but for the form's CSRF token, which is new on every page."""
    return _CSRF_VALUE.sub("", one) == _CSRF_VALUE.sub("", other)


_CSRF_VALUE = re.compile(r'name="csrf_token" value="[^"]*"')


@pytest.fixture
def max_failures(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("OPSCHUB_LOGIN_MAX_FAILURES", "3")
    config.get_settings.cache_clear()
    return 3


# --- login page and session cookie --------------------------------------------------------------


def test_login_page_in_both_languages_sets_no_cookie(client: TestClient) -> None:
    en = client.get("/login")
    assert en.status_code == 200 and "Staff login" in en.text
    zh = client.get("/login?lang=zh-Hans")
    assert "工作人员登录" in zh.text and "用户名" in zh.text
    assert 'action="/login?lang=zh-Hans"' in zh.text  # the chosen language is kept
    assert "set-cookie" not in en.headers and "set-cookie" not in zh.headers


def test_login_sets_a_strict_http_only_session_cookie(
    client: TestClient, database: Database
) -> None:
    user, password = create_user(database, Role.CASE_WORKER)  # a role without two-factor
    response = submit_login(client, user.username, password)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert f"Max-Age={config.get_settings().session_hours * 3600}" in cookie
    assert "Secure" not in cookie  # plain http
    me = client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["name"] == user.username and me.json()["role"] == "case_worker"


def test_cookie_is_secure_under_https(monkeypatch: pytest.MonkeyPatch, database: Database) -> None:
    from opschub.web.app import create_app

    monkeypatch.setenv("OPSCHUB_BASE_URL", "https://hotline.example.org")
    config.get_settings.cache_clear()
    user, password = create_user(database, Role.ANALYST)
    app = create_app(config.get_settings(), database)
    with TestClient(app, base_url="https://testserver") as client:
        response = submit_login(client, user.username, password)
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]


def test_wrong_password_is_refused_without_cookie(client: TestClient, database: Database) -> None:
    user, _ = create_user(database, Role.ANALYST)
    response = submit_login(client, user.username, "wrong password 1234")
    assert response.status_code == 400
    assert "Wrong username or password." in response.text
    assert "set-cookie" not in response.headers
    zh = submit_login(client, user.username, "wrong password 1234", lang="zh-Hans")
    assert "用户名或密码错误" in zh.text
    assert client.get("/api/v1/me").status_code == 401


def test_lock_out_after_repeated_failures(
    client: TestClient, database: Database, max_failures: int
) -> None:
    user, password = create_user(database, Role.ANALYST)
    for _ in range(max_failures - 1):
        assert (
            "Wrong username or password."
            in submit_login(client, user.username, "nope 12345678").text
        )
    wrong = submit_login(client, user.username, "nope 12345678")
    locked = submit_login(client, user.username, "nope 12345678")
    # The lock-out is not announced: the answer is the one for a wrong password.
    assert locked.status_code == 400 and same_page(locked.text, wrong.text)
    still = submit_login(client, user.username, password)
    assert still.status_code == 400 and same_page(still.text, wrong.text)
    with database.transaction() as session:
        assert service.require_user(session, user.username).locked_until is not None
    minutes = config.get_settings().login_lockout_minutes
    with clock.frozen(clock.utcnow() + timedelta(minutes=minutes, seconds=1)):
        assert submit_login(client, user.username, password).status_code == 303


def test_next_is_followed_only_within_the_site(client: TestClient, database: Database) -> None:
    user, password = create_user(database, Role.AUDITOR)
    for next_path, expected in (
        ("/account", "/account"),
        ("/account?done=password", "/account?done=password"),
        ("//evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("/\\evil.example", "/"),
        ("http://x", "/"),
    ):
        page = client.get("/login", params={"next": next_path}).text
        response = client.post(
            "/login",
            data={
                "username": user.username,
                "password": password,
                "next": next_path,
                "csrf_token": csrf_token(page),
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == expected


def test_a_page_needing_login_redirects_to_login(client: TestClient) -> None:
    response = client.get("/account", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


# --- CSRF and logout ----------------------------------------------------------------------------


def test_login_form_without_csrf_token_is_refused(client: TestClient, database: Database) -> None:
    user, password = create_user(database, Role.ANALYST)
    missing = client.post("/login", data={"username": user.username, "password": password})
    assert missing.status_code == 403
    forged = client.post(
        "/login", data={"username": user.username, "password": password, "csrf_token": "a.1.2.3"}
    )
    assert forged.status_code == 403
    assert "set-cookie" not in missing.headers and "set-cookie" not in forged.headers


def test_logout_ends_the_session(client: TestClient, database: Database) -> None:
    user, password = create_user(database, Role.CASE_WORKER)
    login(client, user.username, password)
    old_cookie = client.cookies[SESSION_COOKIE]
    page = client.get("/account").text
    assert client.post("/logout", follow_redirects=False).status_code == 403  # no CSRF token
    response = post_form(client, "/logout", page, {})
    assert response.status_code == 303 and response.headers["location"] == "/login"  # type: ignore[attr-defined]
    assert f'{SESSION_COOKIE}=""' in response.headers["set-cookie"]  # type: ignore[attr-defined]
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, old_cookie)
    assert client.get("/api/v1/me").status_code == 401


# --- TOTP ---------------------------------------------------------------------------------------


def test_admin_without_totp_is_sent_to_set_it_up(client: TestClient, database: Database) -> None:
    admin, password = create_user(database, Role.ADMIN, totp=False)
    assert login(client, admin.username, password) == "/account/totp"
    blocked = client.get("/admin/users", follow_redirects=False)
    assert blocked.status_code == 303 and blocked.headers["location"] == "/account/totp"
    page = client.get("/account/totp").text
    secret = "".join(re.search(r'class="mono receipt">([A-Z2-7 ]+)<', page).group(1).split())  # type: ignore[union-attr]
    assert f"otpauth://totp/opschub:{admin.username}?secret={secret}" in page.replace("&amp;", "&")
    wrong = post_form(client, "/account/totp", page, {"code": "000000"})
    assert wrong.status_code == 400 and "The code is wrong" in wrong.text  # type: ignore[attr-defined]
    done = post_form(
        client, "/account/totp", page, {"code": totp_code(database, admin.username, secret)}
    )
    assert done.headers["location"] == "/account?done=totp"  # type: ignore[attr-defined]
    assert client.get("/admin/users").status_code == 200


def test_admin_with_totp_must_enter_a_code(
    client: TestClient, database: Database, max_failures: int
) -> None:
    admin, password = create_user(database, Role.ADMIN)
    assert admin.totp_secret is not None
    response = submit_login(client, admin.username, password)
    assert response.headers["location"] == "/login/totp"
    for path in ("/admin/users", "/account/totp", "/account/password"):
        blocked = client.get(path, follow_redirects=False)
        assert blocked.headers["location"] == "/login/totp", path  # no way around the code
    page = client.get("/login/totp").text
    wrong = post_form(client, "/login/totp", page, {"code": "000000"})
    assert wrong.status_code == 400 and "The code is wrong" in wrong.text  # type: ignore[attr-defined]
    with database.transaction() as session:
        assert service.require_user(session, admin.username).failed_logins == 1
    right = post_form(
        client,
        "/login/totp",
        page,
        {"code": totp_code(database, admin.username, admin.totp_secret)},
    )
    assert right.headers["location"] == "/"  # type: ignore[attr-defined]
    assert client.get("/admin/users").status_code == 200


def test_wrong_codes_lock_out_and_log_out(
    client: TestClient, database: Database, max_failures: int
) -> None:
    admin, password = create_user(database, Role.ADMIN)
    submit_login(client, admin.username, password)
    page = client.get("/login/totp").text
    for _ in range(max_failures - 1):
        post_form(client, "/login/totp", page, {"code": "000000"})
    locked = post_form(client, "/login/totp", page, {"code": "000000"})
    assert locked.status_code == 400 and "the account is locked" in locked.text  # type: ignore[attr-defined]
    assert client.get("/api/v1/me").status_code == 401


def test_optional_totp_for_a_case_worker(client: TestClient, database: Database) -> None:
    user, password = create_user(database, Role.CASE_WORKER)
    assert login(client, user.username, password) == "/"
    page = client.get("/account/totp").text
    secret = "".join(re.search(r'class="mono receipt">([A-Z2-7 ]+)<', page).group(1).split())  # type: ignore[union-attr]
    post_form(client, "/account/totp", page, {"code": totp_code(database, user.username, secret)})
    client.cookies.clear()
    assert login(client, user.username, password, totp_secret=secret) == "/"
    account = client.get("/account").text
    off = post_form(client, "/account/totp/disable", account, {"password": password})
    assert off.headers["location"] == "/account?done=totp_off"  # type: ignore[attr-defined]


# --- forced password change ---------------------------------------------------------------------


def test_first_login_forces_a_password_change(client: TestClient, database: Database) -> None:
    with database.transaction() as session:
        _user, one_time = service.create_user(session, username="newcomer", role="case_worker")
    assert one_time is not None
    assert login(client, "newcomer", one_time) == "/account/password"
    blocked = client.get("/account", follow_redirects=False)
    assert blocked.headers["location"] == "/account/password"
    assert client.get("/api/v1/me").status_code == 403
    page = client.get("/account/password").text
    assert "one-time password" in page

    def change(new: str, confirm: str | None = None):  # type: ignore[no-untyped-def]
        return post_form(
            client,
            "/account/password",
            page,
            {"current_password": one_time, "new_password": new, "confirm_password": confirm or new},
        )

    weak = change("newcomer-2026-ok")
    assert weak.status_code == 400 and "must not be or contain the username" in weak.text
    assert 'aria-invalid="true"' in weak.text
    assert change("abcdefghijklmnop").status_code == 400
    assert "The two new passwords differ." in change("A good new password 1", "other").text
    done = change("A good new password 1")
    assert done.headers["location"] == "/account?done=password"
    assert "Your password has been changed." in client.get("/account?done=password").text
    assert client.get("/api/v1/me").json()["permissions"] == sorted(
        permissions_of(Role.CASE_WORKER)
    )


# --- administrators' pages ----------------------------------------------------------------------


@pytest.fixture
def admin_client(app: FastAPI, database: Database) -> Iterator[TestClient]:
    with logged_in_client(app, database, Role.ADMIN) as client:
        yield client


def test_users_page_is_for_administrators_only(app: FastAPI, database: Database) -> None:
    with logged_in_client(app, database, Role.SENIOR_ANALYST) as analyst:
        assert analyst.get("/admin/users").status_code == 403
        assert analyst.get("/admin/tokens").status_code == 403


def test_admin_adds_disables_and_resets_users(
    admin_client: TestClient, client: TestClient, database: Database
) -> None:
    added = admin_client.post(
        "/admin/users", data={"username": "erin", "display_name": "Erin", "role": "case_worker"}
    )
    assert added.status_code == 200
    one_time = re.search(r'id="one-time-password">([^<]+)<', added.text).group(1)  # type: ignore[union-attr]
    duplicate = admin_client.post("/admin/users", data={"username": "erin", "role": "analyst"})
    assert duplicate.status_code == 400 and "already exists" in duplicate.text
    unknown = admin_client.post("/admin/users", data={"username": "fay", "role": "boss"})
    assert unknown.status_code == 400 and "Unknown role." in unknown.text
    assert login(client, "erin", one_time) == "/account/password"

    with database.transaction() as session:
        erin = service.require_user(session, "erin")
    admin_client.post(f"/admin/users/{erin.id}/role", data={"role": "auditor"})
    admin_client.post(f"/admin/users/{erin.id}/disable")
    with database.transaction() as session:
        erin = service.require_user(session, "erin")
        assert erin.disabled and erin.role is Role.AUDITOR
    assert client.get("/api/v1/me").status_code == 401  # disabling ended her session
    admin_client.post(f"/admin/users/{erin.id}/enable")
    reset = admin_client.post(f"/admin/users/{erin.id}/reset-password")
    new_one_time = re.search(r'id="one-time-password">([^<]+)<', reset.text).group(1)  # type: ignore[union-attr]
    assert new_one_time != one_time
    assert login(client, "erin", new_one_time) == "/account/password"


def test_admin_cannot_disable_the_last_administrator(admin_client: TestClient) -> None:
    admin = admin_client.user  # type: ignore[attr-defined]
    response = admin_client.post(f"/admin/users/{admin.id}/disable")
    assert response.status_code == 400 and "last administrator" in response.text


def test_admin_page_in_chinese(admin_client: TestClient) -> None:
    page = admin_client.get("/admin/users?lang=zh-Hans").text
    assert "添加用户" in page and "管理员" in page


# --- API tokens ---------------------------------------------------------------------------------


def _create_token(admin_client: TestClient, **form: object) -> str:
    response = admin_client.post("/admin/tokens", data=form)
    assert response.status_code == 200, response.text
    return re.search(r'id="api-token">([^<]+)<', response.text).group(1)  # type: ignore[union-attr]


def test_partner_token_from_the_page_is_shown_once_scoped_and_revocable(
    admin_client: TestClient, client: TestClient, database: Database
) -> None:
    raw = _create_token(
        admin_client,
        name="Example ISP",
        acts_for="partner",
        permission=["reports.submit"],
        expires_days="30",
    )
    listing = admin_client.get("/admin/tokens").text
    assert "Example ISP" in listing and raw not in listing
    bearer = {"authorization": f"Bearer {raw}"}
    me = client.get("/api/v1/me", headers=bearer).json()
    assert (
        me["kind"] == "token"
        and me["role"] == "partner"
        and me["permissions"] == ["reports.submit"]
    )
    assert client.get("/admin/users", headers=bearer).status_code == 403  # beyond its scope
    token_id = raw.split("_")[1]
    admin_client.post(f"/admin/tokens/{token_id}/revoke")
    revoked = client.get("/api/v1/me", headers=bearer)
    assert revoked.status_code == 401 and revoked.json()["detail"] == "API token revoked"


def test_token_expiry_through_the_api(admin_client: TestClient, client: TestClient) -> None:
    raw = _create_token(
        admin_client, name="short", acts_for="own", permission=["hashlists.read"], expires_days="1"
    )
    bearer = {"authorization": f"Bearer {raw}"}
    me = client.get("/api/v1/me", headers=bearer).json()
    assert me["role"] == "admin" and me["permissions"] == ["hashlists.read"]
    with clock.frozen(clock.utcnow() + timedelta(days=1, seconds=1)):
        expired = client.get("/api/v1/me", headers=bearer)
    assert expired.status_code == 401 and expired.json()["detail"] == "API token expired"
    unknown = client.get("/api/v1/me", headers={"authorization": "Bearer opschub_nope"})
    assert unknown.status_code == 401 and unknown.json()["detail"] == "API token unknown"


def test_token_form_errors_name_the_problem(admin_client: TestClient) -> None:
    beyond = admin_client.post(
        "/admin/tokens",
        data={
            "name": "x",
            "acts_for": "partner",
            "permission": ["users.manage"],
            "expires_days": "9",
        },
    )
    assert beyond.status_code == 400
    assert "A token may only have permissions of the role it acts for." in beyond.text
    none = admin_client.post("/admin/tokens", data={"name": "x", "acts_for": "partner"})
    assert "Choose at least one permission." in none.text
    days = admin_client.post(
        "/admin/tokens",
        data={
            "name": "x",
            "acts_for": "partner",
            "permission": "reports.submit",
            "expires_days": "x",
        },
    )
    assert "The expiry must be between 1 and 365 days." in days.text


def test_password_factory_default_is_valid() -> None:
    from opschub.accounts.passwords import check_password

    check_password(PASSWORD, "someone")


def test_language_preference_is_saved(client: TestClient, database: Database) -> None:
    user, password = create_user(database, Role.STATISTICIAN)
    login(client, user.username, password)
    page = client.get("/account").text
    response = post_form(client, "/account/language", page, {"language": "zh-Hans"})
    assert response.headers["location"] == "/account?done=language&lang=zh-Hans"  # type: ignore[attr-defined]
    assert client.get("/api/v1/me").json()["language"] == "zh-Hans"
    # The saved preference wins over the browser's Accept-Language, and ?lang= over both.
    english_browser = {"accept-language": "en-GB"}
    assert '<html lang="zh-Hans">' in client.get("/account", headers=english_browser).text
    assert '<html lang="en">' in client.get("/account?lang=en", headers=english_browser).text
    post_form(client, "/account/language", page, {"language": ""})
    assert client.get("/api/v1/me").json()["language"] is None
