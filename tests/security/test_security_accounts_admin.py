"""Attacks through administration (issue 8: findings 4 and 20).

A stolen API token must not mint lasting access, and an administrator must not be able to take
over a person's login unseen.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from factories import create_user, logged_in_client, login
from opschub import clock
from opschub.accounts import service
from opschub.accounts.errors import AccountError, TokenError
from opschub.accounts.permissions import Role
from opschub.cli import app as cli_app
from opschub.db import Database

ONE_TIME = re.compile(r'id="one-time-password">([^<]+)<')


def _admin_token(database: Database) -> str:
    """An administrator's token with every administrator permission (made on the server)."""
    with database.transaction() as session:
        _token, raw = service.create_token(
            session,
            name="admin automation",
            permissions=["users.manage", "audit.read"],
            expires_in_days=30,
            actor=None,
            role=Role.ADMIN,
        )
    return raw


# --- 4. tokens creating tokens ------------------------------------------------------------------


def test_a_token_cannot_create_tokens_or_manage_users(
    client: TestClient, database: Database
) -> None:
    bearer = {"authorization": f"Bearer {_admin_token(database)}"}
    victim, _ = create_user(database, Role.ANALYST)
    attempts = {
        "create token": client.post(
            "/admin/tokens",
            data={"name": "forever", "acts_for": "own", "permission": "users.manage"},
            headers=bearer,
        ),
        "add user": client.post(
            "/admin/users", data={"username": "mallory", "role": "admin"}, headers=bearer
        ),
        "reset password": client.post(f"/admin/users/{victim.id}/reset-password", headers=bearer),
        "list users": client.get("/admin/users", headers=bearer),
    }
    for label, answer in attempts.items():
        assert answer.status_code == 403, label
    with database.transaction() as session:
        assert len(service.list_tokens(session)) == 1
        assert service.find_user(session, "mallory") is None


def test_the_token_services_refuse_a_token_as_actor(database: Database) -> None:
    raw = _admin_token(database)
    with database.transaction() as session:
        principal = service.resolve_token(session, raw)
    with pytest.raises(AccountError) as refused, database.transaction() as session:
        service.create_token(
            session,
            name="child",
            permissions=["audit.read"],
            expires_in_days=1,
            actor=principal,
        )
    assert refused.value.code == "token_not_allowed"


def test_token_lifetime_is_capped_by_the_setting(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opschub import config

    with pytest.raises(AccountError) as ten_years, database.transaction() as session:
        service.create_token(
            session,
            name="ten years",
            permissions=["reports.submit"],
            expires_in_days=3650,
            actor=None,
            partner=True,
        )
    assert ten_years.value.code == "invalid_expiry"
    monkeypatch.setenv("OPSCHUB_TOKEN_MAX_DAYS", "30")
    config.get_settings.cache_clear()
    with pytest.raises(AccountError), database.transaction() as session:
        service.create_token(
            session,
            name="too long",
            permissions=["reports.submit"],
            expires_in_days=31,
            actor=None,
            partner=True,
        )


def test_a_ten_year_token_made_before_the_cap_expires_by_the_cap(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opschub import config

    with database.transaction() as session:
        token, raw = service.create_token(
            session,
            name="old",
            permissions=["reports.submit"],
            expires_in_days=300,
            actor=None,
            partner=True,
        )
    monkeypatch.setenv("OPSCHUB_TOKEN_MAX_DAYS", "30")
    config.get_settings.cache_clear()
    with clock.frozen(clock.utcnow() + timedelta(days=31)), database.transaction() as session:
        with pytest.raises(TokenError) as expired:
            service.resolve_token(session, raw)
        assert service.token_status(service.find_token(session, token.id)) == "expired"  # type: ignore[arg-type]
    assert expired.value.reason == "expired"


def test_a_persons_token_dies_with_its_creator(app: FastAPI, database: Database) -> None:
    with logged_in_client(app, database, Role.ADMIN) as admin:
        creator = admin.user  # type: ignore[attr-defined]
        created = admin.post(
            "/admin/tokens",
            data={
                "name": "my script",
                "acts_for": "own",
                "permission": "audit.read",
                "expires_days": "30",
            },
        )
        raw = re.search(r'id="api-token">([^<]+)<', created.text).group(1)  # type: ignore[union-attr]
    create_user(database, Role.ADMIN)  # so that the creator is not the last administrator
    with database.transaction() as session:
        service.set_disabled(session, creator.id, True, None)
        service.set_disabled(session, creator.id, False, None)  # back again, but ...
    with pytest.raises(TokenError) as gone, database.transaction() as session:
        service.resolve_token(session, raw)
    assert gone.value.reason == "revoked"  # ... the token stays revoked


# --- 20. an administrator resetting a person's login --------------------------------------------


def test_a_reset_is_shown_to_its_person_until_acknowledged(
    app: FastAPI, client: TestClient, database: Database
) -> None:
    analyst, _ = create_user(database, Role.CASE_WORKER)
    with logged_in_client(app, database, Role.ADMIN, username="root-admin") as admin:
        reset = admin.post(f"/admin/users/{analyst.id}/reset-password")
        one_time = ONE_TIME.search(reset.text).group(1)  # type: ignore[union-attr]
    assert login(client, analyst.username, one_time) == "/account/password"
    page = client.get("/account/password").text
    changed = client.post(
        "/account/password",
        data={
            "current_password": one_time,
            "new_password": "A brand new passphrase 7",
            "confirm_password": "A brand new passphrase 7",
            "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),  # type: ignore[union-attr]
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303
    # Nothing else opens until the person has read who reset their login.
    blocked = client.get("/account", follow_redirects=False)
    assert blocked.status_code == 303 and blocked.headers["location"] == "/account/notice"
    assert client.get("/api/v1/me").status_code == 403
    notice = client.get("/account/notice")
    assert "root-admin" in notice.text and "reset your password" in notice.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', notice.text).group(1)  # type: ignore[union-attr]
    client.post("/account/notice", data={"csrf_token": token})
    assert client.get("/account").status_code == 200


def test_credential_changes_of_the_week_are_summarised(database: Database) -> None:
    admin, _ = create_user(database, Role.ADMIN)
    analyst, _ = create_user(database, Role.ANALYST)
    with database.transaction() as session:
        actor = service.user_principal(admin)
        service.reset_password(session, analyst.id, actor)
    with database.transaction() as session:
        events = service.credential_changes(session, 7)
        resets = [e for e in events if e.action == "accounts.password.reset"]
    assert len(resets) == 1 and resets[0].actor_label == admin.username
    assert resets[0].target_id == analyst.id
    with clock.frozen(clock.utcnow() + timedelta(days=8)), database.transaction() as session:
        assert service.credential_changes(session, 7) == []
    result = CliRunner().invoke(cli_app, ["user", "summary", "--days", "7", "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert "accounts.password.reset" in [e["action"] for e in summary["events"]]
    text = CliRunner().invoke(cli_app, ["user", "summary"])
    assert text.exit_code == 0 and "accounts.password.reset" in text.stdout
    bad = CliRunner().invoke(cli_app, ["user", "summary", "--days", "0"])
    assert bad.exit_code == 2
