"""The installation's outgoing mail server (``OPSCHUB_SMTP_*``): one SMTP exchange per call, the
same for every capability that sends email (takedown's notices, cases' referrals).

:class:`Relay` is the server as the settings describe it; :func:`send` hands one message over:
STARTTLS whenever the relay offers it (and, when ``require_tls``, nothing is sent to a relay
that does not: not even the envelope), the relay's certificate checked against ``ca_file`` (or
the system's CAs), a login when a user name is set, then the message. A refusal raises
:class:`MailFailed`, which says whether another try could succeed (:attr:`MailFailed.permanent`):
a 5xx answer, a relay without the STARTTLS it must offer, a certificate that does not check or a
missing AUTH are permanent; a 4xx answer, a timeout or a dropped connection are temporary.
Retrying is the caller's part (the job worker's); nothing here touches the database.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

DEFAULT_TIMEOUT = 30.0  # seconds, for the connection and each answer


class MailFailed(Exception):
    """The relay refused the message or could not be reached; the text says what it said.

    ``permanent``: another try would get the same answer (a 5xx, a refused STARTTLS or
    certificate); ``code``: the SMTP reply code, when there was one."""

    def __init__(self, message: str, *, permanent: bool = False, code: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code


@dataclass(frozen=True)
class Sent:
    detail: str  # what the relay answered
    tls: bool  # the message went over STARTTLS


@dataclass(frozen=True)
class Relay:
    host: str
    port: int = 25
    username: str = ""
    password: str = ""
    require_tls: bool = False
    ca_file: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def from_settings(cls, settings: Any) -> Relay:
        """The relay of :class:`opschub.config.Settings` (``smtp_*``); without a host, a
        :class:`MailFailed` naming the setting (temporary: an operator can set it)."""
        if not settings.smtp_host:
            raise MailFailed("OPSCHUB_SMTP_HOST is not set: no email can go out")
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            require_tls=settings.smtp_require_tls,
            ca_file=str(settings.smtp_ca_file) if settings.smtp_ca_file else None,
        )

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)


def _reply(exc: smtplib.SMTPResponseException) -> str:
    error = exc.smtp_error
    text = error.decode(errors="replace") if isinstance(error, bytes) else str(error or "")
    return f"SMTP {exc.smtp_code} {text}".strip()


def _refused(recipients: dict[str, tuple[int, bytes]]) -> MailFailed:
    codes = [code for code, _ in recipients.values()]
    listed = "; ".join(
        f"{address}: {code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
        for address, (code, text) in recipients.items()
    )
    return MailFailed(
        f"SMTP refused the recipients ({listed})",
        permanent=bool(codes) and all(code >= 500 for code in codes),
        code=max(codes) if codes else None,
    )


def send(
    relay: Relay, email: EmailMessage, *, after_send: Callable[[], None] | None = None
) -> Sent:
    """One SMTP exchange through ``relay``. ``after_send`` is called once the relay has
    accepted the message (a test stands there to kill the worker). Raises :class:`MailFailed`."""
    try:
        with smtplib.SMTP(relay.host, relay.port, timeout=relay.timeout) as smtp:
            smtp.ehlo()
            tls = False
            if smtp.has_extn("starttls"):
                smtp.starttls(context=relay.ssl_context())
                smtp.ehlo()
                tls = True
            elif relay.require_tls:
                raise MailFailed(
                    f"{relay.address} does not offer STARTTLS and OPSCHUB_SMTP_REQUIRE_TLS is "
                    "set: nothing was sent",
                    permanent=True,
                )
            if relay.username:
                if not smtp.has_extn("auth"):
                    raise MailFailed(
                        f"{relay.address} does not offer AUTH"
                        + ("" if tls else " without STARTTLS")
                        + ": OPSCHUB_SMTP_USERNAME cannot log in; nothing was sent",
                        permanent=True,
                    )
                smtp.login(relay.username, relay.password)
            refused = smtp.send_message(email)
            if after_send is not None:
                after_send()
    except MailFailed:
        raise
    except smtplib.SMTPRecipientsRefused as exc:
        raise _refused(exc.recipients) from exc
    except smtplib.SMTPResponseException as exc:
        raise MailFailed(_reply(exc), permanent=exc.smtp_code >= 500, code=exc.smtp_code) from exc
    except ssl.SSLCertVerificationError as exc:
        raise MailFailed(
            f"the certificate of {relay.address} was not accepted ({exc.verify_message}): "
            "check OPSCHUB_SMTP_CA_FILE; nothing was sent",
            permanent=True,
        ) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise MailFailed(f"SMTP {relay.address}: {exc or type(exc).__name__}") from exc
    if refused:
        raise _refused(refused)
    return Sent("250 accepted", tls)
