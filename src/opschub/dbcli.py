"""``opschub db``: schema migrations."""

from __future__ import annotations

import typer

db_app = typer.Typer(help="Database schema: apply and inspect migrations.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade_command(revision: str = typer.Argument("head", help="Target revision")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from opschub import migrate
    from opschub.db import get_database

    database = get_database()
    before = migrate.current_revision(database.engine)
    migrate.upgrade(database.engine, revision)
    after = migrate.current_revision(database.engine)
    typer.echo(f"database at revision {after} (was {before or 'empty'})")


@db_app.command("current")
def current_command() -> None:
    """Show the database's revision and the newest one."""
    from opschub import migrate
    from opschub.db import get_database

    current = migrate.current_revision(get_database().engine)
    head = migrate.head_revision()
    typer.echo(f"current: {current or 'empty'}  newest: {head}")
    if current != head:
        raise typer.Exit(1)


@db_app.command("revision")
def revision_command(
    message: str = typer.Option(..., "-m", help="What the migration does"),
) -> None:
    """Write a new migration from the models (for developers)."""
    from opschub import migrate
    from opschub.db import get_database

    migrate.revision(get_database().engine, message)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
