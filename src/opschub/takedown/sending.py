"""Handing a notice over: one SMTP exchange or one signed webhook POST per try.

Every try carries its key, ``<notice id>.<attempt number>``: in the email's ``Message-ID``
(``<notice-ID.N@sender-domain>``) and ``X-Opschub-Attempt``, and in the webhook's
``Idempotency-Key`` header (with ``X-Opschub-Notice-Id``). A receiver that keys on it processes
each try once even when the same try reaches it twice. Recording tries (``sending`` before,
the answer after) is :mod:`opschub.takedown.notifying`'s part; nothing here touches the database.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

import httpx

from opschub import mail
from opschub.takedown import notices
from opschub.webhooks import sign_webhook

IDEMPOTENCY_HEADER = "Idempotency-Key"
ATTEMPT_HEADER = "X-Opschub-Attempt"


class SendFailed(Exception):
    """The receiver refused the try or could not be reached; the message says what it said.
    ``permanent``: another try cannot succeed (a mail relay's 5xx, TLS it must offer and does
    not, a certificate the CA does not vouch for)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Sent:
    detail: str  # the SMTP answer or the HTTP status
    tls: bool | None = None


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


def send_email(relay: mail.Relay, email: EmailMessage, key: str) -> Sent:
    """One exchange with the installation's mail relay (:func:`opschub.mail.send`: STARTTLS,
    the CA file, the login). Raises :class:`SendFailed`, permanent when the relay's refusal is."""
    try:
        sent = mail.send(relay, email, after_send=lambda: after_send(key))
    except mail.MailFailed as exc:
        raise SendFailed(str(exc), permanent=exc.permanent) from exc
    return Sent(sent.detail, sent.tls)


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
