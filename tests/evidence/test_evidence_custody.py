"""Custody chain, anchors, tampering detection, holds, four eyes, destruction and retention."""

from __future__ import annotations

import itertools
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from evidence_helpers import (
    OFFICER,
    SECOND,
    contains_slice,
    put_bytes,
    read_back,
    tampering,
    vault,
)
from sqlalchemy import select, text

from opschub import clock, config
from opschub.audit.models import AuditEvent
from opschub.db import Database
from opschub.evidence import integrity, service
from opschub.evidence.models import EvidenceKey
from opschub.evidence.storage import blob_name


def _kinds(database: Database) -> list[str]:
    with database.read() as session:
        return sorted(p.kind for p in integrity.verify(session, vault()).problems)


def test_every_custody_event_is_chained_and_anchored_in_the_audit_log(database: Database) -> None:
    item = put_bytes(database, b"abc").item
    read_back(database, item.id)
    with database.transaction() as session:
        service.hold(session, item.id, actor=OFFICER, reason="court order 12/2026")
        service.release(session, item.id, actor=OFFICER, reason="case closed")
    with database.read() as session:
        events = service.custody(session, item.id)
        anchors = {
            a.id: a
            for a in session.scalars(select(AuditEvent).where(AuditEvent.target_id == item.id))
        }
    assert [e.action for e in events] == ["acquire", "view", "hold", "release"]
    assert events[0].prev_hash == "0" * 64
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.event_hash
    for ev in events:
        anchor = anchors[ev.audit_event_id]
        assert anchor.action == f"evidence.{ev.action}"
        assert anchor.details["custody_hash"] == ev.event_hash
    assert _kinds(database) == []


def test_tampering_with_blob_key_event_and_anchor_is_detected_and_named(
    database: Database, settings: config.Settings
) -> None:
    blob_item = put_bytes(database, os.urandom(3000)).item
    key_item = put_bytes(database, os.urandom(3000)).item
    event_item = put_bytes(database, os.urandom(3000)).item
    anchor_item = put_bytes(database, os.urandom(3000)).item
    missing_item = put_bytes(database, os.urandom(3000)).item
    assert _kinds(database) == []

    blob = settings.data_dir / "evidence" / blob_name(blob_item.sha256)
    data = bytearray(blob.read_bytes())
    data[100] ^= 1
    blob.write_bytes(bytes(data))
    (settings.data_dir / "evidence" / blob_name(missing_item.sha256)).unlink()
    with tampering(database) as conn:
        conn.execute(text("DELETE FROM evidence_keys WHERE item_id = :id"), {"id": key_item.id})
        conn.execute(
            text("UPDATE evidence_custody_events SET note = 'nothing to see' WHERE item_id = :id"),
            {"id": event_item.id},
        )
        with database.read() as session:
            anchor_id = service.custody(session, anchor_item.id)[0].audit_event_id
        conn.execute(
            text("UPDATE audit_events SET details = :d WHERE id = :id"),
            {"d": '{"custody_hash": "' + "f" * 64 + '", "custody_seq": 1}', "id": anchor_id},
        )
    with database.read() as session:
        problems = integrity.verify(session, vault()).problems
    by_item = {(p.item_id, p.kind) for p in problems}
    assert (blob_item.id, "changed_blob") in by_item
    assert (key_item.id, "missing_key") in by_item
    assert (event_item.id, "changed_event") in by_item
    assert (anchor_item.id, "broken_anchor") in by_item
    assert (missing_item.id, "missing_blob") in by_item
    messages = "\n".join(str(p) for p in problems)
    assert "changed blob" in messages and "key missing for an item not destroyed" in messages
    assert "changed event" in messages and "broken anchor" in messages
    assert "missing blob" in messages


