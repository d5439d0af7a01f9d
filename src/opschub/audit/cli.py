"""``opschub audit``: verify the hash chain and list events."""

from __future__ import annotations

import json
from typing import Annotated

import typer

audit_app = typer.Typer(
    help="The audit log: verify its hash chain, list events.", no_args_is_help=True
)

# Below this many rows a progress bar would only flicker.
PROGRESS_THRESHOLD = 5000


@audit_app.command("verify")
def verify_command(
    anchor: Annotated[
        str | None,
        typer.Option(
            help="SEQ:HASH printed by an earlier verify; also checks that no rows were cut "
            "off the end since then."
        ),
    ] = None,
) -> None:
    """Check every row against its hash and its link to the previous row.

    Exits 0 with a summary when the log is intact, 1 with one line per problem naming the row
    (seq and id) otherwise.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from opschub.audit import anchor as checkpoints
    from opschub.audit import service
    from opschub.db import get_database

    expected = None
    if anchor is not None:
        try:
            expected = service.parse_anchor(anchor)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--anchor") from None

    console = Console(stderr=True)
    with get_database().sessions() as session:
        total = service.count(session)
        session.rollback()
        with Progress(
            "verifying audit log",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=total < PROGRESS_THRESHOLD or not console.is_terminal,
        ) as bar:
            task = bar.add_task("verify", total=total)
            result = checkpoints.verify(
                session,
                anchor=expected,
                progress=lambda n: bar.advance(task, n),
                release_between_batches=True,
            )
    if result.problems:
        for problem in result.problems:
            typer.echo(str(problem))
        typer.echo(
            f"audit log NOT intact: {len(result.problems)} problem(s) in {result.checked} events",
            err=True,
        )
        raise typer.Exit(1)
    assert result.head is not None  # an empty log is a problem
    typer.echo(f"audit log intact: {result.checked} events, seq 1 to {result.head.seq}")
    if result.keyed_from is not None:
        typer.echo(f"keyed chain from seq {result.keyed_from}")
    if result.checkpoint is not None:
        typer.echo(
            f"matches checkpoint {result.checkpoint.name} (seq {result.checkpoint.seq}, "
            f"written {result.checkpoint.written_at})"
        )
    else:
        typer.echo("no signed checkpoint to compare with: run `opschub audit anchor`", err=True)
    typer.echo(f"anchor (keep it to detect a cut-off tail later): {result.head.anchor()}")


@audit_app.command("anchor")
def anchor_command() -> None:
    """Write a signed checkpoint of the log's newest row to OPSCHUB_AUDIT_ANCHOR_DIR.

    Exits 0 (also when nothing is new since the last checkpoint), 1 when the log no longer
    extends the last checkpoint: then nothing is written.
    """
    from opschub.audit import anchor
    from opschub.config import get_settings
    from opschub.db import get_database

    settings = get_settings()
    with get_database().read() as session:  # SQLite: without taking the write lock
        try:
            path = anchor.write(session, settings)
        except anchor.CheckpointError as exc:
            typer.echo(f"opschub audit anchor: {exc}", err=True)
            raise typer.Exit(1) from None
    if path is None:
        typer.echo("nothing new to anchor since the last checkpoint (or the log is empty)")
    else:
        typer.echo(f"checkpoint written: {path}")


@audit_app.command("list")
def list_command(
    action: Annotated[
        str | None, typer.Option(help="Action, e.g. user.login; end with * for a prefix")
    ] = None,
    actor: Annotated[str | None, typer.Option(help="Actor id or name")] = None,
    target_type: Annotated[str | None, typer.Option(help="Target type, e.g. user")] = None,
    target_id: Annotated[str | None, typer.Option(help="Target id")] = None,
    outcome: Annotated[str | None, typer.Option(help="ok, refused or failed")] = None,
    since: Annotated[
        str | None, typer.Option(help="From this date or time (YYYY-MM-DD, UTC), inclusive")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Up to this date (whole day) or time, exclusive")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many events")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """List events, newest first."""
    from opschub.audit import service
    from opschub.db import get_database

    bounds, errors = service.parse_date_bounds(since, until, prefix="--")
    if errors:
        raise typer.BadParameter(next(iter(errors.values())))
    try:
        filters = service.EventFilter(
            action=action,
            actor=actor,
            target_type=target_type,
            target_id=target_id,
            outcome=outcome,
            since=bounds["since"],
            until=bounds["until"],
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None

    with get_database().sessions() as session:
        events = service.list_events(session, filters, limit=limit)
        rows = [service.event_as_dict(event) for event in events]
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False, sort_keys=True))
        return
    if not rows:
        typer.echo("no matching events", err=True)
        return
    for row in rows:
        target = f"{row['target_type'] or ''}:{row['target_id'] or ''}".strip(":")
        actor_text = row["actor_label"] + (f" ({row['actor_kind']})" if row["actor_kind"] else "")
        typer.echo(
            f"{row['seq']:>7}  {row['occurred_at'][:19]}Z  {row['outcome']:<7}  "
            f"{row['action']:<28}  {actor_text}  {target}".rstrip()
        )


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
