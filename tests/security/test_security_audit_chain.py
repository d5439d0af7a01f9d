"""Attacks on the audit log by someone who can write the database.

They used to be able to rewrite events and rehash the chain (the hash was a plain SHA-256 of
public fields), cut rows off the end, or empty the log, and ``opschub audit verify`` said
"intact" every time.
"""

from __future__ import annotations

import hashlib
import json
import stat
from datetime import UTC
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import typer
from platform_helpers import record_events, tampering
from sqlalchemy import select, text
from typer.testing import CliRunner

from opschub.audit import service
from opschub.audit.cli import register
from opschub.audit.models import AuditEvent
from opschub.config import Settings
from opschub.db import Database

app = typer.Typer()
register(app)
runner = CliRunner()


def _rows(database: Database) -> list[dict[str, Any]]:
    table = AuditEvent.__table__
    with database.engine.connect() as conn:
        rows = conn.execute(select(table).order_by(table.c.seq)).mappings().all()
    return [dict(row) for row in rows]


def _plain_hash(row: dict[str, Any]) -> str:
    """The chain's hash as the old code computed it, from fields anyone can read."""
    fields = {
        key: row[key]
        for key in (
            "seq",
            "id",
            "actor_kind",
            "actor_id",
            "actor_label",
            "action",
            "target_type",
            "target_id",
            "outcome",
            "prev_hash",
        )
    }
    fields["details"] = row["details"]
    occurred = row["occurred_at"]
    occurred = occurred if occurred.tzinfo else occurred.replace(tzinfo=UTC)
    fields["occurred_at"] = occurred.astimezone(UTC).isoformat(timespec="microseconds")
    payload = json.dumps(
        {"v": 1, **fields}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _rewrite_from(database: Database, seq: int, label: str, rehash: Any) -> None:
    """Change the actor of row ``seq`` and rehash it and every later row with ``rehash``."""
    rows = _rows(database)
    with tampering(database) as conn:
        prev = rows[seq - 2]["row_hash"] if seq > 1 else service.GENESIS_HASH
        for row in rows[seq - 1 :]:
            if row["seq"] == seq:
                row["actor_label"] = label
            row["prev_hash"] = prev
            row["row_hash"] = "f" * 64  # placeholder while the unique index is in the way
            conn.execute(
                text("UPDATE audit_events SET row_hash = :h WHERE seq = :s"),
                {"h": f"{row['seq']:064x}", "s": row["seq"]},
            )
        for row in rows[seq - 1 :]:
            row["row_hash"] = prev = rehash(row)
            conn.execute(
                text(
                    "UPDATE audit_events SET actor_label = :l, prev_hash = :p, row_hash = :h "
                    "WHERE seq = :s"
                ),
                {"l": row["actor_label"], "p": row["prev_hash"], "h": prev, "s": row["seq"]},
            )
            if len(rows) > row["seq"]:
                rows[row["seq"]]["prev_hash"] = prev


def _verify() -> Any:
    return runner.invoke(app, ["audit", "verify"])


def _anchor() -> str:
    result = runner.invoke(app, ["audit", "anchor"])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_rewritten_and_rehashed_log_is_found_without_a_checkpoint(database: Database) -> None:
    record_events(database, 6)
    _rewrite_from(database, 3, "someone else", _plain_hash)
    result = _verify()
    assert result.exit_code == 1, result.output
    assert "seq 3" in result.stdout and "without the key" in result.stdout


def test_emptied_log_is_not_intact(database: Database) -> None:
    record_events(database, 4)
    _anchor()
    with tampering(database) as conn:
        conn.execute(text("DELETE FROM audit_events"))
    result = _verify()
    assert result.exit_code == 1
    assert "the log was emptied" in result.stdout
    assert "rows were deleted since the checkpoint was written" in result.stdout


def test_emptied_log_is_not_intact_even_without_a_checkpoint(database: Database) -> None:
    result = _verify()
    assert result.exit_code == 1 and "the log was emptied" in result.stdout


def test_cut_off_tail_is_found_by_the_checkpoint(database: Database) -> None:
    record_events(database, 5)
    assert "checkpoint written" in _anchor()
    with tampering(database) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq >= 4"))
    result = _verify()
    assert result.exit_code == 1
    assert result.stdout.startswith("seq 5: checkpoint checkpoint-00000000000000000005-")
    # And a rewritten log is never anchored: the next checkpoint refuses.
    record_events(database, 3)
    refused = runner.invoke(app, ["audit", "anchor"])
    assert refused.exit_code == 1 and "cut short or rewritten" in refused.stderr


def test_rewrite_with_the_key_is_found_by_the_checkpoint(database: Database) -> None:
    record_events(database, 6)
    _anchor()
    record_events(database, 2)

    def keyed(row: dict[str, Any]) -> str:
        return service.compute_row_hash(SimpleNamespace(**row))  # type: ignore[arg-type]

    _rewrite_from(database, 2, "someone else", keyed)  # someone who also has the master secret
    result = _verify()
    assert result.exit_code == 1
    assert "seq 6 (id" in result.stdout and "hash differs from checkpoint" in result.stdout


def test_forged_checkpoint_is_refused(database: Database, settings: Settings) -> None:
    record_events(database, 3)
    _anchor()
    (checkpoint,) = settings.resolved_audit_anchor_dir.glob("checkpoint-*.json")
    document = json.loads(checkpoint.read_text())
    document["seq"] = 2  # made to fit a log cut short
    checkpoint.write_text(json.dumps(document))
    result = _verify()
    assert result.exit_code == 1 and "signature does not verify" in result.stdout


def test_checkpoints_and_signing_key_are_private(database: Database, settings: Settings) -> None:
    record_events(database, 2)
    _anchor()
    assert "nothing new" in _anchor()  # the head did not move: no second file
    files = [*settings.resolved_audit_anchor_dir.iterdir(), settings.data_dir / "audit-signing.key"]
    assert len(files) == 2
    assert {stat.S_IMODE(path.stat().st_mode) for path in files} == {0o600}


def test_rows_written_before_the_chain_was_keyed_still_verify(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as old_version:
        old_version.setattr(service, "chain_key", lambda: None)  # version 1: plain SHA-256
        record_events(database, 3)
    record_events(database, 3)
    with database.sessions() as session:
        result = service.verify_chain(session)
    assert result.intact and result.checked == 6 and result.keyed_from == 4
    # Rewriting a keyed row the old way, where the keyed chain has started, is found.
    _rewrite_from(database, 5, "someone else", _plain_hash)
    with database.sessions() as session:
        problems = service.verify_chain(session).problems
    assert [(p.seq, p.kind) for p in problems] == [(5, "unkeyed"), (6, "unkeyed")]


def test_serve_writes_a_checkpoint_at_start_up(database: Database, settings: Settings) -> None:
    from opschub.web.cli import startup_checkpoint

    record_events(database, 2)
    startup_checkpoint(settings)
    names = [path.name for path in Path(settings.resolved_audit_anchor_dir).iterdir()]
    assert len(names) == 1 and names[0].startswith("checkpoint-00000000000000000002-")


def test_verify_page_and_api_report_the_checkpoint(
    app: Any, database: Database, settings: Settings
) -> None:
    from factories import logged_in_client
    from opschub.accounts.permissions import Role

    auditor = logged_in_client(app, database, Role.AUDITOR)
    _anchor()
    report = auditor.get("/api/v1/audit/verify").json()
    assert report["intact"] is True and report["keyed_from"] == 1
    (checkpoint,) = settings.resolved_audit_anchor_dir.glob("checkpoint-*.json")
    assert report["checkpoint"]["name"] == checkpoint.name
    page = auditor.get("/audit/verify?lang=en")
    assert "It matches the signed checkpoint of" in page.text
    with tampering(database) as conn:
        conn.execute(text("DELETE FROM audit_events"))
    emptied = auditor.get("/api/v1/audit/verify").json()
    assert emptied["intact"] is False
    assert {problem["kind"] for problem in emptied["problems"]} == {"checkpoint", "empty"}
    assert "The audit log is empty" in auditor.get("/audit/verify?lang=en").text