def test_swapped_wrapped_key_does_not_unwrap(database: Database) -> None:
    first = put_bytes(database, b"first").item
    second = put_bytes(database, b"second").item
    with tampering(database) as conn:
        wrapped = conn.execute(
            text("SELECT wrapped FROM evidence_keys WHERE item_id = :id"), {"id": first.id}
        ).scalar_one()
        conn.execute(
            text("UPDATE evidence_keys SET wrapped = :w WHERE item_id = :id"),
            {"w": wrapped, "id": second.id},
        )
    assert _kinds(database) == ["bad_key"]


def test_deleted_custody_event_is_found_through_its_anchor(database: Database) -> None:
    item = put_bytes(database, b"abc").item
    read_back(database, item.id)
    with tampering(database) as conn:
        conn.execute(
            text("DELETE FROM evidence_custody_events WHERE item_id = :id AND seq = 2"),
            {"id": item.id},
        )
    assert _kinds(database) == ["missing_event"]


def test_legal_hold_blocks_destruction_until_released(database: Database) -> None:
    item = put_bytes(database, b"held material").item
    with database.transaction() as session:
        service.hold(session, item.id, actor=OFFICER, reason="court order")
    with database.transaction() as session, pytest.raises(service.Refused, match="legal hold"):
        service.destroy(session, vault(), item.id, actor=OFFICER, reason="due")
    with database.transaction() as session:
        service.release(session, item.id, actor=OFFICER)
        service.destroy(session, vault(), item.id, actor=OFFICER, reason="due")
    with database.read() as session:
        assert service.get_item(session, item.id).state == "destroyed"


def test_destruction_leaves_no_slice_of_the_bytes_and_keeps_hashes(
    database: Database, settings: config.Settings
) -> None:
    data = os.urandom(200_000)
    item = put_bytes(database, data).item
    read_back(database, item.id)
    with database.transaction() as session:
        document = service.destroy(
            session, vault(), item.id, actor=OFFICER, reason="retention ran out", rule="r-90"
        )
    for offset in (0, 50_000, 199_968):
        assert contains_slice(settings.data_dir, data[offset : offset + 32]) == []
    assert not (settings.data_dir / "evidence" / blob_name(item.sha256)).exists()
    with database.read() as session:
        assert session.get(EvidenceKey, item.id) is None
        kept = service.get_item(session, item.id)
        assert (kept.sha256, kept.md5, kept.size) == (item.sha256, item.md5, len(data))
        assert service.certificate(session, item.id) == document
    assert document["sanitization"]["technique"] == "cryptographic erase"
    assert document["verification"]["result"] == "data key absent"
    assert document["media"]["sha256"] == item.sha256
    assert service.verify_document(document) == []
    assert service.verify_document(document, vault().signer.public_key_pem()) == []
    forged = {**document, "sanitization": {**document["sanitization"], "reason": "other"}}
    assert service.verify_document(forged) != []
    assert _kinds(database) == []
    with pytest.raises(service.Refused, match="destroyed"):
        put_bytes(database, data)  # recognised again, not stored again


def test_certificate_signed_by_another_key_is_refused(database: Database, tmp_path: Path) -> None:
    from opschub.evidence.signing import Signer

    item = put_bytes(database, b"x").item
    with database.transaction() as session:
        document = service.destroy(session, vault(), item.id, actor=OFFICER, reason="due")
    other = Signer(tmp_path / "other.pem").public_key_pem()
    assert service.verify_document(document, other) == [
        "signed with another key than the published one",
        "signature does not match: the document was changed or forged",
    ]


