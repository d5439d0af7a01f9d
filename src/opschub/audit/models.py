"""The audit log table: one row per event, hash-chained in ``seq`` order.

Rows are only ever inserted, by :func:`opschub.audit.service.record`. The table never holds IP
addresses or user agents. Triggers refuse UPDATE and DELETE (see :mod:`opschub.audit.ddl`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Index, Integer, String, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from opschub.db import Base, IdMixin

OUTCOMES = ("ok", "refused", "failed")
ACTOR_KINDS = ("user", "token", "system", "public")
HASH_HEX_LEN = 64

# SQLite only aliases INTEGER PRIMARY KEYs to 64 bits; plain INTEGER is 64-bit there anyway.
SeqType = BigInteger().with_variant(Integer(), "sqlite")


class AuditEvent(IdMixin, Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        CheckConstraint("outcome IN ('ok', 'refused', 'failed')", name="outcome"),
        CheckConstraint("seq > 0", name="seq_positive"),
        Index("ix_audit_events_occurred_at", "occurred_at"),
        Index("ix_audit_events_action", "action"),
        Index("ix_audit_events_actor_id", "actor_id"),
        Index("ix_audit_events_target", "target_type", "target_id"),
    )

    seq: Mapped[int] = mapped_column(SeqType, unique=True, nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(nullable=False)
    actor_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    actor_id: Mapped[str | None] = mapped_column(String(64))
    actor_label: Mapped[str] = mapped_column(String(200), nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    target_type: Mapped[str | None] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(String(300))
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    prev_hash: Mapped[str] = mapped_column(String(HASH_HEX_LEN), nullable=False)
    row_hash: Mapped[str] = mapped_column(String(HASH_HEX_LEN), unique=True, nullable=False)

    def __repr__(self) -> str:
        return f"<AuditEvent seq={self.seq} id={self.id} action={self.action}>"


@event.listens_for(AuditEvent.__table__, "after_create")
def _install_append_only(target: Any, connection: Connection, **_kw: Any) -> None:
    """``create_all`` (tests, fresh installs) gets the same triggers as the migration."""
    from opschub.audit.ddl import install_append_only

    install_append_only(connection)
