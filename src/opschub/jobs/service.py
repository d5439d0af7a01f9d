"""Due work: the only code that writes the job tables.

A job is a row with a due time and a unique key (creating it twice creates it once). A worker
claims a row atomically before running it, beats its heart while it runs, and completes or fails
it; a failed run is retried with exponential backoff and a cap, then parked as failed. The sweep
hands due rows to the broker and takes back rows whose worker stopped beating. Retry and cancel
by a person are audited.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, event, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from opschub.audit import service as audit
from opschub.audit.service import Actor
from opschub.clock import utcnow
from opschub.jobs import registry
from opschub.jobs.models import OPEN_STATES, STATES, Job, JobLease, JobWorker

MAX_KEY = 200
MAX_ERROR = 4000
MAX_PAYLOAD = 16_000


class JobError(ValueError):
    """A request about jobs cannot be done; ``errors`` maps each bad field to the reason."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


class JobNotFound(LookupError):
    pass


def _changed(result: Any) -> int:
    """Rows an UPDATE or DELETE touched (a CursorResult; typed as plain Result)."""
    return int(result.rowcount)


# --- creating due work ---------------------------------------------------------------------------


def schedule(
    session: Session,
    *,
    kind: str,
    key: str,
    payload: Mapping[str, Any] | None = None,
    due_at: datetime | None = None,
) -> Job:
    """Create the job ``key`` (once: an existing job with that key is returned unchanged).

    Call it in the transaction of the change that makes the work due, so that both commit
    together. ``payload`` is small JSON naming what to work on (ids, not personal data).
    """
    import json

    errors: dict[str, str] = {}
    spec = registry.get(kind)
    if spec is None:
        errors["kind"] = f"no task {kind!r} is declared (see opschub.jobs.registry)"
    if not key or len(key) > MAX_KEY:
        errors["key"] = f"must be 1 to {MAX_KEY} characters"
    try:
        if len(json.dumps(dict(payload or {}))) > MAX_PAYLOAD:
            errors["payload"] = f"larger than {MAX_PAYLOAD} bytes of JSON"
    except (TypeError, ValueError) as exc:
        errors["payload"] = f"not JSON: {exc}"
    if due_at is not None and due_at.tzinfo is None:
        errors["due_at"] = "must be timezone-aware UTC"
    if errors:
        raise JobError(errors)
    assert spec is not None
    existing = session.scalar(select(Job).where(Job.key == key))
    if existing is not None:
        if existing.kind != kind:
            raise JobError({"key": f"already used by a job of kind {existing.kind!r}"})
        return existing
    now = utcnow()
    job = Job(
        kind=kind,
        key=key,
        payload=dict(payload or {}),
        state="queued",
        due_at=due_at or now,
        max_attempts=spec.max_attempts,
        attempts=0,
        created_at=now,
        updated_at=now,
    )
    try:
        # A savepoint: another process creating the same key does not spoil the caller's work.
        with session.begin_nested():
            session.add(job)
    except IntegrityError:
        raced = session.scalar(select(Job).where(Job.key == key))
        if raced is None:
            raise
        return raced
    if job.due_at <= now:
        _send_after_commit(session, job.id)
    return job


_PENDING = "opschub.jobs.pending"


def _send_after_commit(session: Session, job_id: str) -> None:
    """Hand a job that is due now to the broker once its transaction commits (not before: a
    worker must find the row). If that fails, or the process dies first, the sweep sends it."""
    if _PENDING not in session.info:
        event.listen(session, "after_commit", _flush_pending)
        event.listen(session, "after_transaction_end", _drop_pending)
    session.info.setdefault(_PENDING, []).append(job_id)


def _flush_pending(session: Session) -> None:
    from opschub.config import get_settings
    from opschub.jobs import dispatch

    pending = session.info.get(_PENDING) or []
    session.info[_PENDING] = []
    if pending:
        dispatch.send(get_settings(), pending)


def _drop_pending(session: Session, transaction: Any) -> None:
    # after_commit has already sent what a commit made due; anything left was rolled back.
    if transaction.parent is None and session.info.get(_PENDING):
        session.info[_PENDING] = []


# --- running ------------------------------------------------------------------------------------


def claim(session: Session, job_id: str, worker: str) -> Job | None:
    """Take a due, queued job for ``worker``; None when it is not there to take (any more)."""
    now = utcnow()
    taken = _changed(
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == "queued", Job.due_at <= now)
            .values(
                state="running",
                locked_by=worker,
                heartbeat_at=now,
                started_at=now,
                attempts=Job.attempts + 1,
                progress_done=None,
                progress_total=None,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
    )
    if not taken:
        return None
    return session.get(Job, job_id, populate_existing=True)


