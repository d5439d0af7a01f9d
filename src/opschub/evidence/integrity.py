"""``opschub evidence verify``: re-hash every blob, check every custody chain and its anchors.

Each problem is named by kind (``missing_blob``, ``changed_blob``, ``changed_event``,
``missing_event``, ``broken_anchor``, ``missing_key``, ``bad_key``, ``key_not_destroyed``,
``blob_not_destroyed``, ``unknown_blob``) and by the item it concerns.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opschub.audit import service as audit
from opschub.audit.models import AuditEvent
from opschub.evidence import stream
from opschub.evidence.keys import KeyServiceError
from opschub.evidence.models import CustodyEvent, EvidenceItem, EvidenceKey
from opschub.evidence.service import GENESIS, _ciphertext, event_hash
from opschub.evidence.storage import StorageError, blob_name
from opschub.evidence.vault import Vault


@dataclass(frozen=True)
class Problem:
    item_id: str | None
    kind: str  # missing_blob, changed_blob, changed_event, broken_anchor, missing_key, ...
    message: str

    def __str__(self) -> str:
        return self.message

    def to_json(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "kind": self.kind, "message": self.message}


@dataclass
class VerifyReport:
    items: int = 0
    blobs_checked: int = 0
    events: int = 0
    problems: list[Problem] = field(default_factory=list)


def verify(
    session: Session,
    vault: Vault,
    *,
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Re-hash every blob that decrypts, check every custody chain and its audit anchors."""
    report = VerifyReport()
    problems = report.problems
    if session.scalar(select(EvidenceKey.item_id).limit(1)) is not None:
        vault.keys.check(create=False)  # no usable key file: verify cannot run (exit 2)
    known_blobs: set[str] = set()
    for item in session.scalars(select(EvidenceItem).order_by(EvidenceItem.id)):
        report.items += 1
        known_blobs.add(blob_name(item.sha256))
        report.events += _verify_chain(session, item, problems)
        if item.state == "stored":
            _verify_blob(session, vault, item, problems)
            report.blobs_checked += 1
        else:
            if session.get(EvidenceKey, item.id) is not None:
                problems.append(
                    Problem(
                        item.id,
                        "key_not_destroyed",
                        f"evidence item {item.id}: destroyed, but its data key still exists",
                    )
                )
            if vault.backend.exists(blob_name(item.sha256)):
                problems.append(
                    Problem(
                        item.id,
                        "blob_not_destroyed",
                        f"evidence item {item.id}: destroyed, but its blob is still stored "
                        "(run opschub evidence recover)",
                    )
                )
        if progress is not None:
            progress(1)
    for name, _modified in vault.backend.list("blobs/"):
        if name not in known_blobs:
            problems.append(Problem(None, "unknown_blob", f"blob {name}: no record refers to it"))
    return report


def _verify_blob(
    session: Session, vault: Vault, item: EvidenceItem, problems: list[Problem]
) -> None:
    key = session.get(EvidenceKey, item.id)
    if key is None:
        problems.append(
            Problem(
                item.id,
                "missing_key",
                f"evidence item {item.id}: key missing for an item not destroyed",
            )
        )
        return
    try:
        data_key = vault.keys.unwrap(key.kek_id, bytes(key.wrapped), item.id)
    except KeyServiceError as exc:
        problems.append(
            Problem(item.id, "bad_key", f"evidence item {item.id}: key cannot be used: {exc}")
        )
        return
    try:
        chunks = _ciphertext(vault, item)
    except StorageError:
        problems.append(
            Problem(
                item.id,
                "missing_blob",
                f"evidence item {item.id}: missing blob {blob_name(item.sha256)}",
            )
        )
        return
    digest = hashlib.sha256()
    size = 0
    try:
        for chunk in stream.decrypt(chunks, data_key, item.id.encode()):
            digest.update(chunk)
            size += len(chunk)
    except stream.StreamError as exc:
        problems.append(
            Problem(item.id, "changed_blob", f"evidence item {item.id}: changed blob ({exc})")
        )
        return
    if digest.hexdigest() != item.sha256 or size != item.size:
        problems.append(
            Problem(
                item.id,
                "changed_blob",
                f"evidence item {item.id}: changed blob (SHA-256 or size differs from the record)",
            )
        )


def _verify_chain(session: Session, item: EvidenceItem, problems: list[Problem]) -> int:
    events = list(
        session.scalars(
            select(CustodyEvent).where(CustodyEvent.item_id == item.id).order_by(CustodyEvent.seq)
        )
    )
    anchors = {
        a.id: a
        for a in session.scalars(
            select(AuditEvent).where(
                AuditEvent.target_type == "evidence_item", AuditEvent.target_id == item.id
            )
        )
    }
    prev, expected_seq = GENESIS, 1
    for ev in events:
        where = f"evidence item {item.id}: custody event {ev.seq} ({ev.action})"
        if ev.seq != expected_seq:
            problems.append(
                Problem(
                    item.id,
                    "missing_event",
                    f"evidence item {item.id}: custody events {expected_seq} to {ev.seq - 1} "
                    "are missing",
                )
            )
        if event_hash(ev) != ev.event_hash:
            problems.append(
                Problem(
                    item.id, "changed_event", f"{where}: changed event (its hash does not match)"
                )
            )
        elif ev.prev_hash != prev:
            problems.append(
                Problem(
                    item.id,
                    "changed_event",
                    f"{where}: changed event (its link to the previous event does not match)",
                )
            )
        anchor = anchors.pop(ev.audit_event_id, None)
        if (
            anchor is None
            or anchor.details.get("custody_hash") != ev.event_hash
            or anchor.details.get("custody_seq") != ev.seq
        ):
            problems.append(
                Problem(
                    item.id,
                    "broken_anchor",
                    f"{where}: broken anchor (audit event {ev.audit_event_id} is missing or "
                    "names another hash)",
                )
            )
        elif audit.compute_row_hash(anchor) != anchor.row_hash:
            problems.append(
                Problem(
                    item.id,
                    "broken_anchor",
                    f"{where}: broken anchor (audit event seq {anchor.seq} was edited)",
                )
            )
        prev, expected_seq = ev.event_hash, ev.seq + 1
    for anchor in anchors.values():
        if "custody_seq" in anchor.details:
            problems.append(
                Problem(
                    item.id,
                    "missing_event",
                    f"evidence item {item.id}: custody event {anchor.details['custody_seq']} is "
                    f"anchored in audit event seq {anchor.seq} but missing from the chain",
                )
            )
    return len(events)
