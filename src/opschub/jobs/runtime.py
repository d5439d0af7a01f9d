"""A process that runs jobs: Dramatiq worker threads plus a ticker.

The ticker beats the hearts of this process and of the jobs it is running, and, while it holds
the database lease ``jobs.ticker`` (one process at a time, however many run), creates this
period's scheduled runs and sweeps: due rows go to the broker, rows whose worker went silent
are queued again.
"""

from __future__ import annotations

import logging
import threading
import time

import dramatiq

from opschub.config import Settings
from opschub.db import Database
from opschub.jobs import dispatch, runner, schedules, service

log = logging.getLogger("opschub.jobs")

LEASE = "jobs.ticker"


class JobRuntime:
    def __init__(
        self, settings: Settings, database: Database, *, threads: int | None = None
    ) -> None:
        self.settings = settings
        self.database = database
        self.threads = threads or settings.job_threads
        self.mode = "broker" if settings.broker_url else "embedded"
        self.worker_id = dispatch.worker_id()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._worker: dramatiq.Worker | None = None
        self._last_sweep = 0.0

    @property
    def beat_seconds(self) -> float:
        return max(0.2, min(self.settings.sweep_seconds, self.settings.job_stale_seconds / 4))

    @property
    def lease_seconds(self) -> float:
        return max(3 * self.settings.sweep_seconds, float(self.settings.job_stale_seconds))

    def start(self) -> None:
        broker, _ = dispatch.broker(self.settings)
        dispatch.consume_here(self.database)
        self._worker = dramatiq.Worker(
            broker,
            queues={self.settings.job_queue},
            worker_threads=self.threads,
            worker_timeout=100,
        )
        self._worker.start()
        self._ticker = threading.Thread(target=self._loop, name="opschub-jobs-ticker", daemon=True)
        self._ticker.start()
        log.info("jobs: %s worker %s with %d thread(s)", self.mode, self.worker_id, self.threads)

    def stop(self, timeout_seconds: float = 30.0) -> None:
        """Stop taking jobs and let running ones finish (up to ``timeout_seconds``)."""
        self._stop.set()
        if self._worker is not None:
            self._worker.stop(timeout=int(timeout_seconds * 1000))
        if self._ticker is not None:
            self._ticker.join(timeout=timeout_seconds)
        dispatch.stop_consuming()
        try:
            with self.database.transaction() as session:
                service.worker_stopped(session, self.worker_id)
        except Exception:  # the database may be what stopped us
            log.warning("could not sign off worker %s", self.worker_id, exc_info=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # a database or broker outage must not end the ticker
                log.exception("jobs: tick failed; trying again")
            self._stop.wait(self.beat_seconds)

    def tick(self) -> None:
        with self.database.transaction() as session:
            service.worker_alive(session, self.worker_id, self.mode)
            for job_id in runner.running():
                service.heartbeat(session, job_id, self.worker_id)
        if time.monotonic() - self._last_sweep >= self.settings.sweep_seconds:
            self.sweep_once()
            self._last_sweep = time.monotonic()

    def sweep_once(self) -> bool:
        """Schedules and sweep, if this process holds the lease; whether it did."""
        with self.database.transaction() as session:
            if not service.take_lease(session, LEASE, self.worker_id, self.lease_seconds):
                return False
            for kind, cron in sorted(self.settings.schedules.items()):
                try:
                    schedules.create_due_runs(session, {kind: cron})
                except service.JobError as exc:
                    log.error("schedule %s: %s", kind, exc)
            result = service.sweep(
                session,
                stale_seconds=self.settings.job_stale_seconds,
                redeliver_seconds=self.settings.job_redeliver_seconds,
            )
        if result.reclaimed:
            log.warning("jobs: %d job(s) taken back from silent workers", len(result.reclaimed))
        unsent = dispatch.send(self.settings, result.to_enqueue)
        if unsent:
            with self.database.transaction() as session:
                service.not_sent(session, unsent)
        return True
