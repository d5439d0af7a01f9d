"""Safer administration (issue 9, item 5): confirmation pages, least powerful defaults, the QR
code, two-factor per role, and re-authentication ("sudo mode")."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from factories import create_user, csrf_token, logged_in_client, login
from opschub import clock, config
from opschub.accounts import service
from opschub.accounts.models import User
from opschub.accounts.permissions import ROLE_PERMISSIONS, Role
from opschub.db import Database


@pytest.fixture
def admin(app: FastAPI, database: Database) -> Iterator[TestClient]:
    with logged_in_client(app, database, Role.ADMIN) as client:
        yield client


def _stale(minutes: int | None = None) -> clock.frozen:  # type: ignore[name-defined]
    """A moment when the session's password entry is no longer recent (but not idle-expired)."""
    later = (minutes or config.get_settings().reauth_minutes) + 1
    return clock.frozen(clock.utcnow() + timedelta(minutes=later))


def _user(database: Database, user_id: str) -> User:
    with database.transaction() as session:
        return service.get_user(session, user_id)


# --- one confirmation pattern -------------------------------------------------------------------


@pytest.mark.parametrize("action", ["disable", "reset-password", "reset-totp"])
def test_destructive_user_actions_ask_on_a_page_of_their_own(
    admin: TestClient, database: Database, action: str
) -> None:
    person, _ = create_user(database, Role.ANALYST)  # has two-factor: reset-totp is offered
    listing = admin.get("/admin/users").text
    path = f"/admin/users/{person.id}/{action}"
    assert f'href="{path}"' in listing  # a link to the confirmation page, not a POST button
    page = admin.get(path)
    assert page.status_code == 200
    assert person.username in page.text and "<script" not in page.text
    assert f'<form method="post" action="{path}">' in page.text
    assert 'href="/admin/users"' in page.text  # cancel changes nothing
    assert _user(database, person.id).disabled is False
    assert not _user(database, person.id).must_change_password


