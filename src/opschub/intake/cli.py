"""``opschub demo load|remove``: synthetic demo data for exploring every page.

``opschub intake self-reports reject|suspicious``: review the unverified self-reported list.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer

demo_app = typer.Typer(
    help="Synthetic, benign demo data (marked and removable).", no_args_is_help=True
)


@demo_app.command("load")
def load_command(
    force: bool = typer.Option(False, help="Add demo data even if real reports exist"),
    format: str = typer.Option("text", "--format", help="text or json"),
    size: str = typer.Option(
        "small", "--size", help="small, or large: also 1M demo cases with 3M people (benchmarks)"
    ),
    cases: int = typer.Option(1_000_000, "--cases", help="with --size large: how many cases"),
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
    if size not in ("small", "large"):
        typer.echo(f"opschub demo load: --size must be small or large, not {size!r}", err=True)
        raise typer.Exit(2)
    database = get_database()
    # cases-core: the demo regions and cases (and, with --size large, the benchmark cases).
    from opschub.cases import demo as cases_demo

    with database.transaction() as session:
        demo_cases = cases_demo.load(session)
    if size == "large":
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        from opschub.cases import demo_large as cases_demo_large

        bar = Progress(
            TextColumn("demo cases"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        task = bar.add_task("cases", total=cases)
        with bar:
            summary_large = cases_demo_large.load_large(
                database, cases=cases, progress=lambda done: bar.update(task, completed=done)
            )
        typer.echo(
            f"Added {summary_large.cases} demo cases with {summary_large.people} people "
            f"and {summary_large.steps} proceedings steps in {summary_large.seconds:.0f} s.",
            err=format == "json",
        )
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
            # Statistics: approved regional figures for the demo region hierarchy.
            from opschub.stats import demo as stats_demo

            demo_figures = stats_demo.load(session)
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
                    "cases": demo_cases,
                    "regional_submissions": demo_figures,
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
    typer.echo(
        f"Added {demo_cases} demo cases across the demo regions and {demo_figures} approved "
        "regional submissions of statistics."
    )
    typer.echo("Demo people (each password works once and must be changed at first login):")
    for username, role, one_time in people:
        typer.echo(f"  {username} ({role}): {one_time}")
    typer.echo("Remove the demo data with `opschub demo remove`.")


@demo_app.command("remove")
def remove_command() -> None:
    """Delete every demo report, the demo hash lists, the demo statistics, the demo cases with
    their people and the demo regions nothing else uses, and disable the demo people."""
    from opschub.cases import demo as cases_demo
    from opschub.db import get_database
    from opschub.intake import demo, service

    with get_database().transaction() as session:
        removed = demo.remove(session, service.default_store())
        from opschub.stats import demo as stats_demo

        stats_demo.remove(session)
        gone = cases_demo.remove(session)
    typer.echo(
        f"Removed {removed} demo reports and the demo hash lists; the demo people are disabled."
    )
    typer.echo(
        f"Removed {gone.cases} demo cases with {gone.people} people and "
        f"{len(gone.units)} demo regions."
    )


intake_app = typer.Typer(help="Reports: review what arrived.", no_args_is_help=True)
self_reports_app = typer.Typer(
    help="The unverified list of self-reported fingerprints: reject false entries.",
    no_args_is_help=True,
)
intake_app.add_typer(self_reports_app, name="self-reports")


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


@self_reports_app.command("reject")
def reject_command(
    hashes: Annotated[
        list[str],
        typer.Argument(help="Hashes to reject: hex (64 digits: SHA-256 or PDQ) or type:hex."),
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why they are rejected (recorded).")],
    output: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = (
        OutputFormat.text
    ),
) -> None:
    """Remove entries from the self-reported list (and its exports), with the reason, audited.

    Exits 0 when done, 2 when a hash or the reason is invalid (each named; nothing changed).
    """
    from opschub.db import get_database
    from opschub.intake import service

    try:
        with get_database().transaction() as session:
            result = service.reject_self_reported(
                session, hashes, reason=reason, actor=None, actor_label="command line"
            )
    except service.IntakeInvalid as exc:
        for error in exc.errors:
            where = error.field
            if where.startswith("/hashes/"):
                index = int(where.rsplit("/", 1)[1])
                where = f"hash {index + 1} ({hashes[index]!r})"
            elif where == "/reason":
                where = "--reason"
            typer.echo(f"opschub intake self-reports reject: {where}: {error.message}", err=True)
        raise typer.Exit(2) from None
    removed = [f"{e.hash_type}:{e.hash}" for e in result.removed]
    if output is OutputFormat.json:
        typer.echo(json.dumps({"removed": removed, "not_in_list": list(result.not_in_list)}))
        return
    typer.echo(f"Rejected {len(removed)} entries of the self-reported list.")
    for text in removed:
        typer.echo(f"  removed {text}")
    for text in result.not_in_list:
        typer.echo(f"  not in the list: {text}")


@self_reports_app.command("suspicious")
def suspicious_command(
    burst_size: Annotated[int, typer.Option(min=2, help="Entries that make a burst.")] = 20,
    burst_minutes: Annotated[int, typer.Option(min=1, help="Window of a burst.")] = 60,
    output: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = (
        OutputFormat.text
    ),
) -> None:
    """List self-reported entries that look false: matches of a benign list, and bursts."""
    from datetime import timedelta

    from opschub.db import get_database
    from opschub.intake import service

    with get_database().read() as session:
        found = service.suspicious_self_reports(
            session, burst_size=burst_size, burst_window=timedelta(minutes=burst_minutes)
        )
    rows = [
        {
            "hash_type": s.entry.hash_type,
            "hash": s.entry.hash,
            "reason": s.reason,
            "detail": s.detail,
        }
        for s in found
    ]
    if output is OutputFormat.json:
        typer.echo(json.dumps(rows))
        return
    if not rows:
        typer.echo("No suspicious entries in the self-reported list.")
    for row in rows:
        typer.echo(f"{row['hash_type']}:{row['hash']}  {row['reason']}  {row['detail']}")


def register(app: typer.Typer) -> None:
    app.add_typer(demo_app, name="demo")
    app.add_typer(intake_app, name="intake")
