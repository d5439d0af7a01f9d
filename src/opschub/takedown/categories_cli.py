"""Commands: ``opschub takedown categories add|list`` (the national categories of illegal
material, with their legal references).

Exit codes: 0 done, 1 a refused value (named with its option), 2 usage errors.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

takedown_app = typer.Typer(help="Notice and takedown: assessment settings.", no_args_is_help=True)
categories_app = typer.Typer(
    help="National categories of illegal material (for example A, B, C by severity).",
    no_args_is_help=True,
)
takedown_app.add_typer(categories_app, name="categories")


@categories_app.command("add")
def categories_add(
    code: Annotated[str, typer.Argument(help="Short code analysts pick, e.g. A.")],
    name: Annotated[str, typer.Option("--name", help="What the category covers.")],
    legal_reference: Annotated[
        str, typer.Option("--legal-reference", help="The law and article that define it.")
    ],
) -> None:
    """Add a category. Every value is checked; a refused one is named and nothing is saved."""
    from opschub.db import get_database
    from opschub.evidence.service import Operator
    from opschub.takedown import service

    try:
        with get_database().transaction() as session:
            category = service.add_category(
                session,
                Operator.current(),
                code=code,
                name=name,
                legal_reference=legal_reference,
            )
            added = category.code
    except service.TakedownError as exc:
        option = {"code": "CODE", "legal_reference": "--legal-reference"}.get(
            exc.field, f"--{exc.field}"
        )
        typer.echo(f"opschub: {option}: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"added category {added}")


@categories_app.command("list")
def categories_list(
    format: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """The categories, in the order analysts see them."""
    from opschub.db import get_database
    from opschub.takedown import service

    if format not in ("table", "json"):
        typer.echo(f"opschub: --format: {format!r} is not table or json", err=True)
        raise typer.Exit(2)
    with get_database().read() as session:
        rows = [
            {
                "code": c.code,
                "name": c.name,
                "legal_reference": c.legal_reference,
                "active": c.active,
            }
            for c in service.categories(session)
        ]
    if format == "json":
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        state = "" if row["active"] else "  (not in use)"
        typer.echo(f"{row['code']}\t{row['name']}\t{row['legal_reference']}{state}")


def register(app: typer.Typer) -> None:
    app.add_typer(takedown_app, name="takedown")
