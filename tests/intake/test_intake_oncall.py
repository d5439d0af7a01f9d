"""An urgent or high report reaches the on-call person as a signed webhook, through the job
worker, with nothing in it that identifies what was reported or who reported it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from loopback import Receiver
from opschub import config
from opschub.db import Database
from opschub.intake import service
from opschub.jobs.models import Job
from opschub.jobs.runner import run_job
from opschub.webhooks import verify_webhook

SECRET = "on-call-secret-0123456789"


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[dict[str, str], bytes]]]:
    with Receiver() as hook:
        monkeypatch.setenv("OPSCHUB_ONCALL_WEBHOOK_URL", hook.url("/alert"))
        monkeypatch.setenv("OPSCHUB_ONCALL_WEBHOOK_SECRET", SECRET)
        config.get_settings.cache_clear()
        yield hook.received
    config.get_settings.cache_clear()


def _submit(database: Database, *reports: service.ReportIn) -> list[str]:
    with database.transaction() as session:
        return [s.id for s in service.submit_reports(session, list(reports))]


def _alert_jobs(database: Database) -> list[Job]:
    with database.read() as session:
        return list(session.scalars(select(Job).where(Job.kind == "intake.alert_on_call")))


URGENT_URL = "https://example.org/reported-page"


def test_a_high_report_sends_one_signed_alert_without_what_was_reported(
    database: Database, receiver: list[tuple[dict[str, str], bytes]]
) -> None:
    high, low = _submit(
        database,
        service.ReportIn(
            channel="partner", urls=[URGENT_URL], stated_age_band="0-9", description="secret"
        ),
        service.ReportIn(channel="partner", urls=["https://example.org/other"]),
    )
    (job,) = _alert_jobs(database)
    assert job.payload == {"reports": [high]}
    assert run_job(database, job.id, "test-worker") == "done"
    ((headers, body),) = receiver
    verify_webhook(SECRET.encode(), body, headers)  # raises when the signature is wrong
    assert headers["X-Opschub-Notice-Id"] == job.key
    alert = json.loads(body)
    (sent,) = alert["reports"]
    assert sent["level"] == "high" and sent["link"].endswith(f"/queue/{high}")
    assert URGENT_URL not in body.decode() and "secret" not in body.decode()
    assert low not in body.decode()


def test_no_alert_without_the_setting_or_for_ordinary_reports(database: Database) -> None:
    _submit(database, service.ReportIn(channel="partner", urls=[URGENT_URL], stated_age_band="0-9"))
    assert _alert_jobs(database) == []


def test_a_refused_alert_is_retried_later_not_lost(
    database: Database,
    receiver: list[tuple[dict[str, str], bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPSCHUB_ONCALL_WEBHOOK_URL", "http://127.0.0.1:9/unreachable")
    config.get_settings.cache_clear()
    _submit(database, service.ReportIn(channel="partner", urls=[URGENT_URL], stated_age_band="0-9"))
    (job,) = _alert_jobs(database)
    assert run_job(database, job.id, "test-worker") == "queued"  # to be tried again
    (job,) = _alert_jobs(database)
    assert job.attempts == 1 and job.last_error
