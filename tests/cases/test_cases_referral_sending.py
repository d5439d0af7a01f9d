"""A referral to a partner service goes out through the job worker as a signed webhook to a
local receiver, carries no personal data, and a refused delivery is retried, not lost; the daily
review lists what waits."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from cases_followup_helpers import (
    WORKER,
    FakeBackend,
    case_with_people,
    fake_cases,
    store_case_rows,
)
from sqlalchemy import select

from opschub.audit.models import AuditEvent
from opschub.cases import proceedings, referrals
from opschub.clock import frozen
from opschub.db import Database
from opschub.jobs import service as jobs
from opschub.jobs.models import Job
from opschub.jobs.runner import run_job
from opschub.webhooks import verify_webhook

SECRET = "referral-secret-0123456789"
CASE = "c" * 32
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []
    status: ClassVar[int] = 204

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers.items()), body))
        self.send_response(self.status)
        self.end_headers()


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {"received": [], "status": 204})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/referrals", handler
    server.shutdown()
    server.server_close()


@pytest.fixture
def cases(database: Database) -> Iterator[FakeBackend]:
    with fake_cases() as backend, frozen(NOW):
        store_case_rows(database, case_with_people(backend, languages=["zh", "bo"]))
        yield backend


def _refer(database: Database, url: str) -> str:
    with database.transaction() as session:
        service = referrals.add_service(
            session,
            WORKER,
            org_unit_code="XA-01",
            kind="psychosocial",
            name="Partner counselling",
            delivery="webhook",
            webhook_url=url,
            webhook_secret=SECRET,
        )
        return referrals.refer(
            session,
            WORKER,
            case_id=CASE,
            service_id=service.id,
            consent_by="guardian",
            person_id="v" * 32,
            note="The child is afraid of the dark; secret note",
            due_on=date(2026, 12, 10),
        ).id


def _job(database: Database, kind: str) -> Job:
    with database.read() as session:
        return session.scalars(select(Job).where(Job.kind == kind)).one()


def test_a_referral_is_sent_as_a_signed_webhook_without_personal_data(
    database: Database, cases: FakeBackend, receiver: tuple[str, type[_Receiver]]
) -> None:
    url, handler = receiver
    referral_id = _refer(database, url)
    job = _job(database, "cases.send_referral")
    assert job.payload == {"referral_id": referral_id}
    assert run_job(database, job.id, "test-worker") == "done"
    ((headers, body),) = handler.received
    verify_webhook(SECRET.encode(), body, headers)
    assert headers["X-Opschub-Notice-Id"] == job.key
    sent = json.loads(body)
    assert sent["referral_id"] == referral_id and sent["service_kind"] == "psychosocial"
    assert sent["languages"] == ["zh", "bo"] and sent["due_on"] == "2026-12-10"
    assert "secret note" not in body.decode() and "V1" not in body.decode()
    with database.read() as session:
        (view,) = referrals.referrals_of(session, CASE)
    assert view.delivery_state == "delivered"


def test_a_refused_delivery_is_retried_later(
    database: Database, cases: FakeBackend, receiver: tuple[str, type[_Receiver]]
) -> None:
    url, handler = receiver
    handler.status = 503
    _refer(database, url)
    job = _job(database, "cases.send_referral")
    assert run_job(database, job.id, "test-worker") == "queued"
    job = _job(database, "cases.send_referral")
    assert job.attempts == 1 and "503" in (job.last_error or "")
    with database.read() as session:
        (view,) = referrals.referrals_of(session, CASE)
    assert view.delivery_state == "queued"


def test_the_daily_review_lists_alarms_and_reminders(
    database: Database, cases: FakeBackend
) -> None:
    with database.transaction() as session:
        proceedings.record_step(
            session,
            WORKER,
            case_id=CASE,
            suspect_id="s" * 32,
            kind="investigation_opened",
            on=date(2026, 1, 20),
        )
        job = jobs.schedule(session, kind="cases.stage_alarms", key="schedule:test")
        job_id = job.id
    assert run_job(database, job_id, "test-worker") == "done"
    with database.read() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "cases.followup.reviewed")
        ).one()
    (alarm,) = event.details["alarms"]
    assert alarm["case"] == CASE and alarm["stage"] == "investigation_opened"


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK"


def test_a_referral_by_email_reaches_a_local_mail_server(
    database: Database, cases: FakeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import socket

    from aiosmtpd.controller import Controller

    from opschub import config

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = _Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, loop=asyncio.new_event_loop())
    controller.start()
    monkeypatch.setenv("OPSCHUB_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("OPSCHUB_SMTP_PORT", str(port))
    monkeypatch.setenv("OPSCHUB_CASES_MAIL_FROM", "cases@opschub.test")
    config.get_settings.cache_clear()
    try:
        with database.transaction() as session:
            service = referrals.add_service(
                session,
                WORKER,
                org_unit_code="XA-01",
                kind="legal_aid",
                name="Legal aid office",
                delivery="email",
                email="intake@legal-aid.test",
            )
            referral_id = referrals.refer(
                session,
                WORKER,
                case_id=CASE,
                service_id=service.id,
                consent_by="child",
                note="secret note",
            ).id
        job = _job(database, "cases.send_referral")
        assert run_job(database, job.id, "test-worker") == "done"
    finally:
        controller.stop()
        config.get_settings.cache_clear()
    ((recipients, content),) = mailbox.messages
    assert recipients == ["intake@legal-aid.test"]
    assert referral_id.encode() in content and b"secret note" not in content
    with database.read() as session:
        (view,) = referrals.referrals_of(session, CASE)
    assert view.delivery_state == "delivered"
