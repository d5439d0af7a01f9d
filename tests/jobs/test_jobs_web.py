"""The administrator's Jobs page, retry and cancel through it, and what /healthz tells anyone."""

from __future__ import annotations

from datetime import timedelta

import jobs_helpers  # noqa: F401  (declares the test tasks)
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from factories import logged_in_client
from opschub.audit.models import AuditEvent
from opschub.clock import frozen, utcnow
from opschub.db import Database
from opschub.jobs import service
from opschub.jobs.runner import run_job


def _failed_job(database: Database) -> str:
    with database.transaction() as session:
        job_id = service.schedule(session, kind="jobstest.broken", key="notice-42").id
    start = utcnow()
    for minute in (1, 2, 3):  # each try after the previous one's backoff
        with frozen(start + timedelta(minutes=minute)):
            run_job(database, job_id, "w")
    return job_id


def test_admin_sees_failed_job_with_its_error_and_retries_it(
    app: FastAPI, database: Database
) -> None:
    job_id = _failed_job(database)
    with database.transaction() as session:
        running = service.schedule(session, kind="jobstest.effect", key="scan-7").id
        service.claim(session, running, "worker-x")
        service.progress(session, running, "worker-x", 40, 100)
    admin = logged_in_client(app, database, "admin")
    page = admin.get("/admin/jobs?lang=en")
    assert page.status_code == 200
    assert "cannot reach the service for notice-42" in page.text
    assert 'value="40"' in page.text and "40 / 100" in page.text  # progress of the running job
    assert "clean up finished jobs" in page.text  # next scheduled run, by its name
    response = admin.post(f"/admin/jobs/{job_id}/retry", follow_redirects=False)
    assert response.status_code == 303
    with database.read() as session:
        assert service.get(session, job_id).state == "queued"
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "jobs.retry")).one()
    assert event.actor_id == admin.user.id  # type: ignore[attr-defined]
    again = admin.post(f"/admin/jobs/{job_id}/retry")
    assert again.status_code == 400
    assert admin.post(f"/admin/jobs/{job_id}/cancel", follow_redirects=False).status_code == 303
    with database.read() as session:
        assert service.get(session, job_id).state == "cancelled"


def test_the_jobs_page_is_translated(app: FastAPI, database: Database) -> None:
    admin = logged_in_client(app, database, "admin")
    page = admin.get("/admin/jobs?lang=zh-Hans")
    assert "后台任务" in page.text and "下一次定期运行" in page.text


def test_only_administrators_see_jobs(app: FastAPI, database: Database) -> None:
    analyst = logged_in_client(app, database, "analyst")
    assert analyst.get("/admin/jobs").status_code == 403


def test_healthz_names_the_parts_but_no_host(client: TestClient, database: Database) -> None:
    with database.transaction() as session:
        service.worker_alive(session, "secret-host-123-4567-abcdef", "embedded")
    body = client.get("/healthz").json()
    assert body["broker"] == "embedded"
    assert body["workers"]["alive"] == 1
    assert body["workers"]["last_heartbeat_seconds_ago"] >= 0
    assert "secret-host" not in str(body)
