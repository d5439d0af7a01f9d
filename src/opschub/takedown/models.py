"""Takedown tables: targets (a reported URL on its way to removal), the items captured there, the
analysts' assessments, the national categories and the analysts' exposure log.

Written only by :mod:`opschub.takedown.service` (notices, re-checks and partners live in
``notice_models.py``, written by the notice services). The bytes of what was captured never live
here: they are in the evidence vault, referenced by ``evidence_item_id``; these tables hold the
hashes, the fetch records and the decisions. Nothing here names a reporter.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from opschub.db import Base, IdMixin, TimestampMixin

# The life of a target (one URL):
#   new -> capturing -> captured | capture_failed
#   captured -> assessing (an analyst decided a first item) -> awaiting_confirmation (four eyes)
#            -> confirmed | disputed (-> a senior analyst: confirmed | not_illegal) | not_illegal
#   confirmed -> notified -> removed     (set by the notice and re-check services)
TARGET_STATES = (
    "new",
    "capturing",
    "captured",
    "capture_failed",
    "assessing",
    "awaiting_confirmation",
    "disputed",
    "confirmed",
    "not_illegal",
    "notified",
    "removed",
)
# An item's life: pending (nobody has seen it) -> awaiting_confirmation (first analyst said
# illegal) -> confirmed | disputed -> confirmed | not_illegal. "not illegal" by a first analyst
# closes the item at once; "auto" items were recognised from an earlier decision.
ITEM_STATES = ("pending", "awaiting_confirmation", "disputed", "confirmed", "not_illegal")
ITEM_KINDS = ("image", "video", "other")
DECISIONS = ("illegal", "not_illegal")
# Who decided: the first analyst, the second (four eyes), a senior analyst after a dispute,
# or the system from an earlier decision on the same material ("assessed once").
ASSESSMENT_ROLES = ("first", "second", "senior", "auto")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Target(IdMixin, Base):
    """One reported URL, from the analyst's claim until the content is gone."""

    __tablename__ = "takedown_targets"
    __table_args__ = (
        CheckConstraint(_in("state", TARGET_STATES), name="state"),
        UniqueConstraint("report_id", "url_hash"),
        Index("ix_takedown_targets_state", "state", "reported_at"),
        Index("ix_takedown_targets_host", "host"),
        Index("ix_takedown_targets_confirmed", "confirmed_at"),
    )

    report_id: Mapped[str | None] = mapped_column(
        ForeignKey("intake_reports.id", ondelete="SET NULL")
    )
    url: Mapped[str] = mapped_column(Text, nullable=False)
    url_hash: Mapped[str] = mapped_column(String(64), nullable=False)  # SHA-256 of url
    host: Mapped[str] = mapped_column(String(255), nullable=False)
    state: Mapped[str] = mapped_column(String(24), nullable=False, default="new")
    reported_at: Mapped[datetime] = mapped_column(nullable=False)
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None] = mapped_column()
    captured_at: Mapped[datetime | None] = mapped_column()
    confirmed_at: Mapped[datetime | None] = mapped_column()
    first_notice_at: Mapped[datetime | None] = mapped_column()
    removed_at: Mapped[datetime | None] = mapped_column()
    # The capture: the page fetch's record (status, final URL, redirects, server addresses,
    # headers) and its outcome (opschub.takedown.fetcher.Outcome values).
    capture_outcome: Mapped[str | None] = mapped_column(String(24))
    capture_error: Mapped[str | None] = mapped_column(Text)
    capture: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    media_found: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    media_skipped: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Where it is hosted (opschub.takedown.hosting, from loaded data only).
    country: Mapped[str | None] = mapped_column(String(2))
    asn: Mapped[int | None] = mapped_column(Integer)
    provider: Mapped[str | None] = mapped_column(String(200))
    hosting: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    updated_at: Mapped[datetime | None] = mapped_column()
    version_id: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version_id}  # noqa: RUF012


