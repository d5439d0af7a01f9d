"""Intake tables. Written only by :mod:`opschub.intake.service`.

Public reports hold nothing that identifies the device or the connection they came from (no IP
address, user agent, cookie or browser fingerprint). Free text that a person wrote (where they
saw it, the description, contact details) is encrypted at rest.
"""

from __future__ import annotations

import hashlib
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
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opschub.clock import utcnow
from opschub.crypto import EncryptedText
from opschub.db import Base, IdMixin, TimestampMixin

CHANNELS = ("public", "self_report", "partner")
# The life of a report: received -> assessing -> one outcome -> closed (with a reason); a closed
# report may be reopened (with a reason). The allowed moves are in opschub.intake.states.
OUTCOMES = ("action_taken", "not_illegal", "duplicate", "out_of_jurisdiction")
STATUSES = ("received", "assessing", *OUTCOMES, "closed")
OPEN_STATUSES = ("received", "assessing", *OUTCOMES)
# Stated by the reporter; nested in the statistical bands of opschub.taxonomy.AGE_BAND
# (0-9 spans two of them) and cut at 13 for triage.
STATED_AGE_BANDS = ("0-9", "10-12", "13-14", "15-17")
FINGERPRINT_TYPES = ("sha256", "md5", "sha1", "pdq")
MEDIA_KINDS = ("image", "video")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def report_reference(report_id: str) -> str:
    """The short reference people read and type (``R-7KQ2-M9XD``), derived from the id.

    40 bits of SHA-256(id) in Crockford base32: two of 100,000 reports share one with a
    probability of about 0.5 %, so a search by reference lists every report that has it and the
    report page also shows the full id.
    """
    value = int.from_bytes(hashlib.sha256(report_id.encode("ascii")).digest()[:5], "big")
    symbols = "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(35, -1, -5))
    return f"R-{symbols[:4]}-{symbols[4:]}"


