"""The job table's promises, on SQLite and PostgreSQL: once per key, claimed by one worker,
retried with a growing wait and then parked, taken back from a silent worker, effect once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jobs_helpers
import pytest
from sqlalchemy import select

from opschub.audit.models import AuditEvent
from opschub.clock import frozen, utcnow
from opschub.db import Database
from opschub.jobs import JobError, service
from opschub.jobs.models import Job
from opschub.jobs.runner import run_job

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _schedule(
    database: Database, key: str = "k1", kind: str = "jobstest.effect", **kw: object
) -> str:
    with database.transaction() as session:
        return service.schedule(session, kind=kind, key=key, **kw).id  # type: ignore[arg-type]


def _job(database: Database, job_id: str) -> Job:
    with database.read() as session:
        return service.get(session, job_id)


def test_scheduling_the_same_key_twice_creates_one_job(database: Database) -> None:
    first = _schedule(database, payload={"report": "r1"})
    again = _schedule(database, payload={"report": "other"})
    assert first == again
    with database.read() as session:
        assert len(service.list_jobs(session)) == 1
        assert service.get(session, first).payload == {"report": "r1"}


def test_bad_job_requests_name_every_field(database: Database) -> None:
    with pytest.raises(JobError) as caught, database.transaction() as session:
        service.schedule(
            session, kind="nobody.declared", key="", due_at=datetime(2026, 1, 1), payload={}
        )
    assert set(caught.value.errors) == {"kind", "key", "due_at"}
    _schedule(database, key="shared")
    with pytest.raises(JobError) as clash, database.transaction() as session:
        service.schedule(session, kind="jobstest.broken", key="shared")
    assert "jobstest.effect" in clash.value.errors["key"]


def test_a_job_is_claimed_by_one_worker_only(database: Database) -> None:
    job_id = _schedule(database)
    with database.transaction() as session:
        assert service.claim(session, job_id, "worker-a") is not None
    with database.transaction() as session:
        assert service.claim(session, job_id, "worker-b") is None
    assert _job(database, job_id).locked_by == "worker-a"


def test_a_run_completes_the_job_with_its_effect(database: Database) -> None:
    job_id = _schedule(database)
    assert run_job(database, job_id, "w") == "done"
    job = _job(database, job_id)
    assert (job.state, job.attempts, job.locked_by) == ("done", 1, None)
    assert jobs_helpers.effects(database, "k1") == 1
    assert run_job(database, job_id, "w") is None  # a second message for it does nothing
    assert jobs_helpers.effects(database, "k1") == 1


def test_a_failing_job_waits_longer_each_time_then_is_parked_with_its_error(
    database: Database,
) -> None:
    with frozen(T0):
        job_id = _schedule(database, key="b", kind="jobstest.broken")
        assert run_job(database, job_id, "w") == "queued"
        assert _job(database, job_id).due_at == T0 + timedelta(seconds=10)
        assert run_job(database, job_id, "w") is None  # not due yet
    with frozen(T0 + timedelta(seconds=10)):
        assert run_job(database, job_id, "w") == "queued"
        assert _job(database, job_id).due_at == T0 + timedelta(seconds=25)  # 20 s, capped at 15
    with frozen(T0 + timedelta(seconds=25)):
        assert run_job(database, job_id, "w") == "failed"
    job = _job(database, job_id)
    assert job.state == "failed" and job.attempts == 3
    assert "cannot reach the service for b" in (job.last_error or "")


def test_a_job_that_gives_up_is_parked_at_once_and_can_still_be_retried(
    database: Database,
) -> None:
    with frozen(T0):
        job_id = _schedule(database, key="h", kind="jobstest.hopeless")
        assert run_job(database, job_id, "w") == "failed"
    job = _job(database, job_id)
    assert job.state == "failed" and job.attempts == 1 and job.max_attempts == 5
    assert job.last_error == "the service refused h for good"
    with database.transaction() as session:
        assert service.retry(session, job_id, None).state == "queued"


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [service.backoff_seconds(n, 30, 200) for n in (1, 2, 3, 4, 5)] == [
        30,
        60,
        120,
        200,
        200,
    ]


def test_the_sweep_takes_back_a_job_whose_worker_went_silent(database: Database) -> None:
    with frozen(T0):
        job_id = _schedule(database)
        with database.transaction() as session:
            assert service.sweep(session, stale_seconds=60, redeliver_seconds=600).to_enqueue == [
                job_id
            ]
            service.claim(session, job_id, "killed-worker")
    with frozen(T0 + timedelta(seconds=30)), database.transaction() as session:
        result = service.sweep(session, stale_seconds=60, redeliver_seconds=600)
        assert result.reclaimed == [] and result.to_enqueue == []  # still beating recently
    with frozen(T0 + timedelta(seconds=61)):
        with database.transaction() as session:
            result = service.sweep(session, stale_seconds=60, redeliver_seconds=600)
        assert result.reclaimed == [job_id] and result.to_enqueue == [job_id]
        assert "killed-worker stopped" in (_job(database, job_id).last_error or "")
        assert run_job(database, job_id, "new-worker") == "done"
    assert jobs_helpers.effects(database) == 1


def test_a_worker_whose_job_was_taken_back_cannot_commit_its_effect(database: Database) -> None:
    job_id = _schedule(database)
    with database.transaction() as session:
        service.claim(session, job_id, "slow-worker")
    with frozen(utcnow() + timedelta(minutes=5)):
        with database.transaction() as session:
            service.sweep(session, stale_seconds=60, redeliver_seconds=600)
        assert run_job(database, job_id, "new-worker") == "done"
    with database.transaction() as session:
        assert not service.complete(session, job_id, "slow-worker")
        assert not service.heartbeat(session, job_id, "slow-worker")
    assert jobs_helpers.effects(database) == 1


def test_a_message_not_taken_is_sent_again_after_the_redelivery_time(database: Database) -> None:
    with frozen(T0):
        job_id = _schedule(database)
        with database.transaction() as session:
            assert service.sweep(session, stale_seconds=60, redeliver_seconds=300).to_enqueue
            assert not service.sweep(session, stale_seconds=60, redeliver_seconds=300).to_enqueue
    with frozen(T0 + timedelta(seconds=301)), database.transaction() as session:
        assert service.sweep(session, stale_seconds=60, redeliver_seconds=300).to_enqueue == [
            job_id
        ]
        service.not_sent(session, [job_id])  # the broker was down
    with frozen(T0 + timedelta(seconds=302)), database.transaction() as session:
        assert service.sweep(session, stale_seconds=60, redeliver_seconds=300).to_enqueue == [
            job_id
        ]


def test_retry_and_cancel_are_audited_and_only_from_sensible_states(database: Database) -> None:
    with frozen(T0):
        job_id = _schedule(database, key="b", kind="jobstest.broken")
    for step in range(3):
        with frozen(T0 + timedelta(minutes=step)):
            run_job(database, job_id, "w")
    assert _job(database, job_id).state == "failed"
    with database.transaction() as session:
        service.retry(session, job_id, None)
    job = _job(database, job_id)
    assert (job.state, job.attempts) == ("queued", 0)
    with pytest.raises(JobError), database.transaction() as session:
        service.retry(session, job_id, None)
    with database.transaction() as session:
        service.cancel(session, job_id, None)
    assert _job(database, job_id).state == "cancelled"
    assert run_job(database, job_id, "w") is None
    with database.read() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.target_id == job_id).order_by(AuditEvent.seq)
        ).all()
    assert actions == ["jobs.retry", "jobs.cancel"]


def test_one_lease_holder_at_a_time_and_a_dead_holders_lease_is_taken_over(
    database: Database,
) -> None:
    with frozen(T0):
        with database.transaction() as session:
            assert service.take_lease(session, "jobs.ticker", "a", 30)
        with database.transaction() as session:
            assert not service.take_lease(session, "jobs.ticker", "b", 30)
            assert service.take_lease(session, "jobs.ticker", "a", 30)  # renewing
    with frozen(T0 + timedelta(seconds=31)), database.transaction() as session:
        assert service.take_lease(session, "jobs.ticker", "b", 30)


def test_pruning_forgets_old_finished_jobs_but_keeps_scheduled_periods(database: Database) -> None:
    with frozen(T0):
        done = _schedule(database, key="old")
        period = _schedule(database, key="schedule:jobstest.effect:2026-03-01T12:00Z")
        for job_id in (done, period):
            run_job(database, job_id, "w")
    with frozen(T0 + timedelta(days=31)), database.transaction() as session:
        assert service.prune(session, days=30) == 1
        assert session.get(Job, period) is not None and session.get(Job, done) is None


def test_each_period_of_a_schedule_is_created_once_however_many_schedulers(
    database: Database,
) -> None:
    from opschub.jobs import schedules

    cron = {"jobstest.effect": "*/5 * * * *"}
    for second in (0, 30, 299):  # three schedulers' ticks within one period
        with frozen(T0 + timedelta(seconds=second)), database.transaction() as session:
            schedules.create_due_runs(session, cron)
    with frozen(T0 + timedelta(minutes=5)), database.transaction() as session:
        schedules.create_due_runs(session, cron)
    with database.read() as session:
        keys = sorted(job.key for job in service.list_jobs(session))
    assert keys == [
        "schedule:jobstest.effect:2026-03-01T12:00:00Z",
        "schedule:jobstest.effect:2026-03-01T12:05:00Z",
    ]
    with frozen(T0):
        (upcoming,) = schedules.next_runs(cron)
    assert upcoming.next_at == T0 + timedelta(minutes=5)
