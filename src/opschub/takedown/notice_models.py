"""Notice tables: the partner directory, the notices sent for a target, each delivery attempt,
and the re-checks of a notified URL until it is gone.

Written only by the notice services (:mod:`opschub.takedown.partners` writes partners,
:mod:`opschub.takedown.notifying` notices, attempts and re-checks). A notice's acknowledgement
token is stored as its SHA-256 only; a partner's webhook secret is encrypted at rest. Nothing
here names a reporter, and no captured material is ever held: only its hashes, in the target's
items (``takedown_items``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from opschub.clock import utcnow
from opschub.crypto import EncryptedText
from opschub.db import Base, IdMixin, TimestampMixin
from opschub.takedown import models as _targets  # noqa: F401  (takedown_targets, for the keys)

CHANNELS = ("email", "webhook")
LANGUAGES = ("en", "zh-Hans")
# Who a notice goes to: the hosting provider (or, behind a CDN, the CDN and the origin), the
# police unit (a setting), the partner hotline of the hosting country when it is abroad.
RECIPIENT_KINDS = ("host", "cdn", "origin", "police", "hotline")
# queued -> sent (handed over, acceptance unknown) | delivered (SMTP accepted / webhook 2xx)
#   -> acknowledged (the recipient followed the link or called the API) -> removed
# disputed: the recipient says the content is not illegal (an analyst looks again);
# escalated: no removal within the escalation time, police and partner hotline told;
# failed: every try refused (shown with the error; an analyst can send again).
NOTICE_STATES = (
    "queued",
    "sent",
    "delivered",
    "acknowledged",
    "removed",
    "disputed",
    "escalated",
    "failed",
)
OPEN_NOTICE_STATES = ("queued", "sent", "delivered", "acknowledged", "escalated", "failed")
# One try to hand a notice over. "sending" is written (and committed) before the message leaves;
# a try left "sending" by a killed worker is reconciled, never simply sent again.
ATTEMPT_STATES = ("sending", "delivered", "refused", "unconfirmed")
# What a re-check saw: gone (404/410, or none of the confirmed items among the page's media),
# still there (unchanged by ETag/hash, or changed but an item is still there), an error.
RECHECK_OUTCOMES = ("gone", "unchanged", "changed", "still_there", "error")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Partner(IdMixin, TimestampMixin, Base):
    """A partner hotline abroad: notices for content hosted in its country are forwarded to it."""

    __tablename__ = "takedown_partners"
    __table_args__ = (
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        CheckConstraint(_in("language", LANGUAGES), name="language"),
        UniqueConstraint("country", "name", name="country_name"),
    )

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    country: Mapped[str] = mapped_column(String(2), nullable=False, index=True)
    language: Mapped[str] = mapped_column(String(8), nullable=False, default="en")
    channel: Mapped[str] = mapped_column(String(8), nullable=False)
    address: Mapped[str] = mapped_column(String(500), nullable=False)  # email or webhook URL
    webhook_secret: Mapped[str | None] = mapped_column(
        EncryptedText("takedown_partners.webhook_secret")
    )
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notice(IdMixin, TimestampMixin, Base):
    """One notice about one target to one recipient."""

    __tablename__ = "takedown_notices"
    __table_args__ = (
        CheckConstraint(_in("state", NOTICE_STATES), name="state"),
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        CheckConstraint(_in("recipient_kind", RECIPIENT_KINDS), name="recipient_kind"),
        CheckConstraint(_in("language", LANGUAGES), name="language"),
        # One notice per recipient address and kind for a target: notify runs twice, creates once.
        UniqueConstraint("target_id", "recipient_kind", "address", name="target_recipient"),
        Index("ix_takedown_notices_state", "state", "created_at"),
    )

    target_id: Mapped[str] = mapped_column(
        ForeignKey("takedown_targets.id", ondelete="CASCADE"), nullable=False, index=True
    )
    recipient_kind: Mapped[str] = mapped_column(String(8), nullable=False)
    recipient_name: Mapped[str] = mapped_column(String(200), nullable=False)
    channel: Mapped[str] = mapped_column(String(8), nullable=False)
    address: Mapped[str] = mapped_column(String(500), nullable=False)
    language: Mapped[str] = mapped_column(String(8), nullable=False, default="en")
    partner_id: Mapped[str | None] = mapped_column(
        ForeignKey("takedown_partners.id", ondelete="SET NULL")
    )
    reason: Mapped[str] = mapped_column(String(16), nullable=False, default="initial")
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="queued")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rounds: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # sends incl. resends
    sent_at: Mapped[datetime | None] = mapped_column()  # the first successful hand-over
    last_sent_at: Mapped[datetime | None] = mapped_column()
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    removed_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    ack_token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class NoticeAttempt(IdMixin, Base):
    """One try to hand a notice over (its number is in the Message-ID / Idempotency-Key)."""

    __tablename__ = "takedown_notice_attempts"
    __table_args__ = (
        CheckConstraint(_in("state", ATTEMPT_STATES), name="state"),
        UniqueConstraint("notice_id", "number", name="notice_number"),
    )

    notice_id: Mapped[str] = mapped_column(
        ForeignKey("takedown_notices.id", ondelete="CASCADE"), nullable=False
    )
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[str] = mapped_column(String(12), nullable=False, default="sending")
    started_at: Mapped[datetime] = mapped_column(nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column()
    detail: Mapped[str | None] = mapped_column(Text)  # the SMTP answer, HTTP status or error
    tls: Mapped[bool | None] = mapped_column(Boolean)


class Recheck(IdMixin, Base):
    """One look at a notified URL: what the server said and what it means."""

    __tablename__ = "takedown_rechecks"
    __table_args__ = (
        CheckConstraint(_in("outcome", RECHECK_OUTCOMES), name="outcome"),
        Index("ix_takedown_rechecks_target", "target_id", "checked_at"),
    )

    target_id: Mapped[str] = mapped_column(
        ForeignKey("takedown_targets.id", ondelete="CASCADE"), nullable=False
    )
    checked_at: Mapped[datetime] = mapped_column(nullable=False)
    outcome: Mapped[str] = mapped_column(String(12), nullable=False)
    status: Mapped[int | None] = mapped_column(Integer)
    fetch_outcome: Mapped[str | None] = mapped_column(String(24))
    # What the next re-check sends back (If-None-Match, If-Modified-Since) and compares against:
    # the page's and each medium's ETag, Last-Modified and SHA-256.
    validators: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    downloaded: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    detail: Mapped[str | None] = mapped_column(Text)
