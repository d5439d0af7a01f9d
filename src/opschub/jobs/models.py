"""Job tables. Written only by :mod:`opschub.jobs.service`.

The database says what is due; a broker only carries the id of a row to a worker. A row holds no
personal data of its own: a payload names the records a job works on (ids), never their contents.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opschub.clock import utcnow
from opschub.db import Base, IdMixin, TimestampMixin

STATES = ("queued", "running", "done", "failed", "cancelled")
OPEN_STATES = ("queued", "running")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Job(IdMixin, TimestampMixin, Base):
    """One unit of due work; ``key`` makes creating it idempotent."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(_in("state", STATES), name="state"),
        Index("ix_jobs_due", "state", "due_at"),
    )

    kind: Mapped[str] = mapped_column(String(100), nullable=False)
    key: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="queued")
    due_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=5)
    last_error: Mapped[str | None] = mapped_column(Text)
    progress_done: Mapped[int | None] = mapped_column(Integer)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    # When the sweep last handed it to the broker (None: not yet, or to be handed again).
    enqueued_at: Mapped[datetime | None] = mapped_column()
    locked_by: Mapped[str | None] = mapped_column(String(100))
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)


class JobLease(Base):
    """A named lease (the scheduler's): whoever holds an unexpired lease acts, nobody else."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)


class JobWorker(Base):
    """A worker process and its last sign of life (shown by /healthz and the Jobs page)."""

    __tablename__ = "job_workers"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16), nullable=False)  # embedded | broker
    started_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
