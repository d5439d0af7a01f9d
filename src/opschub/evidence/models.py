"""Evidence vault tables. Written only by :mod:`opschub.evidence.service`.

The tables hold metadata, hashes and the custody chain, never the material itself: the bytes live
encrypted in a storage backend (:mod:`opschub.evidence.storage`). Each item's data key is stored
only wrapped by the key-encryption key, which lives outside the database
(:mod:`opschub.evidence.keys`); destroying an item deletes its wrapped key (crypto-shredding) and
keeps the hashes so that the material can be recognised again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from opschub.crypto import EncryptedText
from opschub.db import Base, IdMixin, TimestampMixin

SOURCES = ("report", "url_capture", "seizure", "upload", "transfer")
STATES = ("stored", "destroyed")
CUSTODY_ACTIONS = (
    "acquire",
    "view",
    "download",
    "export",
    "transfer",
    "hold",
    "release",
    "approve",
    "destroy",
)
# Why a person touches evidence; the labels are in opschub.labels (evidence_purpose).
PURPOSES = (
    "assessment",
    "investigation",
    "legal_proceedings",
    "victim_identification",
    "transfer_to_police",
    "quality_review",
    "audit",
    "retention",
    "intake",
)
CATEGORIES = ("unassessed", "illegal", "not_illegal")
# The states of a linked report or case a retention rule counts from ("*": any state). Evidence
# imports neither intake nor cases: these are the codes they give :func:`service.classify`, a
# report's status as it is, a case's status prefixed "case_" (a test keeps both lists in step).
REPORT_STATES = (
    "received",
    "assessing",
    "action_taken",
    "not_illegal",
    "duplicate",
    "out_of_jurisdiction",
    "closed",
)
CASE_STATES = ("case_open", "case_in_progress", "case_on_hold", "case_closed")
LINKED_STATES = ("*", *REPORT_STATES, *CASE_STATES)

SizeType = BigInteger().with_variant(Integer(), "sqlite")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class EvidenceItem(IdMixin, TimestampMixin, Base):
    """One piece of material, identified by the SHA-256 of its bytes (one blob per hash)."""

    __tablename__ = "evidence_items"
    __table_args__ = (
        CheckConstraint(_in("state", STATES), name="state"),
        CheckConstraint(_in("category", CATEGORIES), name="category"),
        Index("ix_evidence_items_state", "state", "category"),
    )

    sha256: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    md5: Mapped[str] = mapped_column(String(32), nullable=False)
    sha1: Mapped[str] = mapped_column(String(40), nullable=False)
    pdq: Mapped[str | None] = mapped_column(String(64))
    pdq_quality: Mapped[int | None] = mapped_column(Integer)
    matches: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    size: Mapped[int] = mapped_column(SizeType, nullable=False)
    media_type: Mapped[str] = mapped_column(String(200), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="stored")
    category: Mapped[str] = mapped_column(String(16), nullable=False, default="unassessed")
    # The state of the report or case the item belongs to (set by its owner through the
    # service), and since when: retention rules count from there.
    linked_state: Mapped[str | None] = mapped_column(String(32))
    linked_since: Mapped[datetime | None] = mapped_column()
    backend: Mapped[str] = mapped_column(String(16), nullable=False)
    on_hold: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    destroyed_at: Mapped[datetime | None] = mapped_column()


class EvidenceKey(Base):
    """An item's data key, wrapped by the key-encryption key named by ``kek_id``.

    The only copy of the data key: deleting this row (and the blob) destroys the item.
    """

    __tablename__ = "evidence_keys"

    item_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("evidence_items.id"), primary_key=True
    )
    kek_id: Mapped[str] = mapped_column(String(64), nullable=False)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class EvidenceAcquisition(IdMixin, Base):
    """One arrival of an item's bytes (the same bytes may arrive several times)."""

    __tablename__ = "evidence_acquisitions"
    __table_args__ = (
        CheckConstraint(_in("source", SOURCES), name="source"),
        Index("ix_evidence_acquisitions_item", "item_id", "acquired_at"),
    )

    item_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("evidence_items.id"), nullable=False
    )
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    source_ref: Mapped[str | None] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(nullable=False)
    acquired_by: Mapped[str] = mapped_column(String(200), nullable=False)
    method: Mapped[str] = mapped_column(String(200), nullable=False)
    tool_version: Mapped[str] = mapped_column(String(100), nullable=False)
    original_name: Mapped[str | None] = mapped_column(
        EncryptedText("evidence_acquisitions.original_name")
    )
    media_type: Mapped[str] = mapped_column(String(200), nullable=False)


class CustodyEvent(IdMixin, Base):
    """One link of an item's custody chain; ``event_hash`` is anchored in the audit log."""

    __tablename__ = "evidence_custody_events"
    __table_args__ = (
        CheckConstraint(_in("action", CUSTODY_ACTIONS), name="action"),
        CheckConstraint(_in("purpose", PURPOSES), name="purpose"),
        UniqueConstraint("item_id", "seq"),
    )

    item_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("evidence_items.id"), nullable=False
    )
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(nullable=False)
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    actor_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    actor_id: Mapped[str | None] = mapped_column(String(64))
    actor_label: Mapped[str] = mapped_column(String(200), nullable=False)
    purpose: Mapped[str] = mapped_column(String(32), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    event_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    audit_event_id: Mapped[str] = mapped_column(String(32), nullable=False)


class RetentionRule(IdMixin, TimestampMixin, Base):
    """Keep items of ``category`` whose linked report or case is in ``linked_state`` for
    ``keep_days`` after it got there (``linked_state`` "*" matches any, counting from
    acquisition when no state is linked)."""

    __tablename__ = "evidence_retention_rules"
    __table_args__ = (
        CheckConstraint(_in("category", CATEGORIES), name="category"),
        CheckConstraint("keep_days >= 0", name="keep_days"),
        UniqueConstraint("category", "linked_state"),
    )

    category: Mapped[str] = mapped_column(String(16), nullable=False)
    linked_state: Mapped[str] = mapped_column(String(32), nullable=False)
    keep_days: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)


class DestructionCertificate(IdMixin, Base):
    """The signed certificate issued when an item was destroyed (kept for ever)."""

    __tablename__ = "evidence_certificates"

    item_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("evidence_items.id"), unique=True, nullable=False
    )
    issued_at: Mapped[datetime] = mapped_column(nullable=False)
    document: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
