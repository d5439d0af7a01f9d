"""``opschub user`` and ``opschub token``: output, exit status, nothing written on errors."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from typer.testing import CliRunner

from factories import PASSWORD, create_user
from opschub.accounts import service
from opschub.accounts.models import ApiToken, User
from opschub.accounts.permissions import Role
from opschub.cli import app
from opschub.db import Database

runner = CliRunner()
ONE_TIME = re.compile(r"one-time password \(must be changed at first login\): (\S+)")


def run(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=stdin)


def users(database: Database) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(User)) or 0


def test_user_add_prints_a_one_time_password(database: Database) -> None:
    result = run("user", "add", "grace", "--role", "police_liaison", "--display-name", "Grace H")
    assert result.exit_code == 0, result.output
    assert "added user grace with role police_liaison" in result.stdout
    one_time = ONE_TIME.search(result.stdout).group(1)  # type: ignore[union-attr]
    with database.transaction() as session:
        login = service.authenticate(session, "grace", one_time)
    assert login.ok and login.user is not None and login.user.must_change_password
    assert login.user.display_name == "Grace H"


def test_user_add_with_password_from_stdin(database: Database) -> None:
    result = run(
        "user", "add", "heidi", "--role", "auditor", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    assert "one-time password" not in result.stdout
    with database.transaction() as session:
        assert service.authenticate(session, "heidi", PASSWORD).ok


def test_user_add_errors_are_one_line_and_write_nothing(database: Database) -> None:
    cases = [
        (["--role", "overlord"], None, "unknown role 'overlord'; known roles: admin"),
        (["--role", "partner"], None, "the partner role is for API tokens only"),
        (["--role", "analyst", "--password-stdin"], "short\n", "at least 12 characters"),
        (["--role", "analyst", "--password-stdin"], "ivan-and-more-1\n", "contain the username"),
        (["--role", "analyst", "--password-stdin"], "\n", "no password on standard input"),
    ]
    for options, stdin, message in cases:
        result = run("user", "add", "ivan", *options, stdin=stdin)
        assert result.exit_code == 2, (options, result.output)
        assert message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert users(database) == 0


def test_duplicate_and_unknown_users(database: Database) -> None:
    create_user(database, Role.ANALYST, username="judy")
    duplicate = run("user", "add", "judy", "--role", "analyst")
    assert duplicate.exit_code == 2 and "a user named 'judy' already exists" in duplicate.stderr
    for command in ("disable", "enable", "reset-password", "reset-totp"):
        unknown = run("user", command, "nobody")
        assert unknown.exit_code == 1 and "no user named 'nobody'" in unknown.stderr
    assert users(database) == 1


def test_list_disable_and_reset_password(database: Database) -> None:
    create_user(database, Role.STATISTICIAN, username="ken", display_name="Ken")
    listing = run("user", "list")
    assert listing.exit_code == 0 and "ken" in listing.stdout and "statistician" in listing.stdout
    assert run("user", "disable", "ken").stdout.strip() == "disabled user ken"
    assert "disabled" in run("user", "list").stdout
    reset = run("user", "reset-password", "ken")
    assert reset.exit_code == 0
    one_time = ONE_TIME.search(reset.stdout).group(1)  # type: ignore[union-attr]
    with database.transaction() as session:
        assert not service.authenticate(session, "ken", one_time).ok  # still disabled
    assert run("user", "enable", "ken").exit_code == 0
    with database.transaction() as session:
        assert service.authenticate(session, "ken", one_time).ok


def test_ensure_admin_is_idempotent(database: Database) -> None:
    first = run("user", "ensure-admin")
    assert first.exit_code == 0 and "administrator: admin" in first.stdout
    assert ONE_TIME.search(first.stdout)
    second = run("user", "ensure-admin")
    assert second.exit_code == 0 and "nothing to do" in second.stdout
    assert users(database) == 1


def test_last_administrator_cannot_be_disabled(database: Database) -> None:
    run("user", "ensure-admin")
    result = run("user", "disable", "admin")
    assert result.exit_code == 2 and "last administrator" in result.stderr


def test_token_create_prints_the_token_once_and_revoke(database: Database) -> None:
    result = run(
        "token",
        "create",
        "Example ISP",
        "--permission",
        "reports.submit",
        "--partner",
        "--expires-days",
        "30",
    )
    assert result.exit_code == 0, result.output
    raw = result.stdout.strip()
    assert raw.startswith("opschub_") and len(result.stdout.strip().splitlines()) == 1
    assert "for partner with reports.submit" in result.stderr
    with database.transaction() as session:
        principal = service.resolve_token(session, raw)
    assert principal.role is Role.PARTNER
    listing = run("token", "list")
    assert principal.id in listing.stdout and raw not in listing.stdout
    revoked = run("token", "revoke", principal.id)
    assert revoked.exit_code == 0 and f"revoked token {principal.id}" in revoked.stdout
    with database.transaction() as session:
        assert service.list_tokens(session)[0].revoked_at is not None
    unknown = run("token", "revoke", "0" * 32)
    assert unknown.exit_code == 1 and "no API token" in unknown.stderr


def test_token_create_for_a_role_and_errors(database: Database) -> None:
    ok = run(
        "token",
        "create",
        "sync",
        "--permission",
        "reports.read",
        "--permission",
        "hashlists.read",
        "--role",
        "analyst",
    )
    assert ok.exit_code == 0, ok.output
    cases = [
        (["--permission", "reports.read"], "say which role the token acts for"),
        (["--permission", "reports.read", "--partner"], "role partner does not have reports.read"),
        (["--permission", "nope", "--role", "analyst"], "unknown permission 'nope'"),
        (["--permission", "reports.submit", "--partner", "--role", "analyst"], "not both"),
        (["--permission", "reports.submit", "--partner", "--expires-days", "0"], "expiry"),
    ]
    for options, message in cases:
        result = run("token", "create", "bad", *options)
        assert result.exit_code == 2, (options, result.output)
        assert message in result.stderr
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ApiToken)) == 1
