"""The audit capability's scheduled work: anchoring the chain outside the database."""

from __future__ import annotations

from opschub.jobs.registry import task
from opschub.jobs.runner import JobContext


@task("audit.checkpoint", max_attempts=3, backoff_seconds=60.0)
def checkpoint(ctx: JobContext) -> None:
    """Write a signed checkpoint of the chain's head (``OPSCHUB_SCHEDULES``, every 5 minutes by
    default). Refused, and so failed and shown on the Jobs page, when the log no longer extends
    the previous checkpoint: that is the alarm."""
    from opschub.audit import service

    with ctx.database.read() as session:  # SQLite: the walk does not hold the write lock
        service.write_checkpoint(session)
    with ctx.transaction():
        pass