def test_confirmed_disable_happens(admin: TestClient, database: Database) -> None:
    person, _ = create_user(database, Role.CASE_WORKER)
    page = admin.get(f"/admin/users/{person.id}/disable").text
    done = admin.post(
        f"/admin/users/{person.id}/disable",
        data={"csrf_token": csrf_token(page)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and _user(database, person.id).disabled


def test_role_change_is_confirmed_with_the_new_role(admin: TestClient, database: Database) -> None:
    person, _ = create_user(database, Role.CASE_WORKER)
    page = admin.get(f"/admin/users/{person.id}/role", params={"role": "statistician"}).text
    assert "Statistician" in page and 'name="role" value="statistician"' in page
    assert _user(database, person.id).role is Role.CASE_WORKER
    admin.post(f"/admin/users/{person.id}/role", data={"role": "statistician"})
    assert _user(database, person.id).role is Role.STATISTICIAN
    unknown = admin.get(f"/admin/users/{person.id}/role", params={"role": "boss"})
    assert unknown.status_code == 400 and "Unknown role." in unknown.text


def test_token_revocation_is_confirmed(admin: TestClient, database: Database) -> None:
    with database.transaction() as session:
        token, raw = service.create_token(
            session,
            name="Example ISP",
            permissions=["reports.submit"],
            expires_in_days=5,
            actor=None,
            partner=True,
        )
    listing = admin.get("/admin/tokens").text
    assert f'href="/admin/tokens/{token.id}/revoke"' in listing
    page = admin.get(f"/admin/tokens/{token.id}/revoke")
    assert page.status_code == 200 and "Example ISP" in page.text
    with database.transaction() as session:
        assert service.resolve_token(session, raw).name == "Example ISP"
    assert admin.get(f"/admin/tokens/{'0' * 26}/revoke").status_code == 404


def test_the_confirmation_page_is_translated(admin: TestClient, database: Database) -> None:
    person, _ = create_user(database, Role.CASE_WORKER)
    page = admin.get(f"/admin/users/{person.id}/disable?lang=zh-Hans").text
    assert f"停用 {person.username}？" in page and "取消" in page
    assert 'action="/admin/users/' in page and "lang=zh-Hans" in page


# --- least powerful defaults --------------------------------------------------------------------


def test_adding_a_user_preselects_the_least_powerful_role(admin: TestClient) -> None:
    form = admin.get("/admin/users").text
    new_role = form[form.index('id="new-role"') :]
    new_role = new_role[: new_role.index("</select>")]
    selected = re.findall(r'<option value="([a-z_]+)" selected>', new_role)
    assert selected == [service.LEAST_POWERFUL_ROLE.value] and selected != ["admin"]
    # It reads no reporter's data and changes nothing that others rely on.
    assert "reports.read" not in ROLE_PERMISSIONS[service.LEAST_POWERFUL_ROLE]


def test_a_new_token_acts_for_a_partner_by_default(admin: TestClient) -> None:
    form = admin.get("/admin/tokens").text
    assert '<input type="radio" name="acts_for" value="partner" checked>' in form
    assert 'value="own" checked' not in form
    assert f'max="{config.get_settings().token_max_days}"' in form


# --- the QR code and two-factor per role --------------------------------------------------------


def test_totp_setup_shows_a_server_made_qr_code(client: TestClient, database: Database) -> None:
    person, password = create_user(database, Role.CASE_WORKER)
    login(client, person.username, password)
    page = client.get("/account/totp").text
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert 'class="qr"' in svg and "<path" in svg
    assert "http" not in svg and "<script" not in svg  # nothing fetched, nothing run


def test_roles_that_read_reporters_data_must_use_two_factor_by_default() -> None:
    expected = {Role.ADMIN.value} | {
        role.value
        for role, granted in ROLE_PERMISSIONS.items()
        if "reports.read" in granted and role is not Role.PARTNER
    }
    assert set(config.get_settings().totp_required_roles) == expected


def test_an_analyst_without_two_factor_must_set_it_up(
    client: TestClient, database: Database
) -> None:
    analyst, password = create_user(database, Role.ANALYST, totp=False)
    assert login(client, analyst.username, password) == "/account/totp"
    assert client.get("/api/v1/me").status_code == 403


def test_two_factor_roles_follow_the_setting(
    client: TestClient, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSCHUB_TOTP_REQUIRED_ROLES", "admin, case_worker")
    config.get_settings.cache_clear()
    analyst, password = create_user(database, Role.ANALYST, totp=False)
    assert login(client, analyst.username, password) == "/"
    monkeypatch.setenv("OPSCHUB_TOTP_REQUIRED_ROLES", "analyst")
    config.get_settings.cache_clear()
    with pytest.raises(config.SettingsError, match="OPSCHUB_TOTP_REQUIRED_ROLES"):
        config.load_settings()
    monkeypatch.setenv("OPSCHUB_TOTP_REQUIRED_ROLES", "admin,boss")
    with pytest.raises(config.SettingsError, match="unknown role 'boss'"):
        config.load_settings()


# --- re-authentication --------------------------------------------------------------------------


def test_admin_actions_need_a_recent_password(admin: TestClient, database: Database) -> None:
    person, _ = create_user(database, Role.CASE_WORKER)
    path = f"/admin/users/{person.id}/disable"
    with _stale():
        page = admin.get(path, follow_redirects=False)
        post = admin.post(path, follow_redirects=False)
        token = admin.post(
            "/admin/tokens",
            data={"name": "x", "acts_for": "partner", "permission": "reports.submit"},
            follow_redirects=False,
        )
    for answer in (page, post):
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/account/reauth?next={quote(path, safe='')}"
    assert token.headers["location"] == "/account/reauth?next=%2Fadmin%2Ftokens"
    assert not _user(database, person.id).disabled
    with database.transaction() as session:
        assert service.list_tokens(session) == []


def test_reauthentication_returns_to_the_page_and_counts_failures(
    admin: TestClient, database: Database
) -> None:
    person, _ = create_user(database, Role.CASE_WORKER)
    path = f"/admin/users/{person.id}/reset-password"
    username = admin.user.username  # type: ignore[attr-defined]
    with _stale():
        form = admin.get(f"/account/reauth?next={quote(path, safe='')}")
        assert form.status_code == 200 and 'type="password"' in form.text
        wrong = admin.post("/account/reauth", data={"password": "not it at all 1", "next": path})
        assert wrong.status_code == 400
        with database.transaction() as session:
            assert service.require_user(session, username).failed_logins == 1
        from factories import PASSWORD

        right = admin.post(
            "/account/reauth", data={"password": PASSWORD, "next": path}, follow_redirects=False
        )
        assert right.status_code == 303 and right.headers["location"] == path
        assert admin.get(path).status_code == 200  # the confirmation page, no more detours
