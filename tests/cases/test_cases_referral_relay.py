"""A referral by email goes through the installation's mail relay exactly as a notice does: it
logs in, speaks STARTTLS and checks the relay's certificate against OPSCHUB_SMTP_CA_FILE; with
OPSCHUB_SMTP_REQUIRE_TLS nothing goes to a relay that offers no STARTTLS; a 5xx answer marks the
referral failed at once, a 4xx leaves it queued for the job worker's next try. Real aiosmtpd
servers on loopback, on both engines."""

from __future__ import annotations

import asyncio
import email
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from cases_followup_helpers import (
    WORKER,
    FakeBackend,
    case_with_people,
    fake_cases,
    store_case_rows,
)
from sqlalchemy import select

from loopback import free_port, self_signed
from opschub import config
from opschub.audit.models import AuditEvent
from opschub.cases import referrals
from opschub.clock import as_utc, frozen
from opschub.db import Database
from opschub.jobs.models import Job
from opschub.jobs.runner import run_job

CASE = "c" * 32
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
USER, PASSWORD = "opschub-relay", "relay-password-0123"


@dataclass
class Relay:
    """What a real aiosmtpd server saw: logins, MAIL FROM commands (each with whether the
    connection was encrypted by then) and the messages it accepted. ``answers`` are given, one
    per message, before it accepts (e.g. ``451 ...``)."""

    answers: list[str] = field(default_factory=list)
    logins: list[tuple[str, bytes, bytes]] = field(default_factory=list)
    mail_from: list[tuple[bool, str]] = field(default_factory=list)
    messages: list[tuple[bool, list[str], bytes]] = field(default_factory=list)

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> Any:
        from aiosmtpd.smtp import AuthResult

        self.logins.append((mechanism, auth_data.login, auth_data.password))
        ok = (auth_data.login, auth_data.password) == (USER.encode(), PASSWORD.encode())
        return AuthResult(success=ok)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.mail_from.append((session.ssl is not None, address))
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.answers:
            return self.answers.pop(0)
        self.messages.append((session.ssl is not None, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@contextmanager
def relay_server(folder: Path, relay: Relay, *, tls: bool = True) -> Iterator[tuple[int, Path]]:
    """aiosmtpd on loopback. With ``tls``: STARTTLS (a generated self-signed certificate, which
    is the CA file) and AUTH required, offered only after STARTTLS. Without: a plain relay that
    offers neither. Yields the port and the certificate."""
    from aiosmtpd.controller import Controller

    cert, key = self_signed(folder)
    options: dict[str, Any] = {}
    if tls:
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_tls.load_cert_chain(cert, key)
        options = {
            "tls_context": server_tls,
            "require_starttls": True,
            "authenticator": relay.authenticate,
            "auth_required": True,
        }
    port = free_port()
    controller = Controller(
        relay, hostname="127.0.0.1", port=port, loop=asyncio.new_event_loop(), **options
    )
    controller.start()
    try:
        yield port, cert
    finally:
        controller.stop()


@pytest.fixture
def cases(database: Database) -> Iterator[FakeBackend]:
    with fake_cases() as backend, frozen(NOW):
        store_case_rows(database, case_with_people(backend, languages=["zh", "bo"]))
        yield backend


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    config.get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    config.get_settings.cache_clear()


def configure(env: pytest.MonkeyPatch, port: int, **values: object) -> None:
    env.setenv("OPSCHUB_SMTP_HOST", "127.0.0.1")
    env.setenv("OPSCHUB_SMTP_PORT", str(port))
    env.setenv("OPSCHUB_CASES_MAIL_FROM", "cases@opschub.test")
    for name, value in values.items():
        env.setenv(f"OPSCHUB_SMTP_{name.upper()}", str(value))
    config.get_settings.cache_clear()


def refer(database: Database) -> str:
    """A referral to a service that reads Chinese, to be sent by email (the job is queued)."""
    with database.transaction() as session:
        service = referrals.add_service(
            session,
            WORKER,
            org_unit_code="XA-01",
            kind="legal_aid",
            name="Legal aid office",
            languages=["bo", "zh-CN"],
            delivery="email",
            email="intake@legal-aid.test",
        )
        return referrals.refer(
            session,
            WORKER,
            case_id=CASE,
            service_id=service.id,
            consent_by="child",
            due_on=date(2026, 12, 10),
            note="secret note",
        ).id


def send_job(database: Database) -> Job:
    with database.read() as session:
        job = session.scalars(select(Job).where(Job.kind == "cases.send_referral")).one()
        session.expunge(job)
        return job


def delivery_state(database: Database) -> str:
    with database.read() as session:
        (view,) = referrals.referrals_of(session, CASE)
    return view.delivery_state


def events(database: Database, action: str) -> list[AuditEvent]:
    with database.read() as session:
        rows = list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        for row in rows:
            session.expunge(row)
        return rows


def test_a_referral_email_logs_in_over_starttls_with_the_ca_file_in_the_services_language(
    database: Database, cases: FakeBackend, env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    relay = Relay()
    with relay_server(tmp_path, relay) as (port, cert):
        configure(
            env, port, username=USER, password=PASSWORD, require_tls="true", ca_file=str(cert)
        )
        referral_id = refer(database)
        assert run_job(database, send_job(database).id, "test-worker") == "done"
    assert [(login, password) for _, login, password in relay.logins] == [
        (USER.encode(), PASSWORD.encode())
    ]
    ((over_tls, recipients, raw),) = relay.messages
    assert over_tls and recipients == ["intake@legal-aid.test"]
    assert relay.mail_from == [(True, "cases@opschub.test")]
    message = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(message, EmailMessage)
    assert message["Content-Language"] == "zh-Hans"
    assert "转介" in str(message["Subject"]) and "法律援助" in str(message["Subject"])
    text = message.get_body(preferencelist=("plain",))
    assert text is not None and referral_id in text.get_content()
    assert b"secret note" not in raw
    assert delivery_state(database) == "delivered"
    (delivered,) = events(database, "cases.referral.delivered")
    assert delivered.target_id == referral_id and delivered.details == {"delivery": "email"}


def test_a_relay_certificate_the_ca_file_does_not_vouch_for_sends_nothing(
    database: Database, cases: FakeBackend, env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    other_ca, _ = self_signed(other)  # a CA file that is not the relay's
    relay = Relay()
    with relay_server(tmp_path, relay) as (port, _cert):
        configure(env, port, username=USER, password=PASSWORD, ca_file=str(other_ca))
        refer(database)
        assert run_job(database, send_job(database).id, "test-worker") == "failed"
    assert relay.logins == [] and relay.mail_from == [] and relay.messages == []
    assert delivery_state(database) == "failed"
    (failed,) = events(database, "cases.referral.delivery_failed")
    assert "was not accepted" in failed.details["error"]
    assert "OPSCHUB_SMTP_CA_FILE" in failed.details["error"]


def test_with_require_tls_a_relay_without_starttls_gets_nothing_and_the_referral_fails(
    database: Database, cases: FakeBackend, env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    relay = Relay()
    with relay_server(tmp_path, relay, tls=False) as (port, _cert):
        configure(env, port, username=USER, password=PASSWORD, require_tls="true")
        referral_id = refer(database)
        assert run_job(database, send_job(database).id, "test-worker") == "failed"
    # Not the password, not the envelope, not the message: nothing in clear.
    assert relay.logins == [] and relay.mail_from == [] and relay.messages == []
    assert delivery_state(database) == "failed"
    job = send_job(database)
    assert job.attempts == 1 and job.state == "failed"  # not retried: it would not change
    (failed,) = events(database, "cases.referral.delivery_failed")
    assert failed.target_id == referral_id and failed.outcome == "failed"
    assert failed.details["error"] == (
        f"127.0.0.1:{port} does not offer STARTTLS and OPSCHUB_SMTP_REQUIRE_TLS is set: "
        "nothing was sent"
    )
    assert "does not offer STARTTLS" in (job.last_error or "")


def test_a_permanent_refusal_5xx_marks_the_referral_failed_without_a_retry(
    database: Database, cases: FakeBackend, env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    relay = Relay(answers=["554 5.7.1 Message rejected by policy"])
    with relay_server(tmp_path, relay) as (port, cert):
        configure(env, port, username=USER, password=PASSWORD, ca_file=str(cert))
        referral_id = refer(database)
        assert run_job(database, send_job(database).id, "test-worker") == "failed"
    assert relay.messages == []
    assert delivery_state(database) == "failed"
    job = send_job(database)
    assert job.state == "failed" and job.attempts == 1 and job.max_attempts == 8
    (failed,) = events(database, "cases.referral.delivery_failed")
    assert failed.target_id == referral_id
    assert failed.details["error"] == "SMTP 554 5.7.1 Message rejected by policy"
    assert events(database, "cases.referral.delivered") == []


def test_a_temporary_refusal_4xx_leaves_the_referral_queued_for_the_next_try(
    database: Database, cases: FakeBackend, env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    relay = Relay(answers=["451 4.3.0 Try again later"])
    with relay_server(tmp_path, relay) as (port, cert):
        configure(env, port, username=USER, password=PASSWORD, ca_file=str(cert))
        refer(database)
        with frozen(NOW):
            assert run_job(database, send_job(database).id, "test-worker") == "queued"
        job = send_job(database)
        assert job.attempts == 1 and "SMTP 451 4.3.0 Try again later" in (job.last_error or "")
        assert job.due_at is not None and as_utc(job.due_at) == NOW + timedelta(seconds=60)
        assert delivery_state(database) == "queued"
        assert events(database, "cases.referral.delivery_failed") == []
        # The next try, once due, goes through.
        with frozen(NOW + timedelta(seconds=60)):
            assert run_job(database, job.id, "test-worker") == "done"
    assert len(relay.messages) == 1
    assert delivery_state(database) == "delivered"