def test_four_eyes_needs_a_second_person_and_records_the_approval(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSCHUB_EVIDENCE_FOUR_EYES", "1")
    config.get_settings.cache_clear()
    item = put_bytes(database, b"x").item
    with database.transaction() as session, pytest.raises(service.Refused, match="second person"):
        service.destroy(session, vault(), item.id, actor=OFFICER, reason="due")
    with database.transaction() as session:
        service.approve(session, item.id, actor=OFFICER, action="destroy")
    with database.transaction() as session, pytest.raises(service.Refused, match="second person"):
        service.destroy(session, vault(), item.id, actor=OFFICER, reason="due")
    with database.transaction() as session:
        service.approve(session, item.id, actor=SECOND, action="destroy")
    with database.transaction() as session:
        document = service.destroy(session, vault(), item.id, actor=OFFICER, reason="due")
    assert document["sanitization"]["approved_by"] == "second"
    with database.read() as session:
        actions = [(e.action, e.actor_label) for e in service.custody(session, item.id)]
    assert actions[-3:] == [("approve", "officer"), ("approve", "second"), ("destroy", "officer")]


def test_retention_lists_due_items_by_category_and_linked_state(database: Database) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with clock.frozen(start):
        capture = put_bytes(database, b"not illegal capture").item
        exhibit = put_bytes(database, b"exhibit").item
        held = put_bytes(database, b"held").item
    with database.transaction() as session:
        service.set_retention_rule(
            session, actor=OFFICER, category="not_illegal", linked_state="*", keep_days=90,
            name="non-illegal captures: 90 days",
        )  # fmt: skip
        service.set_retention_rule(
            session, actor=OFFICER, category="illegal", linked_state="case_closed",
            keep_days=3650, name="10 years after the case closes",
        )  # fmt: skip
        for item in (capture, held):
            service.classify(session, item.id, actor=OFFICER, category="not_illegal")
        service.classify(
            session, exhibit.id, actor=OFFICER, category="illegal", linked_state="case_closed",
            linked_since=start + timedelta(days=10),
        )  # fmt: skip
        service.hold(session, held.id, actor=OFFICER, reason="appeal pending")
    with database.read() as session:
        assert service.due_for_destruction(session, start + timedelta(days=89)) == []
        due = service.due_for_destruction(session, start + timedelta(days=91))
        assert [d.item_id for d in due] == [capture.id]
        later = service.due_for_destruction(session, start + timedelta(days=10 + 3651))
        assert sorted(d.item_id for d in later) == sorted([capture.id, exhibit.id])


def test_a_retention_rule_names_only_an_allowed_state(database: Database) -> None:
    with database.transaction() as session:
        with pytest.raises(service.RuleInvalid) as refused:
            service.set_retention_rule(
                session, actor=OFFICER, category="illegal", linked_state="case_archived",
                keep_days=30, name="archived cases",
            )  # fmt: skip
        assert refused.value.fields == ("linked_state",)
        assert "'case_archived' is not one of: *, received" in str(refused.value)
        service.set_retention_rule(
            session, actor=OFFICER, category="illegal", linked_state="out_of_jurisdiction",
            keep_days=30, name="forwarded abroad",
        )  # fmt: skip
    with database.read() as session:
        assert [r.linked_state for r in service.retention_rules(session)] == ["out_of_jurisdiction"]


def test_the_daily_retention_job_lists_what_is_due_and_destroys_nothing(
    database: Database,
) -> None:
    from opschub.jobs import service as jobs
    from opschub.jobs.runner import run_job

    start = datetime(2026, 1, 1, tzinfo=UTC)
    with clock.frozen(start):
        capture = put_bytes(database, b"a capture found not illegal").item
    with database.transaction() as session:
        service.set_retention_rule(
            session, actor=OFFICER, category="not_illegal", linked_state="*", keep_days=90,
            name="non-illegal captures: 90 days",
        )  # fmt: skip
        service.classify(session, capture.id, actor=OFFICER, category="not_illegal")
    with clock.frozen(start + timedelta(days=91)):
        with database.transaction() as session:
            job_id = jobs.schedule(session, kind="evidence.retention_review", key="r-1").id
        assert run_job(database, job_id, "test-worker") == "done"
    with database.read() as session:
        review = session.query(AuditEvent).filter_by(action="evidence.retention.reviewed").one()
        assert review.details["due"] == 1
        assert review.details["items"][0]["item_id"] == capture.id
        assert [e.action for e in service.custody(session, capture.id)][-1] != "destroy"
