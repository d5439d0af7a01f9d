"""Tasks for the job tests. Also loaded by worker subprocesses (OPSCHUB_TASK_MODULES).

``jobstest.effect`` writes its effect (an audit event naming its key) in the run's final
transaction, so the effect and the job's completion commit together. Before that it records each
start in a file and can wait for a "release" file, so that a test can kill a worker mid-job.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import func, select

from opschub.audit import service as audit
from opschub.audit.models import AuditEvent
from opschub.db import Database
from opschub.jobs import GiveUp, JobContext, task

EFFECT = "jobstest.effect_done"


@task("jobstest.effect", max_attempts=5, backoff_seconds=0.0, backoff_cap_seconds=0.0)
def effect(ctx: JobContext) -> None:
    marks = ctx.payload.get("marks")
    if marks:
        with Path(marks).open("a") as handle:
            handle.write(f"start {ctx.key} {os.getpid()}\n")
    release = ctx.payload.get("release")
    deadline = time.monotonic() + float(ctx.payload.get("wait", 0))
    while release and not Path(release).exists() and time.monotonic() < deadline:
        ctx.progress(1, 2)
        time.sleep(0.05)
    with ctx.transaction() as session:
        audit.record(session, action=EFFECT, target_type="job", target_id=ctx.key)


@task("jobstest.broken", max_attempts=3, backoff_seconds=10.0, backoff_cap_seconds=15.0)
def broken(ctx: JobContext) -> None:
    raise RuntimeError(f"cannot reach the service for {ctx.key}")


@task("jobstest.hopeless", max_attempts=5, backoff_seconds=10.0, backoff_cap_seconds=15.0)
def hopeless(ctx: JobContext) -> None:
    raise GiveUp(f"the service refused {ctx.key} for good")


def effects(database: Database, key: str | None = None) -> int:
    query = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == EFFECT)
    if key is not None:
        query = query.where(AuditEvent.target_id == key)
    with database.read() as session:
        return int(session.scalar(query) or 0)
