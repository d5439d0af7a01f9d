"""``opschub demo load|remove``: synthetic demo data for exploring every page."""

from __future__ import annotations

import typer

demo_app = typer.Typer(
    help="Synthetic, benign demo data (marked and removable).", no_args_is_help=True
)


@demo_app.command("load")
def load_command(
    force: bool = typer.Option(False, help="Add demo data even if real reports exist"),
    format: str = typer.Option("text", "--format", help="text or json"),
) -> None:
    """Add demo reports spread over 30 days, three demo hash lists and two demo people.

    Run again while the demo is loaded, it says so and changes nothing (exit 0).
    """
    import json

    from opschub.db import get_database
    from opschub.intake import demo, service

    if format not in ("text", "json"):
        typer.echo(f"opschub demo load: --format must be text or json, not {format!r}", err=True)
        raise typer.Exit(2)
    database = get_database()
    with database.transaction() as session:
        already = demo.loaded_reports(session)
    if already:
        if format == "json":
            typer.echo(json.dumps({"loaded": False, "already_loaded": already}))
        else:
            typer.echo(
                f"The demo data is already loaded ({already} demo reports, hash lists "
                f"{', '.join(demo.DEMO_LISTS)}); nothing added. `opschub demo remove` deletes it; "
                "`opschub user reset-password demo-analyst` gives a new one-time password."
            )
        return
    try:
        with database.transaction() as session:
            summary = demo.load(session, service.default_store(), force=force)
            people = [(p.username, p.role, p.one_time_password) for p in summary.people]
    except demo.DemoError as exc:
        typer.echo(f"opschub demo load: {exc}", err=True)
        raise typer.Exit(1) from None
    if format == "json":
        typer.echo(
            json.dumps(
                {
                    "loaded": True,
                    "reports": summary.reports,
                    "lists": list(summary.lists),
                    "list_entries": summary.list_entries,
                    "people": [
                        {"username": u, "role": r, "one_time_password": pw} for u, r, pw in people
                    ],
                }
            )
        )
        return
    typer.echo(
        f"Loaded {summary.reports} demo reports (spread over the last {demo.SPREAD_DAYS} days) "
        f"and the hash lists {', '.join(summary.lists)} ({summary.list_entries} entries)."
    )
    typer.echo("Demo people (each password works once and must be changed at first login):")
    for username, role, one_time in people:
        typer.echo(f"  {username} ({role}): {one_time}")
    typer.echo("Remove the demo data with `opschub demo remove`.")


@demo_app.command("remove")
def remove_command() -> None:
    """Delete every demo report and the demo hash lists, and disable the demo people."""
    from opschub.db import get_database
    from opschub.intake import demo, service

    with get_database().transaction() as session:
        removed = demo.remove(session, service.default_store())
    typer.echo(
        f"Removed {removed} demo reports and the demo hash lists; the demo people are disabled."
    )


def register(app: typer.Typer) -> None:
    app.add_typer(demo_app, name="demo")
