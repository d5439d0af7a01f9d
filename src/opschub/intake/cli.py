"""``opschub demo load|remove``: synthetic demo data for exploring every page."""

from __future__ import annotations

import typer

demo_app = typer.Typer(
    help="Synthetic, benign demo data (marked and removable).", no_args_is_help=True
)


@demo_app.command("load")
def load_command(
    force: bool = typer.Option(False, help="Add demo data even if real reports exist"),
) -> None:
    """Fill an empty system with demo reports in every status and a demo hash list."""
    from opschub.db import get_database
    from opschub.intake import demo, service

    database = get_database()
    try:
        with database.transaction() as session:
            summary = demo.load(session, service.default_store(), force=force)
    except demo.DemoError as exc:
        typer.echo(f"opschub demo load: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"Loaded {summary.reports} demo reports and a hash list {demo.DEMO_LIST!r} with "
        f"{summary.list_entries} entries. Remove them with `opschub demo remove`."
    )


@demo_app.command("remove")
def remove_command() -> None:
    """Delete every demo report and the demo hash list."""
    from opschub.db import get_database
    from opschub.intake import demo, service

    with get_database().transaction() as session:
        removed = demo.remove(session, service.default_store())
    typer.echo(f"Removed {removed} demo reports and the demo hash list.")


def register(app: typer.Typer) -> None:
    app.add_typer(demo_app, name="demo")
