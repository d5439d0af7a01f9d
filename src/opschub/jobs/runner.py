"""Running one job: claim its row, call its task, complete or fail it.

A task receives a :class:`JobContext`. It must be idempotent by its job's key: a worker killed in
the middle of a run leaves the row ``running`` with a silent heartbeat, the sweep queues it again
and another worker runs it from the start. A task whose effect is a database write can make that
effect happen exactly once by writing it in :meth:`JobContext.transaction`: the job is marked
done in the same transaction, which refuses to commit if the job was taken back meanwhile.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from opschub.db import Database
from opschub.jobs import registry, service

log = logging.getLogger("opschub.jobs")

# Jobs this process is running now: the runtime's ticker beats their hearts.
_running: set[str] = set()
_running_lock = threading.Lock()


def running() -> list[str]:
    with _running_lock:
        return sorted(_running)


class LostClaim(RuntimeError):
    """The job was taken back from this worker (its heartbeat stopped); its work must not commit."""


class GiveUp(Exception):
    """Raised by a task when another try cannot succeed (a mail server answered 5xx): the job is
    parked as ``failed`` with this error at once, without the remaining tries. An administrator
    can still retry it on the Jobs page once the cause is fixed."""


@dataclass
class JobContext:
    """What a task knows about its run."""

    database: Database
    job_id: str
    kind: str
    key: str
    payload: dict[str, Any]
    attempt: int
    worker: str
    finished: bool = field(default=False, init=False)

    def progress(self, done: int, total: int | None = None) -> None:
        """Report how far the run is (shown on the Jobs page); also a heartbeat."""
        with self.database.transaction() as session:
            if not service.progress(session, self.job_id, self.worker, done, total):
                raise LostClaim(self.job_id)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """The run's final transaction: its writes and the job's completion commit together."""
        with self.database.transaction() as session:
            yield session
            if not service.complete(session, self.job_id, self.worker):
                raise LostClaim(self.job_id)
        self.finished = True


def run_job(database: Database, job_id: str, worker: str) -> str | None:
    """Run ``job_id`` if it is there to claim; the state it ends in (None: not claimed)."""
    with database.transaction() as session:
        job = service.claim(session, job_id, worker)
        if job is None:
            return None
        context = JobContext(
            database, job.id, job.kind, job.key, dict(job.payload), job.attempts, worker
        )
    spec = registry.get(context.kind)
    with _running_lock:
        _running.add(job_id)
    try:
        return _call(database, spec, context)
    finally:
        with _running_lock:
            _running.discard(job_id)


def _call(database: Database, spec: registry.TaskSpec | None, context: JobContext) -> str | None:
    job_id, worker = context.job_id, context.worker
    try:
        if spec is None:
            raise LookupError(f"no task {context.kind!r} is declared in this worker")
        spec.handler(context)
    except LostClaim:
        log.warning("job %s (%s) was taken back from this worker", job_id, context.kind)
        return None
    except GiveUp as exc:
        log.warning("job %s (%s) gave up: %s", job_id, context.kind, exc)
        with database.transaction() as session:
            return service.fail(session, job_id, worker, str(exc), give_up=True)
    except Exception as exc:
        log.exception("job %s (%s) failed", job_id, context.kind)
        error = "".join(traceback.format_exception_only(exc)).strip()
        with database.transaction() as session:
            return service.fail(session, job_id, worker, error)
    if context.finished:
        return "done"
    with database.transaction() as session:
        return "done" if service.complete(session, job_id, worker) else None
