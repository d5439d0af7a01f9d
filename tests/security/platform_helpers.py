"""Helpers of the platform security tests: audit events in bulk, and the tampering kit (the app
served as ``opschub serve`` serves it is ``loopback.running_server``)."""

from __future__ import annotations

from intruder import tampering as tampering
from opschub.db import Database


def record_events(database: Database, n: int) -> None:
    from opschub.audit import service

    with database.transaction() as session:
        for i in range(n):
            service.record(
                session, action="user.login", actor_label=f"person {i}", details={"i": i}
            )
