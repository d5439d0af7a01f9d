"""The jobs capability's own tasks: housekeeping of its tables."""

from __future__ import annotations

from opschub.jobs.registry import task
from opschub.jobs.runner import JobContext

KEEP_FINISHED_DAYS = 30


@task("jobs.prune", max_attempts=3)
def prune(ctx: JobContext) -> None:
    """Forget jobs that finished more than 30 days ago, and workers silent for a day."""
    from opschub.jobs import service

    with ctx.transaction() as session:
        service.prune(session, days=int(ctx.payload.get("days", KEEP_FINISHED_DAYS)))
        service.forget_workers(session, silent_seconds=24 * 3600)


@task("jobs.noop", max_attempts=1)
def noop(ctx: JobContext) -> None:
    """Does nothing: `opschub jobs probe` and the benchmarks use it to see that workers run."""
