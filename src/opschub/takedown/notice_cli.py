"""``opschub takedown partners add|list|load``: the partner hotlines notices are forwarded to.

Exit codes: 0 done, 1 bad data (every bad field named, nothing saved), 2 usage errors (no such
file).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, NoReturn

import typer

partners_app = typer.Typer(
    help="Partner hotlines abroad: content hosted in their country is forwarded to them.",
    no_args_is_help=True,
)


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _errors(prefix: str, errors: dict[str, str]) -> NoReturn:
    for field, reason in errors.items():
        typer.echo(f"{prefix}: {field}: {reason}", err=True)
    raise typer.Exit(1)


@partners_app.command("add")
def add_command(
    name: Annotated[str, typer.Option(help="The hotline's name")],
    country: Annotated[str, typer.Option(help="ISO 3166 two-letter code, e.g. NL")],
    channel: Annotated[str, typer.Option(help="email or webhook")],
    address: Annotated[str, typer.Option(help="Email address or webhook URL")],
    language: Annotated[str, typer.Option(help="en or zh-Hans")] = "en",
    secret_env: Annotated[
        str | None,
        typer.Option(help="Name of an environment variable holding the webhook secret"),
    ] = None,
) -> None:
    """Add a partner hotline (or replace the one with the same country and name)."""
    import os

    from opschub.db import get_database
    from opschub.takedown import partners

    secret = os.environ.get(secret_env) if secret_env else None
    if secret_env and not secret:
        _fail(f"opschub takedown partners add: ${secret_env} is not set", 2)
    partner = partners.PartnerIn(name, country.upper(), channel, address, language, secret)
    try:
        with get_database().transaction() as session:
            partner_id = partners.add(session, None, partner)
    except partners.PartnerError as exc:
        _errors("opschub takedown partners add", exc.errors)
    typer.echo(f"partner {partner_id}: {name} ({country.upper()}, {channel})")


@partners_app.command("load")
def load_command(
    file: Annotated[Path, typer.Argument(help="A TOML file of [[partner]] entries")],
) -> None:
    """Add or replace every partner of a TOML file, all or nothing."""
    from opschub.db import get_database
    from opschub.takedown import partners

    if not file.is_file():
        _fail(f"opschub takedown partners load: {file}: no such file", 2)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"opschub takedown partners load: {file}: {exc}", 2)
    try:
        with get_database().transaction() as session:
            ids = partners.load(session, None, text, str(file))
    except partners.PartnerError as exc:
        _errors("opschub takedown partners load", exc.errors)
    typer.echo(f"loaded {len(ids)} partner(s) from {file}")


@partners_app.command("list")
def list_command(
    output: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Every partner hotline (secrets are never shown)."""
    from dataclasses import asdict

    from opschub.db import get_database
    from opschub.takedown import partners

    if output not in ("text", "json"):
        _fail("opschub takedown partners list: --format must be text or json", 2)
    with get_database().read() as session:
        found = partners.partners(session)
    if output == "json":
        typer.echo(json.dumps([asdict(p) for p in found], indent=2, ensure_ascii=False))
        return
    for p in found:
        state = "active" if p.active else "disabled"
        typer.echo(f"{p.country}  {p.name}  {p.language}  {p.channel}  {p.address}  {state}")
    if not found:
        typer.echo("no partner hotlines")


def register(app: typer.Typer) -> None:
    """Add ``partners`` to the ``opschub takedown`` group (created here if no other takedown
    module has created it)."""
    for group in app.registered_groups:
        if group.name == "takedown" and group.typer_instance is not None:
            group.typer_instance.add_typer(partners_app, name="partners")
            return
    takedown_app = typer.Typer(help="Notice and takedown.", no_args_is_help=True)
    takedown_app.add_typer(partners_app, name="partners")
    app.add_typer(takedown_app, name="takedown")
