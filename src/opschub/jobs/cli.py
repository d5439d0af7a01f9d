"""``opschub worker``, ``opschub jobs list|retry|cancel|probe``, ``opschub doctor``,
``opschub backup`` and ``opschub restore``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

jobs_app = typer.Typer(help="Background jobs: list, retry, cancel, probe.", no_args_is_help=True)

STATE_CHOICES = ("queued", "running", "done", "failed", "cancelled")


def worker_command(
    threads: Annotated[
        int | None, typer.Option(min=1, help="Jobs run at once (default OPSCHUB_JOB_THREADS)")
    ] = None,
) -> None:
    """Run jobs until stopped (SIGTERM or Ctrl-C lets running jobs finish first).

    With OPSCHUB_BROKER_URL it takes jobs from Redis or RabbitMQ; start as many as needed, on any
    machines. Without it, it runs jobs from the database on its own (the embedded mode).
    """
    import logging
    import signal
    import threading

    from opschub.config import get_settings
    from opschub.db import get_database
    from opschub.jobs.runtime import JobRuntime

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("pika").setLevel(logging.WARNING)  # a line per connection otherwise
    settings = get_settings()
    runtime = JobRuntime(settings, get_database(), threads=threads)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    runtime.start()
    from opschub.jobs.doctor import redacted

    where = redacted(settings.broker_url) if settings.broker_url else "the database"
    typer.echo(
        f"opschub worker {runtime.worker_id}: {runtime.threads} thread(s), jobs from {where}"
    )
    stop.wait()
    typer.echo("opschub worker: stopping; running jobs finish first")
    runtime.stop()


@jobs_app.command("list")
def list_command(
    state: Annotated[
        list[str] | None, typer.Option(help=f"Only jobs in this state ({', '.join(STATE_CHOICES)})")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
    output: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """The newest jobs, with their state, attempts, progress and last error."""
    from opschub.db import get_database
    from opschub.jobs import service

    bad = [s for s in state or () if s not in STATE_CHOICES]
    if bad:
        raise typer.BadParameter(
            f"unknown state {bad[0]!r}; known: {', '.join(STATE_CHOICES)}", param_hint="--state"
        )
    if output not in ("text", "json"):
        raise typer.BadParameter("must be text or json", param_hint="--format")
    with get_database().read() as session:
        jobs = service.list_jobs(session, states=state or STATE_CHOICES, limit=limit)
        rows = [service.job_as_dict(job) for job in jobs]
        counts = service.counts(session)
    if output == "json":
        typer.echo(json.dumps({"counts": counts, "jobs": rows}, indent=2))
        return
    typer.echo("  ".join(f"{name}: {n}" for name, n in counts.items()))
    for row in rows:
        progress = row["progress"]
        shown = f" {progress['done']}/{progress['total']}" if progress["done"] is not None else ""
        typer.echo(
            f"{row['id']}  {row['state']:<9} {row['kind']:<24} attempts {row['attempts']}/"
            f"{row['max_attempts']}{shown}  due {row['due_at']}  key {row['key']}"
        )
        if row["last_error"] and row["state"] in ("failed", "queued"):
            typer.echo(f"    last error: {row['last_error'].splitlines()[-1]}")


def _act(action: str, job_id: str) -> None:
    from opschub.db import get_database
    from opschub.jobs import service

    try:
        with get_database().transaction() as session:
            job = getattr(service, action)(session, job_id, None)
            typer.echo(f"job {job.id} ({job.kind}) is now {job.state}")
    except service.JobNotFound:
        typer.echo(f"opschub jobs {action}: no job {job_id}", err=True)
        raise typer.Exit(1) from None
    except service.JobError as exc:
        typer.echo(f"opschub jobs {action}: {exc}", err=True)
        raise typer.Exit(1) from None


@jobs_app.command("retry")
def retry_command(job_id: str) -> None:
    """Queue a failed or cancelled job again now (audited)."""
    _act("retry", job_id)


@jobs_app.command("cancel")
def cancel_command(job_id: str) -> None:
    """Cancel a queued, running or failed job (audited)."""
    _act("cancel", job_id)


@jobs_app.command("probe")
def probe_command(
    timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for a worker")] = 120,
) -> None:
    """Create a no-op job and wait until a worker has run it: are workers running?

    Exits 0 when it ran, 1 when no worker ran it in time (the job stays for the next worker).
    """
    import time

    from opschub.clock import utcnow
    from opschub.db import get_database
    from opschub.jobs import service

    database = get_database()
    with database.transaction() as session:
        job = service.schedule(session, kind="jobs.noop", key=f"probe:{utcnow().isoformat()}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with database.read() as session:
            if service.get(session, job.id).state == "done":
                typer.echo(f"a worker ran job {job.id}")
                return
        time.sleep(0.2)
    typer.echo(f"opschub jobs probe: no worker ran job {job.id} within {timeout:g} s", err=True)
    raise typer.Exit(1)


def doctor_command(
    output: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Check the installation and say what to fix; exit 1 if anything is wrong."""
    from opschub.config import get_settings
    from opschub.jobs import doctor

    checks = doctor.run_checks(get_settings())
    if output == "json":
        typer.echo(json.dumps([check.as_dict() for check in checks], indent=2))
    else:
        for check in checks:
            typer.echo(f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
            if not check.ok and check.fix:
                typer.echo(f"     fix: {check.fix}")
    if not all(check.ok for check in checks):
        raise typer.Exit(1)


def backup_command(
    to: Annotated[Path, typer.Option("--to", help="Directory to create for the backup")],
) -> None:
    """Back up the database and the data directory into a new directory.

    Key files (the master key) are NOT copied: they are listed, to be stored somewhere else.
    """
    from opschub.config import get_settings
    from opschub.jobs import backup

    try:
        manifest = backup.backup(get_settings(), to)
    except backup.BackupError as exc:
        typer.echo(f"opschub backup: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"backup written to {to} ({manifest['database']['method']})")
    for path in manifest["keys_to_store_elsewhere"]:
        typer.echo(f"store this key file elsewhere (not in the backup): {path}")


def restore_command(
    source: Annotated[Path, typer.Option("--from", help="A directory written by opschub backup")],
    force: Annotated[bool, typer.Option(help="Replace a database that has data")] = False,
) -> None:
    """Restore the database and the data directory from a backup (keys come back separately)."""
    from opschub.config import get_settings
    from opschub.jobs import backup

    try:
        backup.restore(get_settings(), source, force=force)
    except backup.BackupError as exc:
        typer.echo(f"opschub restore: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"restored from {source}; check it with `opschub audit verify`")


def register(app: typer.Typer) -> None:
    app.command("worker")(worker_command)
    app.add_typer(jobs_app, name="jobs")
    app.command("doctor")(doctor_command)
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)
