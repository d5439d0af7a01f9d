"""Shared helpers of the audit tests: tampering as someone with database access could, filling."""

from __future__ import annotations

from dataclasses import dataclass

from intruder import tampering as tampering
from opschub.audit import service
from opschub.audit.models import AuditEvent
from opschub.db import Database


@dataclass(frozen=True)
class FakePrincipal:
    kind: str
    id: str
    name: str


ALICE = FakePrincipal("user", "a" * 32, "alice")
PARTNER_TOKEN = FakePrincipal("token", "b" * 32, "partner feed")


def fill(database: Database, n: int, *, per_transaction: int = 10) -> list[tuple[int, str]]:
    """``n`` varied events; returns (seq, id) of each."""
    written: list[tuple[int, str]] = []
    for start in range(0, n, per_transaction):
        with database.transaction() as session:
            for i in range(start, min(n, start + per_transaction)):
                event = service.record(
                    session,
                    action=("user.login", "report.assess", "permission.refused")[i % 3],
                    actor=(ALICE, PARTNER_TOKEN, None)[i % 3],
                    target_type="report" if i % 2 else None,
                    target_id=f"r{i}" if i % 2 else None,
                    outcome=("ok", "ok", "refused")[i % 3],
                    details={"n": i, "note": "引诱 ünïcode", "nested": {"list": [1, 2.5, None]}},
                )
                written.append((event.seq, event.id))
    return written


def row_id(database: Database, seq: int) -> str:
    with database.sessions() as session:
        found = session.query(AuditEvent.id).filter(AuditEvent.seq == seq).scalar()
        assert isinstance(found, str)
        return found
