"""A referral reaches the partner service in the service's language: the email through a real
loopback SMTP server with Content-Language, the webhook body naming the language of its texts;
on both engines."""

from __future__ import annotations

import asyncio
import email
import json
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.policy import default as default_policy
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

from loopback import Receiver
from opschub import config
from opschub.cases import referrals
from opschub.clock import frozen
from opschub.db import Database
from opschub.jobs.models import Job
from opschub.jobs.runner import run_job
from opschub.webhooks import verify_webhook

CASE = "c" * 32
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SECRET = "referral-secret-0123456789"


@pytest.mark.parametrize(
    ("languages", "default", "chosen"),
    [
        (["bo", "zh-CN", "en"], "en", "zh-Hans"),
        (["fr", "en-GB", "zh"], "zh-Hans", "en"),
        (["zh"], "en", "zh-Hans"),
        (["zh-Hant", "fr"], "en", "en"),  # traditional script: not ours, the default
        (["fr"], "zh-Hans", "zh-Hans"),
        ([], "en", "en"),
    ],
)
def test_the_message_language_is_the_first_of_zh_or_en_the_service_lists(
    languages: list[str], default: str, chosen: str
) -> None:
    assert referrals.message_language(languages, default) == chosen


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


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def mailbox(env: pytest.MonkeyPatch) -> Iterator[_Mailbox]:
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = _Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port, loop=asyncio.new_event_loop())
    controller.start()
    env.setenv("OPSCHUB_SMTP_HOST", "127.0.0.1")
    env.setenv("OPSCHUB_SMTP_PORT", str(port))
    env.setenv("OPSCHUB_CASES_MAIL_FROM", "cases@opschub.test")
    config.get_settings.cache_clear()
    try:
        yield box
    finally:
        controller.stop()


def _send(database: Database, **service: Any) -> str:
    with database.transaction() as session:
        added = referrals.add_service(
            session, WORKER, org_unit_code="XA-01", kind="legal_aid", name="Legal aid", **service
        )
        referral_id = referrals.refer(
            session,
            WORKER,
            case_id=CASE,
            service_id=added.id,
            consent_by="child",
            due_on=date(2026, 12, 10),
            note="secret note",
        ).id
    with database.read() as session:
        job = session.scalars(select(Job).where(Job.kind == "cases.send_referral")).one()
    assert run_job(database, job.id, "test-worker") == "done"
    return referral_id


def _text_part(message: EmailMessage) -> EmailMessage:
    part = message.get_body(preferencelist=("plain",))
    assert isinstance(part, EmailMessage)
    return part


def test_a_referral_email_is_written_in_the_services_language(
    database: Database, cases: FakeBackend, mailbox: _Mailbox
) -> None:
    referral_id = _send(
        database, languages=["bo", "zh-CN", "en"], delivery="email", email="intake@legal.test"
    )
    (raw,) = mailbox.messages
    message = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(message, EmailMessage)
    text = _text_part(message)
    assert message["Content-Language"] == "zh-Hans" and text["Content-Language"] == "zh-Hans"
    assert "转介" in str(message["Subject"]) and "法律援助" in str(message["Subject"])
    body = text.get_content()
    assert referral_id in body and "2026-12-10" in body
    assert "藏语" in body  # the child's languages as names, in Chinese
    assert "secret note" not in raw.decode("ascii", "replace")
    (attachment,) = list(message.iter_attachments())
    sent = json.loads(attachment.get_content())
    assert sent["language"] == "zh-Hans" and sent["text"] == body


def test_a_service_without_zh_or_en_gets_the_operators_default_language(
    database: Database, cases: FakeBackend, mailbox: _Mailbox, env: pytest.MonkeyPatch
) -> None:
    env.setenv("OPSCHUB_DEFAULT_LANGUAGE", "en")
    config.get_settings.cache_clear()
    _send(database, languages=["fr"], delivery="email", email="intake@legal.test")
    (raw,) = mailbox.messages
    message = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(message, EmailMessage)
    assert message["Content-Language"] == "en"
    assert "legal aid" in str(message["Subject"])
    body = _text_part(message).get_content()
    assert "A child has been referred to your service" in body and "Tibetan" in body


def test_a_webhook_says_which_language_its_texts_are_in(
    database: Database, cases: FakeBackend
) -> None:
    with Receiver() as hook:
        _send(
            database,
            languages=["zh"],
            delivery="webhook",
            webhook_url=hook.url("/referrals"),
            webhook_secret=SECRET,
        )
    ((headers, body),) = hook.received
    verify_webhook(SECRET.encode(), body, headers)
    sent = json.loads(body)
    assert sent["language"] == "zh-Hans"
    assert "法律援助" in sent["subject"] and "藏语" in sent["text"]
    assert sent["service_kind"] == "legal_aid"  # the codes stay codes for the receiver's system
