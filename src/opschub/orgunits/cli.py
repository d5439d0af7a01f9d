"""``opschub orgunits load FILE.csv`` and ``opschub orgunits list``.

Exit codes: 0 done, 1 bad rows (each named with its line and field; nothing loaded), 2 usage
errors (no such file, missing columns).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

orgunits_app = typer.Typer(
    help="Organisation units: the country > province > district hierarchy.", no_args_is_help=True
)
MAX_ERRORS_SHOWN = 50


@orgunits_app.command("load")
def load_command(
    file: Annotated[
        Path, typer.Argument(help="CSV with columns code,parent,level,name_en,name_zh")
    ],
) -> None:
    """Add or update units from a CSV file; all rows or none."""
    import csv

    from opschub.db import get_database
    from opschub.orgunits import service

    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in service.COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                typer.echo(
                    f"opschub orgunits load: {file}: line 1: missing columns {', '.join(missing)} "
                    f"(expected {','.join(service.COLUMNS)})",
                    err=True,
                )
                raise typer.Exit(2)
            rows = list(reader)
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"opschub orgunits load: cannot read {file}: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        with get_database().transaction() as session:
            result = service.load_rows(session, None, rows)
    except service.OrgUnitsInvalid as exc:
        for error in exc.errors[:MAX_ERRORS_SHOWN]:
            # +1: the header is line 1 of the file.
            typer.echo(f"{file}: line {error.row + 1}: {error.field}: {error.message}", err=True)
        if len(exc.errors) > MAX_ERRORS_SHOWN:
            typer.echo(f"... and {len(exc.errors) - MAX_ERRORS_SHOWN} more", err=True)
        typer.echo(f"opschub orgunits load: {len(exc.errors)} problems; nothing loaded", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Loaded {file}: {result.added} units added, {result.updated} updated.")


@orgunits_app.command("list")
def list_command(
    format: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Print the tree (indented by level) or JSON rows."""
    from opschub.db import get_database
    from opschub.orgunits import service

    if format not in ("text", "json"):
        typer.echo(
            f"opschub orgunits list: --format must be text or json, not {format!r}", err=True
        )
        raise typer.Exit(2)
    with get_database().read() as session:
        found = service.units(session)
    if format == "json":
        typer.echo(
            json.dumps(
                [
                    {
                        "code": u.code,
                        "parent": u.parent_code,
                        "level": u.level,
                        "name_en": u.name_en,
                        "name_zh": u.name_zh,
                        "active": u.active,
                    }
                    for u in found
                ],
                ensure_ascii=False,
            )
        )
        return
    if not found:
        typer.echo("No organisation units yet; load them with `opschub orgunits load FILE.csv`.")
    for u in found:
        inactive = "" if u.active else "  (inactive)"
        typer.echo(f"{'  ' * (u.level - 1)}{u.code}  {u.name_en} / {u.name_zh}{inactive}")


def register(app: typer.Typer) -> None:
    app.add_typer(orgunits_app, name="orgunits")