class Category(IdMixin, TimestampMixin, Base):
    """A national legal category (for example A, B, C by severity), set by an administrator."""

    __tablename__ = "takedown_categories"

    code: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    legal_reference: Mapped[str] = mapped_column(String(500), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class Item(IdMixin, TimestampMixin, Base):
    """One medium captured at a target (an image or a video), stored in the evidence vault.

    The classification columns hold the item's final answer (copied from the deciding
    assessment, or from the earlier item with the same material for "auto")."""

    __tablename__ = "takedown_items"
    __table_args__ = (
        CheckConstraint(_in("state", ITEM_STATES), name="state"),
        CheckConstraint(_in("kind", ITEM_KINDS), name="kind"),
        UniqueConstraint("target_id", "sha256"),
        Index("ix_takedown_items_sha256", "sha256", "state"),
        Index("ix_takedown_items_state", "state", "created_at"),
    )

    target_id: Mapped[str] = mapped_column(
        ForeignKey("takedown_targets.id", ondelete="CASCADE"), nullable=False, index=True
    )
    evidence_item_id: Mapped[str] = mapped_column(ForeignKey("evidence_items.id"), nullable=False)
    url: Mapped[str] = mapped_column(Text, nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    media_type: Mapped[str] = mapped_column(String(200), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    md5: Mapped[str] = mapped_column(String(32), nullable=False)
    pdq: Mapped[str | None] = mapped_column(String(64))
    pdq_quality: Mapped[int | None] = mapped_column(Integer)
    fetch: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    matches: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    state: Mapped[str] = mapped_column(String(24), nullable=False, default="pending")
    # "Assessed once": the earlier item whose decision this one took over, and (recidivism) the
    # earlier confirmed target where the same material was already seen.
    auto_from_item_id: Mapped[str | None] = mapped_column(String(32))
    seen_before_target_id: Mapped[str | None] = mapped_column(String(32))
    decision: Mapped[str | None] = mapped_column(String(16))
    baseline: Mapped[bool | None] = mapped_column(Boolean)
    category_code: Mapped[str | None] = mapped_column(String(32))
    form: Mapped[str | None] = mapped_column(String(40))
    age_band: Mapped[str | None] = mapped_column(String(8))
    sex: Mapped[str | None] = mapped_column(String(8))
    decided_at: Mapped[datetime | None] = mapped_column()


class Assessment(IdMixin, TimestampMixin, Base):
    """One analyst's decision on one item (four eyes: several per item)."""

    __tablename__ = "takedown_assessments"
    __table_args__ = (
        CheckConstraint(_in("decision", DECISIONS), name="decision"),
        CheckConstraint(_in("role", ASSESSMENT_ROLES), name="role"),
        Index("ix_takedown_assessments_item", "item_id", "created_at"),
    )

    item_id: Mapped[str] = mapped_column(
        ForeignKey("takedown_items.id", ondelete="CASCADE"), nullable=False
    )
    analyst_id: Mapped[str | None] = mapped_column(String(32))
    analyst_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(8), nullable=False)
    decision: Mapped[str] = mapped_column(String(16), nullable=False)
    # The international baseline's three questions, each answered yes or no.
    real_child: Mapped[bool | None] = mapped_column(Boolean)
    under_13: Mapped[bool | None] = mapped_column(Boolean)
    abuse_or_genitals: Mapped[bool | None] = mapped_column(Boolean)
    category_code: Mapped[str | None] = mapped_column(String(32))
    form: Mapped[str | None] = mapped_column(String(40))
    age_band: Mapped[str | None] = mapped_column(String(8))
    sex: Mapped[str | None] = mapped_column(String(8))


class Exposure(IdMixin, Base):
    """An analyst revealed an item (the welfare count: items seen unblurred per day)."""

    __tablename__ = "takedown_exposures"
    __table_args__ = (Index("ix_takedown_exposures_user_day", "user_id", "day"),)

    user_id: Mapped[str] = mapped_column(String(32), nullable=False)
    item_id: Mapped[str] = mapped_column(
        ForeignKey("takedown_items.id", ondelete="CASCADE"), nullable=False
    )
    day: Mapped[date] = mapped_column(Date, nullable=False)
    revealed_at: Mapped[datetime] = mapped_column(nullable=False)