def _mine(job_id: str, worker: str) -> Any:
    return and_(Job.id == job_id, Job.state == "running", Job.locked_by == worker)


def heartbeat(session: Session, job_id: str, worker: str) -> bool:
    """Still running ``job_id``; False when the job was taken back (stop working on it)."""
    now = utcnow()
    result = session.execute(
        update(Job)
        .where(_mine(job_id, worker))
        .values(heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(_changed(result))


def progress(session: Session, job_id: str, worker: str, done: int, total: int | None) -> bool:
    if done < 0 or (total is not None and total < 0):
        raise JobError({"progress": "done and total must not be negative"})
    now = utcnow()
    result = session.execute(
        update(Job)
        .where(_mine(job_id, worker))
        .values(progress_done=done, progress_total=total, heartbeat_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(_changed(result))


def complete(session: Session, job_id: str, worker: str) -> bool:
    """Mark done; False when ``worker`` no longer holds the job (its work must not commit)."""
    now = utcnow()
    result = session.execute(
        update(Job)
        .where(_mine(job_id, worker))
        .values(
            state="done",
            locked_by=None,
            finished_at=now,
            updated_at=now,
            last_error=None,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(_changed(result))


def backoff_seconds(attempts: int, base: float, cap: float) -> float:
    """Wait before the next try after ``attempts`` failed runs: doubling, at most ``cap``."""
    return float(min(cap, base * 2 ** max(0, attempts - 1)))


def fail(
    session: Session, job_id: str, worker: str, error: str, *, give_up: bool = False
) -> str | None:
    """A run failed: queue it again after a backoff, or park it as failed (at once when
    ``give_up``: another try cannot succeed). The new state."""
    job = session.scalar(select(Job).where(_mine(job_id, worker)))
    if job is None:
        return None
    _after_failure(job, error, give_up=give_up)
    return job.state


def _after_failure(job: Job, error: str, *, give_up: bool = False) -> None:
    now = utcnow()
    spec = registry.get(job.kind)
    base, cap = (spec.backoff_seconds, spec.backoff_cap_seconds) if spec else (30.0, 3600.0)
    job.last_error = error[:MAX_ERROR]
    job.locked_by = None
    job.heartbeat_at = None
    job.enqueued_at = None
    job.updated_at = now
    if give_up or job.attempts >= job.max_attempts:
        job.state = "failed"
        job.finished_at = now
    else:
        job.state = "queued"
        job.due_at = now + timedelta(seconds=backoff_seconds(job.attempts, base, cap))


# --- the sweep ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    to_enqueue: list[str]
    reclaimed: list[str]


def sweep(
    session: Session, *, stale_seconds: float, redeliver_seconds: float, limit: int = 1000
) -> SweepResult:
    """Take back jobs whose worker went silent; mark what is due and not in flight for sending.

    The caller sends the returned ids to the broker after this transaction commits, and calls
    :func:`not_sent` for any it could not send.
    """
    now = utcnow()
    stale = session.scalars(
        select(Job)
        .where(Job.state == "running", Job.heartbeat_at < now - timedelta(seconds=stale_seconds))
        .limit(limit)
    ).all()
    for job in stale:
        _after_failure(job, f"worker {job.locked_by} stopped while running the job")
        job.due_at = now  # a crash is not the job's fault: run again now
    session.flush()
    due = session.scalars(
        select(Job.id)
        .where(
            Job.state == "queued",
            Job.due_at <= now,
            or_(
                Job.enqueued_at.is_(None),
                Job.enqueued_at < now - timedelta(seconds=redeliver_seconds),
            ),
        )
        .order_by(Job.due_at)
        .limit(limit)
    ).all()
    if due:
        session.execute(
            update(Job)
            .where(Job.id.in_(due))
            .values(enqueued_at=now)
            .execution_options(synchronize_session=False)
        )
    return SweepResult(list(due), [job.id for job in stale])


def not_sent(session: Session, job_ids: Sequence[str]) -> None:
    """The broker refused these: the next sweep sends them again."""
    if job_ids:
        session.execute(
            update(Job)
            .where(Job.id.in_(job_ids), Job.state == "queued")
            .values(enqueued_at=None)
            .execution_options(synchronize_session=False)
        )


# --- a person acting ----------------------------------------------------------------------------


def _get(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise JobNotFound(job_id)
    return job


def retry(session: Session, job_id: str, actor: Actor | None) -> Job:
    """Queue a failed or cancelled job again now, with a fresh count of attempts (audited)."""
    job = _get(session, job_id)
    if job.state not in ("failed", "cancelled"):
        raise JobError(
            {"state": f"only a failed or cancelled job can be retried (it is {job.state})"}
        )
    previous = job.state
    now = utcnow()
    job.state, job.attempts, job.due_at, job.enqueued_at = "queued", 0, now, None
    job.finished_at, job.updated_at = None, now
    _audit_change(session, job, "jobs.retry", actor, previous)
    return job


def cancel(session: Session, job_id: str, actor: Actor | None) -> Job:
    """Stop a queued job (a running one finishes its current run but is not completed)."""
    job = _get(session, job_id)
    if job.state not in OPEN_STATES and job.state != "failed":
        raise JobError({"state": f"a {job.state} job cannot be cancelled"})
    previous = job.state
    now = utcnow()
    job.state, job.locked_by, job.finished_at, job.updated_at = "cancelled", None, now, now
    _audit_change(session, job, "jobs.cancel", actor, previous)
    return job


def _audit_change(
    session: Session, job: Job, action: str, actor: Actor | None, previous: str
) -> None:
    """The audit event of a person's (or, without one, the command line's) change to a job."""
    audit.record(
        session,
        action=action,
        actor=actor,
        actor_kind=None if actor else "system",
        actor_label=None if actor else "command line",
        target_type="job",
        target_id=job.id,
        details={"kind": job.kind, "from": previous},
    )


# --- leases, workers, housekeeping --------------------------------------------------------------


def take_lease(session: Session, name: str, holder: str, seconds: float) -> bool:
    """Hold the lease ``name`` for ``seconds`` if it is free, expired or already ours."""
    now = utcnow()
    until = now + timedelta(seconds=seconds)
    renewed = _changed(
        session.execute(
            update(JobLease)
            .where(
                JobLease.name == name,
                or_(JobLease.holder == holder, JobLease.expires_at < now),
            )
            .values(holder=holder, expires_at=until)
            .execution_options(synchronize_session=False)
        )
    )
    if renewed:
        return True
    if session.get(JobLease, name) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(JobLease(name=name, holder=holder, expires_at=until))
    except IntegrityError:
        return False
    return True


def worker_alive(session: Session, worker_id: str, mode: str) -> None:
    now = utcnow()
    updated = _changed(
        session.execute(
            update(JobWorker)
            .where(JobWorker.id == worker_id)
            .values(heartbeat_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    if not updated:
        session.add(JobWorker(id=worker_id, mode=mode, started_at=now, heartbeat_at=now))


def worker_stopped(session: Session, worker_id: str) -> None:
    session.execute(delete(JobWorker).where(JobWorker.id == worker_id))


def forget_workers(session: Session, silent_seconds: float) -> int:
    cutoff = utcnow() - timedelta(seconds=silent_seconds)
    return _changed(session.execute(delete(JobWorker).where(JobWorker.heartbeat_at < cutoff)))


def prune(session: Session, *, days: int) -> int:
    """Forget finished jobs older than ``days`` (failed ones stay until retried or cancelled).

    A scheduled run's row is kept for 400 days: it is what stops a monthly or yearly schedule
    from running its period again.
    """
    now = utcnow()
    cutoff, schedule_cutoff = now - timedelta(days=days), now - timedelta(days=400)
    return _changed(
        session.execute(
            delete(Job).where(
                Job.state.in_(("done", "cancelled")),
                Job.updated_at < cutoff,
                or_(~Job.key.startswith("schedule:"), Job.updated_at < schedule_cutoff),
            )
        )
    )


# --- reading ------------------------------------------------------------------------------------


def get(session: Session, job_id: str) -> Job:
    return _get(session, job_id)


def list_jobs(
    session: Session, *, states: Sequence[str] = STATES, limit: int = 100
) -> Sequence[Job]:
    return session.scalars(
        select(Job)
        .where(Job.state.in_(list(states)))
        .order_by(Job.updated_at.desc(), Job.id.desc())
        .limit(limit)
    ).all()


def counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Job.state, func.count()).group_by(Job.state)).all()
    found = {state: int(n) for state, n in rows}
    return {state: found.get(state, 0) for state in STATES}


def workers(session: Session) -> Sequence[JobWorker]:
    return session.scalars(select(JobWorker).order_by(JobWorker.heartbeat_at.desc())).all()


def job_as_dict(job: Job) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": job.id,
        "kind": job.kind,
        "key": job.key,
        "state": job.state,
        "due_at": iso(job.due_at),
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "last_error": job.last_error,
        "progress": {"done": job.progress_done, "total": job.progress_total},
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
    }