def _reference_default(context: Any) -> str:
    return report_reference(context.get_current_parameters()["id"])


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Report(IdMixin, TimestampMixin, Base):
    __tablename__ = "intake_reports"
    __table_args__ = (
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        Index("ix_intake_reports_queue", "status", "priority", "created_at"),
        Index("ix_intake_reports_partner", "partner_token_id", "created_at"),
        Index("ix_intake_reports_queue_age", "status", "created_at"),
        # The queue's orders (priority, then age; age): read in order, the rest sorted per
        # priority (incremental sort), stopping at a page.
        Index("ix_intake_reports_order", "priority", "created_at", "id"),
        Index("ix_intake_reports_created", "created_at", "id"),
        Index("ix_intake_reports_channel", "channel", "priority", "created_at", "id"),
        Index("ix_intake_reports_assignee", "assigned_to_id", "priority", "created_at", "id"),
    )

    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(24), nullable=False, default="received")
    incident_types: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    setting: Mapped[str | None] = mapped_column(String(16))
    where_seen: Mapped[str | None] = mapped_column(EncryptedText("intake_reports.where_seen"))
    description: Mapped[str | None] = mapped_column(EncryptedText("intake_reports.description"))
    contact: Mapped[str | None] = mapped_column(EncryptedText("intake_reports.contact"))
    stated_age_band: Mapped[str | None] = mapped_column(String(8))
    media_kind: Mapped[str | None] = mapped_column(String(8))
    incident_at: Mapped[datetime | None] = mapped_column()
    partner_token_id: Mapped[str | None] = mapped_column(String(32))
    partner_reference: Mapped[str | None] = mapped_column(String(200), index=True)
    priority: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    priority_reasons: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    receipt_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Derived from the id at insert (also by bulk inserts); see report_reference.
    reference: Mapped[str] = mapped_column(
        String(12), nullable=False, index=True, default=_reference_default
    )
    # The analyst working on the report (a user id); claimed = assigned to oneself.
    assigned_to_id: Mapped[str | None] = mapped_column(String(32))
    assigned_at: Mapped[datetime | None] = mapped_column()

    urls: Mapped[list[ReportUrl]] = relationship(
        back_populates="report",
        order_by="ReportUrl.position",
        cascade="all, delete-orphan",
        foreign_keys="ReportUrl.report_id",
    )
    fingerprints: Mapped[list[ReportFingerprint]] = relationship(
        back_populates="report", order_by="ReportFingerprint.position", cascade="all, delete-orphan"
    )
    matches: Mapped[list[ReportMatch]] = relationship(
        back_populates="report", order_by="ReportMatch.distance", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class ReportUrl(IdMixin, Base):
    __tablename__ = "intake_report_urls"
    __table_args__ = (
        Index("ix_intake_report_urls_normalised_hash", "normalised_hash"),
        Index("ix_intake_report_urls_host", "host"),
    )

    report_id: Mapped[str] = mapped_column(
        ForeignKey("intake_reports.id", ondelete="CASCADE"), nullable=False, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    original: Mapped[str] = mapped_column(Text, nullable=False)
    normalised: Mapped[str] = mapped_column(Text, nullable=False)
    # SHA-256 of the normalised URL: a short, indexable key (URLs may be 2,048 characters).
    normalised_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    host: Mapped[str] = mapped_column(String(255), nullable=False)
    linked_report_id: Mapped[str | None] = mapped_column(
        ForeignKey("intake_reports.id", ondelete="SET NULL")
    )

    report: Mapped[Report] = relationship(back_populates="urls", foreign_keys=[report_id])


class ReportFingerprint(IdMixin, Base):
    __tablename__ = "intake_report_fingerprints"
    __table_args__ = (
        CheckConstraint(_in("hash_type", FINGERPRINT_TYPES), name="hash_type"),
        Index("ix_intake_report_fingerprints_value", "hash_type", "value"),
    )

    report_id: Mapped[str] = mapped_column(
        ForeignKey("intake_reports.id", ondelete="CASCADE"), nullable=False, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    hash_type: Mapped[str] = mapped_column(String(8), nullable=False)
    value: Mapped[str] = mapped_column(String(64), nullable=False)
    quality: Mapped[int | None] = mapped_column(Integer)

    report: Mapped[Report] = relationship(back_populates="fingerprints")


class ReportMatch(IdMixin, Base):
    __tablename__ = "intake_report_matches"
    __table_args__ = (Index("ix_intake_report_matches_hash", "hash"),)

    report_id: Mapped[str] = mapped_column(
        ForeignKey("intake_reports.id", ondelete="CASCADE"), nullable=False, index=True
    )
    fingerprint_id: Mapped[str] = mapped_column(
        ForeignKey("intake_report_fingerprints.id", ondelete="CASCADE"), nullable=False
    )
    list_name: Mapped[str] = mapped_column(String(100), nullable=False)
    hash_type: Mapped[str] = mapped_column(String(8), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)
    label: Mapped[str | None] = mapped_column(String(300))
    distance: Mapped[int] = mapped_column(Integer, nullable=False)
    transform: Mapped[str | None] = mapped_column(String(40))

    report: Mapped[Report] = relationship(back_populates="matches")
    fingerprint: Mapped[ReportFingerprint] = relationship()


class ReportStatusChange(IdMixin, TimestampMixin, Base):
    """One move of a report between states, with its reason (encrypted: it may name people)."""

    __tablename__ = "intake_report_status_changes"
    __table_args__ = (Index("ix_intake_report_status_changes_report", "report_id", "created_at"),)

    report_id: Mapped[str] = mapped_column(
        ForeignKey("intake_reports.id", ondelete="CASCADE"), nullable=False
    )
    from_status: Mapped[str] = mapped_column(String(24), nullable=False)
    to_status: Mapped[str] = mapped_column(String(24), nullable=False)
    reason: Mapped[str | None] = mapped_column(EncryptedText("intake_report_status_changes.reason"))
    actor_id: Mapped[str | None] = mapped_column(String(32))
    actor_name: Mapped[str | None] = mapped_column(String(200))


class ReportNote(IdMixin, TimestampMixin, Base):
    """An analyst's note on a report: encrypted at rest; writing one is audited."""

    __tablename__ = "intake_report_notes"
    __table_args__ = (Index("ix_intake_report_notes_report", "report_id", "created_at"),)

    report_id: Mapped[str] = mapped_column(
        ForeignKey("intake_reports.id", ondelete="CASCADE"), nullable=False
    )
    author_id: Mapped[str | None] = mapped_column(String(32))
    author_name: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(EncryptedText("intake_report_notes.body"), nullable=False)


class IdempotencyRecord(IdMixin, TimestampMixin, Base):
    """The answer given to a partner request, replayed when the same key comes again."""

    __tablename__ = "intake_idempotency"
    __table_args__ = (UniqueConstraint("token_id", "key", name="token_key"),)

    token_id: Mapped[str] = mapped_column(String(32), nullable=False)
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    body_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    status_code: Mapped[int] = mapped_column(Integer, nullable=False)
    response: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
