"""The mail relay (opschub.mail) tells a refusal that another try cannot change from one that it
can: a recipient refused with 5xx is permanent, with 4xx temporary; a relay out of reach is
temporary; a login the relay does not offer sends nothing. Real aiosmtpd servers on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest

from loopback import free_port
from opschub import mail


@dataclass
class Relay:
    rcpt_answer: str = "250 OK"
    messages: list[bytes] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.rcpt_answer.startswith("250"):
            envelope.rcpt_tos.append(address)
        return self.rcpt_answer

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(bytes(envelope.content))
        return "250 OK"


@contextmanager
def plain_relay(relay: Relay) -> Iterator[int]:
    """A relay on loopback without STARTTLS or AUTH."""
    from aiosmtpd.controller import Controller

    port = free_port()
    controller = Controller(relay, hostname="127.0.0.1", port=port, loop=asyncio.new_event_loop())
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def message() -> EmailMessage:
    email = EmailMessage()
    email["From"] = "sender@opschub.test"
    email["To"] = "partner@service.test"
    email["Subject"] = "test"
    email.set_content("generated test text")
    return email


@pytest.mark.parametrize(
    ("answer", "permanent"),
    [("550 5.1.1 No such mailbox", True), ("450 4.2.1 Mailbox busy", False)],
)
def test_a_refused_recipient_is_permanent_on_5xx_and_temporary_on_4xx(
    answer: str, permanent: bool
) -> None:
    relay = Relay(rcpt_answer=answer)
    with plain_relay(relay) as port, pytest.raises(mail.MailFailed) as refused:
        mail.send(mail.Relay("127.0.0.1", port, timeout=5), message())
    assert refused.value.permanent is permanent
    assert refused.value.code == int(answer[:3])
    assert "partner@service.test" in str(refused.value) and answer in str(refused.value)
    assert relay.messages == []


def test_a_relay_out_of_reach_is_a_temporary_failure() -> None:
    port = free_port()  # nobody listens there
    with pytest.raises(mail.MailFailed) as failed:
        mail.send(mail.Relay("127.0.0.1", port, timeout=5), message())
    assert not failed.value.permanent and f"127.0.0.1:{port}" in str(failed.value)


def test_a_login_the_relay_does_not_offer_sends_nothing() -> None:
    relay = Relay()
    with plain_relay(relay) as port, pytest.raises(mail.MailFailed) as failed:
        mail.send(mail.Relay("127.0.0.1", port, username="u", password="p", timeout=5), message())
    assert failed.value.permanent
    assert str(failed.value) == (
        f"127.0.0.1:{port} does not offer AUTH without STARTTLS: OPSCHUB_SMTP_USERNAME cannot "
        "log in; nothing was sent"
    )
    assert relay.messages == []


def test_a_relay_that_accepts_says_so() -> None:
    relay = Relay()
    with plain_relay(relay) as port:
        sent = mail.send(mail.Relay("127.0.0.1", port, timeout=5), message())
    assert sent == mail.Sent("250 accepted", tls=False)
    (content,) = relay.messages
    assert b"generated test text" in content
