"""Takedown's background work: capturing a claimed URL (``takedown.capture``).

The job is idempotent: a target already captured is left alone; the fetch happens outside any
transaction and its result is recorded in one (``record_capture``), so a worker killed half-way
fetches again. Every remote failure is a recorded outcome, never an exception; an error in our
own code is retried by the worker and, after the last attempt, recorded on the target.
"""

from __future__ import annotations

from opschub.jobs.registry import task
from opschub.jobs.runner import JobContext, LostClaim

MAX_ATTEMPTS = 3


@task("takedown.capture", max_attempts=MAX_ATTEMPTS, backoff_seconds=30.0)
def capture(ctx: JobContext) -> None:
    from opschub.config import get_settings
    from opschub.hashlists import service as hashlists
    from opschub.takedown import service
    from opschub.takedown.capture import capture_url, make_fetcher

    target_id = str(ctx.payload["target_id"])
    with ctx.database.transaction() as session:
        url = service.begin_capture(session, target_id)
    if url is None:
        with ctx.transaction():
            return
    settings = get_settings()
    try:
        with make_fetcher(settings) as fetcher:
            captured = capture_url(
                url,
                fetcher,
                store=hashlists.store(),
                hosting_dir=settings.data_dir / "hosting",
            )
    except Exception as exc:
        if ctx.attempt < MAX_ATTEMPTS:
            raise
        captured = service.failed_capture(url, f"{type(exc).__name__}: {exc}")
    try:
        with ctx.transaction() as session:
            service.record_capture(session, target_id, captured)
    except LostClaim:
        raise
    except Exception as exc:
        if ctx.attempt < MAX_ATTEMPTS:
            raise
        # The last attempt: the target says what failed instead of staying "being captured".
        failed = service.failed_capture(url, f"recording failed: {type(exc).__name__}: {exc}")
        with ctx.transaction() as session:
            service.record_capture(session, target_id, failed)
