"""Statistics tables. Written only by :mod:`opschub.stats.service`.

They hold aggregate figures and definitions, never a person: indicators an administrator added,
regional submissions (every version kept; a correction is a new version), and publications (the
protected tables exactly as published, with digests of the data and the method that made them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from opschub.db import Base, IdMixin, TimestampMixin

SUBMISSION_STATUSES = ("pending", "approved", "rejected", "superseded")
SUBMISSION_FORMATS = ("csv", "xlsx", "dhis2")
METHODS = ("suppress", "round")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class AddedIndicator(IdMixin, TimestampMixin, Base):
    """An indicator an administrator added; ``definition`` is its TOML table as JSON."""

    __tablename__ = "stats_indicators"

    indicator_id: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    added_by: Mapped[str | None] = mapped_column(String(200))


class Submission(IdMixin, TimestampMixin, Base):
    """One region's figures for one period, as one version."""

    __tablename__ = "stats_submissions"
    __table_args__ = (
        CheckConstraint(_in("status", SUBMISSION_STATUSES), name="status"),
        CheckConstraint(_in("source_format", SUBMISSION_FORMATS), name="source_format"),
        UniqueConstraint("org_unit_code", "period", "version"),
        Index("ix_stats_submissions_status", "status", "created_at"),
    )

    org_unit_code: Mapped[str] = mapped_column(String(64), nullable=False)
    period: Mapped[str] = mapped_column(String(16), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    source_format: Mapped[str] = mapped_column(String(8), nullable=False)
    file_name: Mapped[str | None] = mapped_column(String(255))
    digest: Mapped[str] = mapped_column(String(64), nullable=False)
    submitted_by: Mapped[str | None] = mapped_column(String(200))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column()
    is_demo: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class SubmissionValue(IdMixin, Base):
    """One figure of a submission: an indicator's total (dimension "total") or one category."""

    __tablename__ = "stats_submission_values"
    __table_args__ = (
        UniqueConstraint(
            "submission_id",
            "indicator_id",
            "dimension",
            "category",
            name="uq_stats_submission_values_cell",
        ),
    )

    submission_id: Mapped[str] = mapped_column(
        ForeignKey("stats_submissions.id", ondelete="CASCADE"), nullable=False, index=True
    )
    indicator_id: Mapped[str] = mapped_column(String(64), nullable=False)
    dimension: Mapped[str] = mapped_column(String(64), nullable=False)
    category: Mapped[str] = mapped_column(String(64), nullable=False)
    value: Mapped[float] = mapped_column(Float, nullable=False)


class Publication(IdMixin, TimestampMixin, Base):
    """A published set of protected tables: versioned, with what made it, reproducible."""

    __tablename__ = "stats_publications"
    __table_args__ = (CheckConstraint(_in("method", METHODS), name="method"),)

    version: Mapped[int] = mapped_column(Integer, nullable=False, unique=True)
    period: Mapped[str] = mapped_column(String(16), nullable=False)
    method: Mapped[str] = mapped_column(String(16), nullable=False)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    # [{"indicator": id, "by": [dims]}]: which tables, in order.
    contents: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    input_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    output_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    tables: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    notes: Mapped[str | None] = mapped_column(Text)
    published_by: Mapped[str | None] = mapped_column(String(200))
    is_demo: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
