"""``opschub cases import FILE --format csv|json``: bulk transfer from another system.

Exit codes: 0 imported, 1 bad records (each named with its row and field; nothing imported),
2 usage errors (no such file, unreadable).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

cases_app = typer.Typer(help="Cases: bulk import from another system.", no_args_is_help=True)
MAX_ERRORS_SHOWN = 50


class ImportFormat(StrEnum):
    csv = "csv"
    json = "json"


@cases_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="the file to import")],
    format: Annotated[
        ImportFormat, typer.Option("--format", help="csv or json")
    ] = ImportFormat.csv,
    report: Annotated[str, typer.Option("--report", help="text or json")] = "text",
) -> None:
    """Import cases and their people; all records or none."""
    from opschub.cases import importing, service
    from opschub.db import get_database

    if report not in ("text", "json"):
        typer.echo(f"opschub cases import: --report must be text or json, not {report!r}", err=True)
        raise typer.Exit(2)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"opschub cases import: cannot read {file}: {exc}", err=True)
        raise typer.Exit(2) from None
    parse = importing.parse_csv if format is ImportFormat.csv else importing.parse_json
    records, parse_errors = parse(text)
    try:
        with get_database().transaction() as session:
            result = importing.import_records(
                session, service.Importer(), records, parse_errors, file_name=file.name
            )
    except importing.ImportInvalid as exc:
        if report == "json":
            typer.echo(
                json.dumps(
                    {
                        "imported": False,
                        "errors": [
                            {"row": e.row, "field": e.field, "message": e.message}
                            for e in exc.errors
                        ],
                    },
                    ensure_ascii=False,
                )
            )
        else:
            where = "line" if format is ImportFormat.csv else "case"
            for error in exc.errors[:MAX_ERRORS_SHOWN]:
                typer.echo(f"{file}: {where} {error.row}: {error.field}: {error.message}", err=True)
            if len(exc.errors) > MAX_ERRORS_SHOWN:
                typer.echo(f"... and {len(exc.errors) - MAX_ERRORS_SHOWN} more", err=True)
            typer.echo(
                f"opschub cases import: {len(exc.errors)} problems; nothing imported", err=True
            )
        raise typer.Exit(1) from None
    if report == "json":
        typer.echo(json.dumps({"imported": True, "cases": result.cases, "people": result.people}))
    else:
        typer.echo(f"Imported {result.cases} cases and {result.people} people from {file}.")


def register(app: typer.Typer) -> None:
    app.add_typer(cases_app, name="cases")
