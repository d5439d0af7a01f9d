"""``opschub user ...`` and ``opschub token ...``: accounts from the command line.

Each command runs in one transaction: on any error nothing is written, one line says what is
wrong, and the exit status is 2 for bad input or 1 when the user or token does not exist.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

user_app = typer.Typer(help="People who log in: add, list, disable, reset passwords.")
token_app = typer.Typer(help="API tokens for machine clients: create, list, revoke.")

NOT_FOUND_CODES = {"unknown_user", "unknown_token"}


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"opschub: error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def _transaction() -> Iterator[Session]:
    """One transaction; an AccountError becomes one line on stderr and a non-zero exit."""
    from opschub.accounts.errors import AccountError
    from opschub.db import get_database

    try:
        with get_database().transaction() as session:
            yield session
    except AccountError as exc:
        _fail(str(exc), 1 if exc.code in NOT_FOUND_CODES else 2)


def _read_password_stdin() -> str:
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        _fail("--password-stdin: no password on standard input", 2)
    return password


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="login name: a-z, digits, '.', '_', '-'")],
    role: Annotated[str, typer.Option("--role", help="one of the roles (see docs/accounts.md)")],
    display_name: Annotated[str, typer.Option("--display-name", help="full name")] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
) -> None:
    """Add a user; prints a one-time password (to change at first login) unless --password-stdin."""
    from opschub.accounts import service

    password = _read_password_stdin() if password_stdin else None
    with _transaction() as session:
        user, one_time = service.create_user(
            session, username=username, role=role, password=password, display_name=display_name
        )
        name, role_value = user.username, user.role.value
    typer.echo(f"added user {name} with role {role_value}")
    if one_time is not None:
        typer.echo(f"one-time password (must be changed at first login): {one_time}")


@user_app.command("list")
def user_list() -> None:
    """List users with their role and state."""
    from rich.console import Console
    from rich.table import Table

    from opschub.accounts import service

    table = Table("username", "name", "role", "state", "two-factor", "last login (UTC)")
    with _transaction() as session:
        for user in service.list_users(session):
            state = "disabled" if user.disabled else "active"
            if user.must_change_password:
                state += ", must change password"
            table.add_row(
                user.username,
                user.display_name,
                user.role.value,
                state,
                "on" if user.totp_enabled else "off",
                user.last_login_at.strftime("%Y-%m-%d %H:%M") if user.last_login_at else "",
            )
    Console(width=140).print(table)


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument()]) -> None:
    """Disable a user and end their sessions."""
    from opschub.accounts import service

    with _transaction() as session:
        user = service.require_user(session, username)
        service.set_disabled(session, user.id, True, None)
    typer.echo(f"disabled user {user.username}")


@user_app.command("enable")
def user_enable(username: Annotated[str, typer.Argument()]) -> None:
    """Enable a disabled user again."""
    from opschub.accounts import service

    with _transaction() as session:
        user = service.require_user(session, username)
        service.set_disabled(session, user.id, False, None)
    typer.echo(f"enabled user {user.username}")


@user_app.command("reset-password")
def user_reset_password(username: Annotated[str, typer.Argument()]) -> None:
    """Give a user a new one-time password (printed once) and end their sessions."""
    from opschub.accounts import service

    with _transaction() as session:
        user = service.require_user(session, username)
        one_time = service.reset_password(session, user.id, None)
    typer.echo(f"password of {user.username} reset")
    typer.echo(f"one-time password (must be changed at first login): {one_time}")


@user_app.command("reset-totp")
def user_reset_totp(username: Annotated[str, typer.Argument()]) -> None:
    """Remove a user's two-factor authenticator (lost phone); they set it up again."""
    from opschub.accounts import service

    with _transaction() as session:
        user = service.require_user(session, username)
        service.reset_totp(session, user.id, None)
    typer.echo(f"two-factor authentication of {user.username} removed")


@user_app.command("ensure-admin")
def user_ensure_admin() -> None:
    """Create the first administrator 'admin' if there is no enabled administrator."""
    from opschub.accounts import service

    with _transaction() as session:
        created = service.ensure_admin(session)
        result = None if created is None else (created[0].username, created[1])
    if result is None:
        typer.echo("an administrator exists; nothing to do")
        return
    typer.echo(f"administrator: {result[0]}")
    typer.echo(f"one-time password (must be changed at first login): {result[1]}")


@user_app.command("summary")
def user_summary(
    days: Annotated[int, typer.Option("--days", help="how far back, 1-366 days")] = 7,
    output: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Credential changes of the last N days (resets, role changes, new tokens, lock-outs):
    what a weekly review reads, so that no reset of someone's login goes unseen."""
    import json

    from opschub.accounts import service
    from opschub.audit.service import event_as_dict

    if output not in ("text", "json"):
        _fail(f"--format: unknown format {output!r}; use text or json", 2)
    with _transaction() as session:
        events = [event_as_dict(event) for event in service.credential_changes(session, days)]
    if output == "json":
        typer.echo(json.dumps({"days": days, "events": events}, ensure_ascii=False, indent=2))
        return
    typer.echo(f"{len(events)} credential change(s) in the last {days} day(s)")
    for event in events:
        details = event.get("details") or {}
        who = details.get("username") or details.get("name") or event.get("target_id") or ""
        typer.echo(
            f"{event['occurred_at']}  {event['action']:<36} by {event['actor_label']}"
            f"  {event['target_type'] or ''} {who}  ({event['outcome']})"
        )


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="who uses the token, for what")],
    permission: Annotated[
        list[str], typer.Option("--permission", help="a permission the token has (repeat)")
    ],
    expires_days: Annotated[int, typer.Option("--expires-days", help="days until expiry")] = 90,
    partner: Annotated[
        bool, typer.Option("--partner", help="a partner's token (online service, ISP)")
    ] = False,
    role: Annotated[
        str | None,
        typer.Option("--role", help="the role the token acts for, if not --partner"),
    ] = None,
) -> None:
    """Create an API token and print it once (only its hash is kept)."""
    from opschub.accounts import service

    if partner and role is not None:
        _fail("give either --partner or --role, not both", 2)
    with _transaction() as session:
        token, raw = service.create_token(
            session,
            name=name,
            permissions=permission,
            expires_in_days=expires_days,
            actor=None,
            partner=partner,
            role=role,
        )
        summary = (
            f"token {token.id} for {token.role.value} with {', '.join(token.permissions)}, "
            f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC"
        )
    typer.echo(summary, err=True)
    typer.echo(raw)


@token_app.command("list")
def token_list() -> None:
    """List API tokens (never their secrets)."""
    from rich.console import Console
    from rich.table import Table

    from opschub.accounts import service

    table = Table("id", "name", "acts for", "permissions", "expires (UTC)", "state")
    with _transaction() as session:
        for token in service.list_tokens(session):
            table.add_row(
                token.id,
                token.name,
                token.role.value,
                ", ".join(token.permissions),
                f"{token.expires_at:%Y-%m-%d %H:%M}",
                service.token_status(token),
            )
    Console(width=160).print(table)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[str, typer.Argument(help="the id shown at creation")]) -> None:
    """Revoke an API token at once."""
    from opschub.accounts import service

    with _transaction() as session:
        service.revoke_token(session, token_id, None)
    typer.echo(f"revoked token {token_id.strip()}")
