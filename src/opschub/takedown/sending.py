"""Handing a notice over: one SMTP exchange or one signed webhook POST per try.

Every try carries its key, ``<notice id>.<attempt number>``: in the email's ``Message-ID``
(``<notice-ID.N@sender-domain>``) and ``X-Opschub-Attempt``, and in the webhook's
``Idempotency-Key`` header (with ``X-Opschub-Notice-Id``). A receiver that keys on it processes
each try once even when the same try reaches it twice. Recording tries (``sending`` before,
the answer after) is :mod:`opschub.takedown.notifying`'s part; nothing here touches the database.
"""

from __future__ import annotations

import json
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx

from opschub.takedown import notices
from opschub.webhooks import sign_webhook

IDEMPOTENCY_HEADER = "Idempotency-Key"
ATTEMPT_HEADER = "X-Opschub-Attempt"


class SendFailed(Exception):
    """The receiver refused the try or could not be reached; the message says what it said."""


@dataclass(frozen=True)
class Sent:
    detail: str  # the SMTP answer or the HTTP status
    tls: bool | None = None


@dataclass(frozen=True)
class SmtpRelay:
    host: str
    port: int = 25
    username: str = ""
    password: str = ""
    require_tls: bool = False
    ca_file: str | None = None
    timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings: Any) -> SmtpRelay:
        if not settings.smtp_host:
            raise SendFailed("OPSCHUB_SMTP_HOST is not set: notices by email cannot go out")
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            require_tls=settings.smtp_require_tls,
            ca_file=str(settings.smtp_ca_file) if settings.smtp_ca_file else None,
        )

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)


# A test stands here to kill the worker between sending and recording (tests/takedown).
after_send: Callable[[str], None] = lambda key: None  # noqa: E731


def attempt_key(notice_id: str, number: int) -> str:
    return f"{notice_id}.{number}"


def email_for(message: notices.Notice, number: int) -> EmailMessage:
    """The notice as an email for try ``number``: its Message-ID names notice and try."""
    email = notices.build_email(message)
    email.replace_header(
        "Message-ID", f"<notice-{attempt_key(message.notice_id, number)}@{message.sender.domain}>"
    )
    email[ATTEMPT_HEADER] = str(number)
    return email


def send_email(relay: SmtpRelay, email: EmailMessage, key: str) -> Sent:
    """One SMTP exchange: STARTTLS when offered (required if the relay says so), a login when
    credentials are set, then the message. Raises :class:`SendFailed`."""
    try:
        with smtplib.SMTP(relay.host, relay.port, timeout=relay.timeout) as smtp:
            smtp.ehlo()
            tls = False
            if smtp.has_extn("starttls"):
                smtp.starttls(context=relay.ssl_context())
                smtp.ehlo()
                tls = True
            elif relay.require_tls:
                raise SendFailed(f"{relay.host}:{relay.port} does not offer STARTTLS")
            if relay.username:
                smtp.login(relay.username, relay.password)
            refused = smtp.send_message(email)
            after_send(key)
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
        raise SendFailed(f"SMTP {exc.smtp_code} {text}".strip()) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise SendFailed(f"SMTP refused the recipients: {exc.recipients}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise SendFailed(f"SMTP {relay.host}:{relay.port}: {exc or type(exc).__name__}") from exc
    if refused:
        raise SendFailed(f"SMTP refused: {refused}")
    return Sent("250 accepted", tls)


def webhook_body(message: notices.Notice, number: int) -> bytes:
    """The JSON a webhook receives: the X-ARF reports, the plain-language body and subject in
    the recipient's language, and the acknowledgement link."""
    return json.dumps(
        {
            "notice_id": message.notice_id,
            "attempt": number,
            "role": message.role,
            "language": message.recipient.language,
            "subject": notices.render_subject(message),
            "body": notices.render_body(message),
            "acknowledge_url": message.acknowledge_url,
            "reports": notices.xarf_reports(message),
        },
        ensure_ascii=False,
        sort_keys=True,
    ).encode()


def send_webhook(
    url: str,
    secret: str,
    body: bytes,
    *,
    notice_id: str,
    key: str,
    timestamp: int | None = None,
    timeout: float = 20.0,
) -> Sent:
    """POST the signed body; a 2xx answer is delivery. Raises :class:`SendFailed`."""
    if not secret:
        raise SendFailed("no webhook secret is set for this recipient: webhooks are signed")
    headers = sign_webhook(secret.encode(), body, timestamp=timestamp, notice_id=notice_id)
    headers[IDEMPOTENCY_HEADER] = key
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise SendFailed(f"webhook {url}: {exc or type(exc).__name__}") from exc
    after_send(key)
    if not response.is_success:
        raise SendFailed(f"webhook {url}: HTTP {response.status_code}")
    return Sent(f"HTTP {response.status_code}", url.startswith("https://"))
