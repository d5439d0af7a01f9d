"""The evidence vault's use cases: the only writer of the ``evidence_*`` tables.

The API other capabilities call (takedown stores captures, cases link exhibits)::

    result = put(session, vault, stream, source="url_capture", actor=..., purpose="intake", ...)
    chunks = open_for(session, vault, item_id, actor=..., purpose="investigation")
    events = custody(session, item_id)
    hold(...); release(...); export_package(...); destroy(...)

Every change is a custody event, hash-chained per item and anchored in the audit log in the
same transaction (the audit event carries the custody event's hash). Bytes are encrypted from
their first write; a blob is written under a temporary name and promoted after its record has
committed, so a crash leaves the old or the new state (see :func:`recover`).
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import mimetypes
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, event, func, select
from sqlalchemy.orm import Session

from opschub import __version__
from opschub.audit import service as audit
from opschub.audit.service import canonical_json
from opschub.clock import as_utc, utcnow
from opschub.evidence import stream
from opschub.evidence.models import (
    CATEGORIES,
    LINKED_STATES,
    PURPOSES,
    SOURCES,
    CustodyEvent,
    DestructionCertificate,
    EvidenceAcquisition,
    EvidenceItem,
    EvidenceKey,
    RetentionRule,
)
from opschub.evidence.storage import StorageError, blob_name, temp_name
from opschub.evidence.vault import Vault
from opschub.ids import new_id

GENESIS = "0" * 64
HASH_VERSION = 1
TOOL = "opschub evidence vault"
PDQ_MAX_BYTES = 64 * 1024 * 1024  # larger images are stored but not fingerprinted on arrival
MAX_NOTE = 2000


class EvidenceError(Exception):
    """A request the vault refuses or cannot carry out; the message names the item and why."""


class NotFound(EvidenceError):
    pass


class RuleInvalid(EvidenceError):
    """A retention rule with bad fields; ``fields`` names each (nothing was saved)."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.fields = tuple(problems)
        super().__init__("; ".join(problems.values()))


class Refused(EvidenceError):
    """Not allowed: a permission, a legal hold, a missing approval."""


class EvidenceActor(audit.Actor, Protocol):
    """Who acts (the audit log's :class:`~opschub.audit.service.Actor`) and what they may do:
    :class:`opschub.accounts.principal.Principal` fits, and so does :class:`Operator` (a person at
    the server's command line)."""

    def can(self, permission: str) -> bool: ...


@dataclass(frozen=True)
class Operator:
    """A person at the command line of the server: they hold the keys already, so may all."""

    name: str
    kind: str = "system"

    @property
    def id(self) -> str:
        return f"cli:{self.name}"

    def can(self, permission: str) -> bool:
        return True

    @classmethod
    def current(cls) -> Operator:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        return cls(name=user)


@dataclass(frozen=True)
class PutResult:
    item: EvidenceItem
    duplicate: bool
    acquisition: EvidenceAcquisition

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.item.id,
            "sha256": self.item.sha256,
            "md5": self.item.md5,
            "sha1": self.item.sha1,
            "pdq": self.item.pdq,
            "size": self.item.size,
            "media_type": self.item.media_type,
            "duplicate": self.duplicate,
        }


# -- checks --------------------------------------------------------------------------------------


def _require(actor: EvidenceActor, permission: str, what: str) -> None:
    if not actor.can(permission):
        raise Refused(f"{what} needs the permission {permission}")


def _purpose(purpose: str) -> str:
    if purpose not in PURPOSES:
        raise EvidenceError(f"purpose {purpose!r} is not one of: {', '.join(PURPOSES)}")
    return purpose


def _note(note: str | None) -> str:
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise EvidenceError(f"note is longer than {MAX_NOTE} characters")
    return note


def get_item(session: Session, item_id: str) -> EvidenceItem:
    item = session.get(EvidenceItem, item_id)
    if item is None:
        raise NotFound(f"evidence item {item_id}: no such item")
    return item


def _lock_item(session: Session, item_id: str) -> EvidenceItem:
    """The item, locked against concurrent custody writers until the transaction ends."""
    item = session.execute(
        select(EvidenceItem).where(EvidenceItem.id == item_id).with_for_update()
    ).scalar_one_or_none()
    if item is None:
        raise NotFound(f"evidence item {item_id}: no such item")
    return item


# -- the custody chain ---------------------------------------------------------------------------


def _timestamp(value: datetime) -> str:
    return as_utc(value).astimezone(UTC).isoformat(timespec="microseconds")


# A custody event's fields as exported and hashed (with the item's id and ``v``), in this order.
EVENT_FIELDS = (
    "id",
    "seq",
    "occurred_at",
    "action",
    "actor_kind",
    "actor_id",
    "actor_label",
    "purpose",
    "note",
    "details",
    "prev_hash",
)


def hash_event_fields(item_id: str, fields: Mapping[str, Any]) -> str:
    """SHA-256 over an event's canonical JSON (``fields`` as :func:`custody_as_dict` gives them),
    including the previous event's hash: the one hash of the database and of exported packages."""
    payload = {"v": HASH_VERSION, "item_id": item_id, **{k: fields[k] for k in EVENT_FIELDS}}
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def _event_fields(ev: CustodyEvent) -> dict[str, Any]:
    fields = {name: getattr(ev, name) for name in EVENT_FIELDS}
    fields["occurred_at"] = _timestamp(ev.occurred_at)
    return fields


def event_hash(ev: CustodyEvent) -> str:
    """SHA-256 over the event's canonical JSON, including the previous event's hash."""
    return hash_event_fields(ev.item_id, _event_fields(ev))


def _custody(
    session: Session,
    item: EvidenceItem,
    action: str,
    actor: EvidenceActor,
    purpose: str,
    note: str = "",
    details: dict[str, Any] | None = None,
) -> CustodyEvent:
    last = session.execute(
        select(CustodyEvent.seq, CustodyEvent.event_hash)
        .where(CustodyEvent.item_id == item.id)
        .order_by(CustodyEvent.seq.desc())
        .limit(1)
    ).first()
    seq, prev = (0, GENESIS) if last is None else (last.seq, last.event_hash)
    ev = CustodyEvent(
        id=new_id(),
        item_id=item.id,
        seq=seq + 1,
        occurred_at=utcnow().astimezone(UTC),
        action=action,
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_label=actor.name[:200],
        purpose=purpose,
        note=note,
        details=json_roundtrip(details or {}),
        prev_hash=prev,
    )
    ev.event_hash = event_hash(ev)
    anchor = audit.record(
        session,
        action=f"evidence.{action}",
        actor=actor,
        target_type="evidence_item",
        target_id=item.id,
        details={"custody_seq": ev.seq, "custody_hash": ev.event_hash, "purpose": purpose},
    )
    ev.audit_event_id = anchor.id
    session.add(ev)
    session.flush()
    return ev


def json_roundtrip(value: dict[str, Any]) -> dict[str, Any]:
    import json

    result: dict[str, Any] = json.loads(canonical_json(value))
    return result


def custody(session: Session, item_id: str) -> list[CustodyEvent]:
    """The item's custody events, oldest first."""
    get_item(session, item_id)
    return list(
        session.scalars(
            select(CustodyEvent).where(CustodyEvent.item_id == item_id).order_by(CustodyEvent.seq)
        )
    )


def custody_as_dict(ev: CustodyEvent) -> dict[str, Any]:
    return {
        **_event_fields(ev),
        "event_hash": ev.event_hash,
        "audit_event_id": ev.audit_event_id,
    }


# -- storing -------------------------------------------------------------------------------------

_MAGIC_TYPES = (
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (8, b"WEBP", "image/webp"),
    (0, b"BM", "image/bmp"),
    (4, b"ftyp", "video/mp4"),
    (0, b"\x1a\x45\xdf\xa3", "video/webm"),
    (0, b"%PDF-", "application/pdf"),
)


def sniff_media_type(head: bytes, name: str | None) -> str:
    """The media type from the first bytes (what the file is), else from its name."""
    for offset, magic, media_type in _MAGIC_TYPES:
        if head[offset : offset + len(magic)] == magic:
            return media_type
    guessed = mimetypes.guess_type(name or "")[0]
    return guessed or "application/octet-stream"


class _Peek:
    """A readable that remembers its first bytes (for sniffing) and, for images, all of them
    up to a limit (PDQ needs the decoded image)."""

    def __init__(self, source: BinaryIO) -> None:
        self.source = source
        self.head = source.read(4096)
        self._served = False
        self.kept: bytearray | None = bytearray(self.head)

    def read(self, size: int = -1) -> bytes:
        if not self._served:
            self._served = True
            rest = self.source.read(max(size - len(self.head), 0)) if size > 0 else b""
            data = self.head + rest
            if self.kept is not None:
                self.kept += rest
        else:
            data = self.source.read(size)
            if self.kept is not None:
                self.kept += data
        if self.kept is not None and len(self.kept) > PDQ_MAX_BYTES:
            self.kept = None
        return data


def put(
    session: Session,
    vault: Vault,
    source: BinaryIO,
    *,
    source_kind: str,
    actor: EvidenceActor,
    purpose: str = "intake",
    note: str | None = None,
    original_name: str | None = None,
    media_type: str | None = None,
    method: str = "upload",
    tool_version: str | None = None,
    source_ref: str | None = None,
    acquired_at: datetime | None = None,
) -> PutResult:
    """Store ``source`` (encrypted while it streams) and record its acquisition.

    The same bytes stored again are the same item: the result says ``duplicate`` and the item's
    custody gains a second ``acquire`` event. The blob is promoted to its final name only when
    ``session`` commits; if it rolls back the temporary blob is deleted.
    """
    _require(actor, "evidence.manage", "storing evidence")
    errors = []
    if source_kind not in SOURCES:
        errors.append(f"source {source_kind!r} is not one of: {', '.join(SOURCES)}")
    if purpose not in PURPOSES:
        errors.append(f"purpose {purpose!r} is not one of: {', '.join(PURPOSES)}")
    if original_name is not None and len(original_name) > 1000:
        errors.append("original name is longer than 1000 characters")
    if errors:
        raise EvidenceError("; ".join(errors))
    note = _note(note)

    # A lost key file must not be silently replaced while items still depend on it.
    vault.keys.check(create=session.scalar(select(EvidenceKey.item_id).limit(1)) is None)
    item_id = new_id()
    data_key = AESGCM.generate_key(bit_length=256)
    kek_id, wrapped = vault.keys.wrap(data_key, item_id)  # fails early on a wrong key file
    peek = _Peek(source)
    kind = media_type or sniff_media_type(peek.head, original_name)
    if not kind.startswith("image/"):
        peek.kept = None
    digests = stream.Digests()
    temp = temp_name(item_id)
    vault.backend.write(temp, stream.encrypt(peek, data_key, digests, item_id.encode()))
    sha256, md5, sha1 = digests.hexdigests()

    existing = session.execute(
        select(EvidenceItem).where(EvidenceItem.sha256 == sha256).with_for_update()
    ).scalar_one_or_none()
    duplicate = existing is not None
    if existing is not None:
        vault.backend.delete(temp)
        item = existing
        if item.state == "destroyed":
            raise Refused(
                f"evidence item {item.id}: these bytes (sha256 {sha256}) were destroyed on "
                f"{item.destroyed_at:%Y-%m-%d}; they are recognised, not stored again"
            )
    else:
        pdq, quality, matches = _fingerprint(vault, peek.kept, sha256, md5, sha1)
        item = EvidenceItem(
            id=item_id,
            sha256=sha256,
            md5=md5,
            sha1=sha1,
            pdq=pdq,
            pdq_quality=quality,
            matches=matches,
            size=digests.size,
            media_type=kind,
            backend=vault.backend.name,
        )
        session.add(item)
        session.flush()
        session.add(EvidenceKey(item_id=item.id, kek_id=kek_id, wrapped=wrapped))
        _after(
            session,
            commit=lambda: _promote(vault, temp, blob_name(sha256)),
            rollback=lambda: vault.backend.delete(temp),
        )
    acquisition = EvidenceAcquisition(
        item_id=item.id,
        source=source_kind,
        source_ref=source_ref,
        acquired_at=acquired_at or utcnow(),
        acquired_by=actor.name[:200],
        method=method[:200],
        tool_version=(tool_version or f"opschub {__version__}")[:100],
        original_name=original_name,
        media_type=kind,
    )
    session.add(acquisition)
    session.flush()
    _custody(
        session,
        item,
        "acquire",
        actor,
        purpose,
        note,
        {
            "acquisition_id": acquisition.id,
            "source": source_kind,
            "source_ref": source_ref,
            "duplicate": duplicate,
            "sha256": sha256,
        },
    )
    return PutResult(item=item, duplicate=duplicate, acquisition=acquisition)


def _promote(vault: Vault, temp: str, final: str) -> None:
    # On failure recover() finishes it; reads fall back to the temporary name meanwhile.
    with contextlib.suppress(OSError, StorageError):
        vault.backend.promote(temp, final)


def _after(
    session: Session, *, commit: Callable[[], None], rollback: Callable[[], None] | None = None
) -> None:
    """Run ``commit`` once the session commits (``rollback`` if it rolls back instead)."""
    done = [False]

    def on_commit(_session: Session) -> None:
        if not done[0]:
            done[0] = True
            commit()

    def on_rollback(_session: Session, previous: Any) -> None:
        if not done[0] and not previous.nested and previous.parent is None:
            done[0] = True
            if rollback is not None:
                rollback()

    event.listen(session, "after_commit", on_commit)
    event.listen(session, "after_soft_rollback", on_rollback)


def _fingerprint(
    vault: Vault, data: bytearray | None, sha256: str, md5: str, sha1: str
) -> tuple[str | None, int | None, list[dict[str, Any]]]:
    """PDQ of an image, and what the hash lists say about the item (on arrival)."""
    from opschub.matching.formats import Entry
    from opschub.matching.hashing import query_hashes_from_bytes
    from opschub.matching.store import HashListStore, StoreError

    pdq = quality = None
    queries: list[Any] = [Entry("sha256", sha256), Entry("md5", md5), Entry("sha1", sha1)]
    if data is not None:
        hashes, variants = query_hashes_from_bytes(bytes(data), "evidence")
        if hashes.error is None and hashes.pdq is not None:
            pdq, quality = hashes.pdq, hashes.quality
            queries.extend(variants)
    matches: list[dict[str, Any]] = []
    if vault.matching_dir is not None and (vault.matching_dir / "lists").is_dir():
        try:
            results = HashListStore(vault.matching_dir).match(queries)
        except (StoreError, OSError, ValueError):
            results = []
        seen = set()
        for found in results:
            for match in found:
                key = (match.list, match.hash_type, match.hash)
                if key not in seen:
                    seen.add(key)
                    matches.append(match.to_json())
    return pdq, quality, matches


# -- reading -------------------------------------------------------------------------------------


def _data_key(session: Session, vault: Vault, item: EvidenceItem) -> bytes:
    key = session.get(EvidenceKey, item.id)
    if key is None:
        raise EvidenceError(f"evidence item {item.id}: its data key is missing")
    return vault.keys.unwrap(key.kek_id, bytes(key.wrapped), item.id)


def _ciphertext(vault: Vault, item: EvidenceItem) -> Iterator[bytes]:
    final = blob_name(item.sha256)
    if vault.backend.exists(final):
        return vault.backend.read(final)
    temp = temp_name(item.id)
    if vault.backend.exists(temp):  # committed, not yet promoted (a crash in between)
        return vault.backend.read(temp)
    raise StorageError(f"evidence item {item.id}: blob {final} is missing")


def plaintext(session: Session, vault: Vault, item: EvidenceItem) -> Iterator[bytes]:
    """Decrypted bytes of a stored item, checked against its SHA-256 at the end.

    No custody event: use :func:`open_for` for anything a person sees or takes away.
    """
    if item.state != "stored":
        raise EvidenceError(f"evidence item {item.id}: destroyed, nothing to read")
    data_key = _data_key(session, vault, item)
    digest = hashlib.sha256()
    try:
        for chunk in stream.decrypt(_ciphertext(vault, item), data_key, item.id.encode()):
            digest.update(chunk)
            yield chunk
    except stream.StreamError as exc:
        raise EvidenceError(f"evidence item {item.id}: blob changed: {exc}") from None
    if digest.hexdigest() != item.sha256:
        raise EvidenceError(f"evidence item {item.id}: blob changed: SHA-256 differs")


def open_for(
    session: Session,
    vault: Vault,
    item_id: str,
    *,
    actor: EvidenceActor,
    purpose: str,
    note: str | None = None,
    action: str = "view",
    details: dict[str, Any] | None = None,
) -> Iterator[bytes]:
    """Record that ``actor`` views (or downloads) the item for ``purpose``; return its bytes."""
    _require(actor, "evidence.view", "viewing evidence")
    if action not in ("view", "download"):
        raise EvidenceError(f"action {action!r} must be view or download")
    item = _lock_item(session, item_id)
    if item.state != "stored":
        raise EvidenceError(f"evidence item {item_id}: destroyed, nothing to open")
    _custody(session, item, action, actor, _purpose(purpose), _note(note), details)
    return plaintext(session, vault, item)


# -- holds, approvals, classification ------------------------------------------------------------


def hold(
    session: Session,
    item_id: str,
    *,
    actor: EvidenceActor,
    reason: str,
    purpose: str = "legal_proceedings",
) -> CustodyEvent:
    """A legal hold: the item cannot be destroyed until it is released."""
    _require(actor, "evidence.manage", "a legal hold")
    reason = _note(reason)
    if not reason:
        raise EvidenceError("a legal hold needs a reason")
    item = _lock_item(session, item_id)
    if item.state != "stored":
        raise EvidenceError(f"evidence item {item_id}: destroyed, cannot be held")
    if item.on_hold:
        raise EvidenceError(f"evidence item {item_id}: already on hold")
    item.on_hold = True
    return _custody(session, item, "hold", actor, _purpose(purpose), reason)


def release(
    session: Session,
    item_id: str,
    *,
    actor: EvidenceActor,
    reason: str = "",
    purpose: str = "legal_proceedings",
) -> CustodyEvent:
    _require(actor, "evidence.manage", "releasing a legal hold")
    item = _lock_item(session, item_id)
    if not item.on_hold:
        raise EvidenceError(f"evidence item {item_id}: not on hold")
    item.on_hold = False
    return _custody(session, item, "release", actor, _purpose(purpose), _note(reason))


def approve(
    session: Session, item_id: str, *, actor: EvidenceActor, action: str, note: str = ""
) -> CustodyEvent:
    """Four eyes: a second person approves the next export or destruction of the item."""
    _require(actor, "evidence.manage", "approving")
    if action not in ("export", "destroy"):
        raise EvidenceError(f"approval is for export or destroy, not {action!r}")
    item = _lock_item(session, item_id)
    return _custody(session, item, "approve", actor, "quality_review", _note(note), {"for": action})


def _check_approval(
    session: Session, vault: Vault, item: EvidenceItem, action: str, actor: EvidenceActor
) -> dict[str, Any]:
    if not vault.four_eyes:
        return {}
    ev = approval_for(session, item.id, action)
    if ev is None:
        raise Refused(f"evidence item {item.id}: {action} needs approval by a second person first")
    if ev.actor_id == actor.id:
        raise Refused(
            f"evidence item {item.id}: {action} needs approval by a second person "
            f"(the approval is by {ev.actor_label}, who is acting now)"
        )
    return {"approval": ev.id, "approved_by": ev.actor_label}


def classify(
    session: Session,
    item_id: str,
    *,
    actor: EvidenceActor,
    category: str | None = None,
    linked_state: str | None = None,
    linked_since: datetime | None = None,
) -> EvidenceItem:
    """Set what retention counts from: the item's category and its report's or case's state."""
    _require(actor, "evidence.manage", "classifying evidence")
    item = _lock_item(session, item_id)
    if category is not None:
        if category not in CATEGORIES:
            raise EvidenceError(f"category {category!r} is not one of: {', '.join(CATEGORIES)}")
        item.category = category
    if linked_state is not None:
        item.linked_state = linked_state[:32]
        item.linked_since = linked_since or utcnow()
    audit.record(
        session,
        action="evidence.classify",
        actor=actor,
        target_type="evidence_item",
        target_id=item.id,
        details={"category": item.category, "linked_state": item.linked_state},
    )
    return item


# -- retention -----------------------------------------------------------------------------------


def set_retention_rule(
    session: Session,
    *,
    actor: EvidenceActor,
    category: str,
    linked_state: str,
    keep_days: int,
    name: str,
) -> RetentionRule:
    """Add or change the rule for (category, linked state); "*" matches any state. The state is
    one of :data:`~opschub.evidence.models.LINKED_STATES`; :class:`RuleInvalid` names every bad
    field."""
    _require(actor, "evidence.manage", "retention rules")
    errors: dict[str, str] = {}
    if category not in CATEGORIES:
        errors["category"] = f"category {category!r} is not one of: {', '.join(CATEGORIES)}"
    if not 0 <= keep_days <= 365 * 100:
        errors["keep_days"] = f"keep_days {keep_days} must be 0 to 36500"
    if linked_state not in LINKED_STATES:
        errors["linked_state"] = (
            f"linked_state {linked_state!r} is not one of: {', '.join(LINKED_STATES)}"
        )
    if not name.strip():
        errors["name"] = "name is empty"
    if errors:
        raise RuleInvalid(errors)
    rule = session.execute(
        select(RetentionRule).where(
            RetentionRule.category == category, RetentionRule.linked_state == linked_state
        )
    ).scalar_one_or_none()
    if rule is None:
        rule = RetentionRule(
            category=category, linked_state=linked_state, keep_days=keep_days, name=name.strip()
        )
        session.add(rule)
    else:
        rule.keep_days, rule.name = keep_days, name.strip()
    session.flush()
    audit.record(
        session,
        action="evidence.retention_rule",
        actor=actor,
        target_type="evidence_retention_rule",
        target_id=rule.id,
        details={"category": category, "linked_state": linked_state, "keep_days": keep_days},
    )
    return rule


@dataclass(frozen=True)
class Due:
    item_id: str
    sha256: str
    rule_id: str
    rule_name: str
    due_since: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.item_id,
            "sha256": self.sha256,
            "rule_id": self.rule_id,
            "rule": self.rule_name,
            "due_since": _timestamp(self.due_since),
        }


def due_for_destruction(session: Session, now: datetime | None = None) -> list[Due]:
    """Stored items, not on hold, whose retention rule has run out (a person confirms them).

    A rule for the item's exact linked state wins over the "*" rule of its category.
    """
    now = now or utcnow()
    rules = {(r.category, r.linked_state): r for r in session.scalars(select(RetentionRule))}
    due: list[Due] = []
    items = session.scalars(
        select(EvidenceItem)
        .where(EvidenceItem.state == "stored", EvidenceItem.on_hold.is_(False))
        .order_by(EvidenceItem.id)
    )
    for item in items:
        rule = rules.get((item.category, item.linked_state or "")) or rules.get(
            (item.category, "*")
        )
        if rule is None:
            continue
        start = (
            item.linked_since
            if rule.linked_state != "*"
            else (item.linked_since or item.created_at)
        )
        assert start is not None
        since = as_utc(start) + timedelta(days=rule.keep_days)
        if since <= now:
            due.append(Due(item.id, item.sha256, rule.id, rule.name, since))
    return due


def retention_rules(session: Session) -> list[RetentionRule]:
    return list(
        session.scalars(
            select(RetentionRule).order_by(RetentionRule.category, RetentionRule.linked_state)
        )
    )


def approval_for(session: Session, item_id: str, action: str) -> CustodyEvent | None:
    """The approval waiting to be used by the next ``action`` ("export" or "destroy"), if any."""
    events = session.scalars(
        select(CustodyEvent)
        .where(CustodyEvent.item_id == item_id)
        .where(CustodyEvent.action.in_(("approve", action)))
        .order_by(CustodyEvent.seq.desc())
    )
    for ev in events:
        if ev.action == action:
            return None
        if ev.details.get("for") == action:
            return ev
    return None


# -- destruction ---------------------------------------------------------------------------------


def destroy(
    session: Session,
    vault: Vault,
    item_id: str,
    *,
    actor: EvidenceActor,
    reason: str,
    rule: str | None = None,
) -> dict[str, Any]:
    """Crypto-shred the item: delete its only data key and its blob; keep hashes and metadata.

    Returns the signed certificate (also stored). The blob is deleted after the commit; a
    crash in between leaves ciphertext whose key no longer exists, and :func:`recover` (or the
    next destroy) deletes it.
    """
    _require(actor, "evidence.manage", "destroying evidence")
    reason = _note(reason)
    if not reason:
        raise EvidenceError("destruction needs a reason")
    item = _lock_item(session, item_id)
    if item.state == "destroyed":
        raise EvidenceError(f"evidence item {item_id}: already destroyed")
    if item.on_hold:
        raise Refused(f"evidence item {item_id}: on legal hold; release the hold first")
    approval = _check_approval(session, vault, item, "destroy", actor)
    key = session.get(EvidenceKey, item.id)
    kek_id = key.kek_id if key is not None else None
    session.execute(delete(EvidenceKey).where(EvidenceKey.item_id == item.id))
    session.flush()
    key_gone = session.get(EvidenceKey, item.id, populate_existing=True) is None
    now = utcnow()
    item.state = "destroyed"
    item.destroyed_at = now
    ev = _custody(session, item, "destroy", actor, "retention", reason, {"rule": rule, **approval})
    document = _certificate(vault, item, actor, reason, rule, ev, kek_id, key_gone, approval)
    session.add(DestructionCertificate(item_id=item.id, issued_at=now, document=document))
    session.flush()
    _after(session, commit=lambda: _delete_blobs(vault, item))
    return document


def destroy_many(
    session: Session,
    vault: Vault,
    item_ids: Sequence[str],
    *,
    actor: EvidenceActor,
    reason: str,
    rule: str | None = None,
) -> list[dict[str, Any]]:
    """Destroy every item of ``item_ids`` or, when one cannot be destroyed, none: the error names
    that item (the caller rolls the session back)."""
    if not item_ids:
        raise EvidenceError("no items chosen")
    return [
        destroy(session, vault, item_id, actor=actor, reason=reason, rule=rule)
        for item_id in dict.fromkeys(item_ids)
    ]


def _delete_blobs(vault: Vault, item: EvidenceItem) -> None:
    for name in (blob_name(item.sha256), temp_name(item.id)):
        # On failure recover() retries; without its key the ciphertext is unreadable anyway.
        with contextlib.suppress(OSError, StorageError):
            vault.backend.delete(name)


def _certificate(
    vault: Vault,
    item: EvidenceItem,
    actor: EvidenceActor,
    reason: str,
    rule: str | None,
    ev: CustodyEvent,
    kek_id: str | None,
    key_gone: bool,
    approval: dict[str, Any],
) -> dict[str, Any]:
    """A certificate shaped like NIST SP 800-88 Rev. 1 Appendix G (certificate of sanitization)."""
    body = {
        "certificate": "certificate of sanitization",
        "standard": "NIST SP 800-88 Rev. 1, Appendix G",
        "certificate_id": new_id(),
        "person": {"name": actor.name, "id": actor.id, "kind": actor.kind},
        "media": {
            "item_id": item.id,
            "type": "encrypted evidence blob",
            "media_type": item.media_type,
            "size": item.size,
            "sha256": item.sha256,
            "md5": item.md5,
            "sha1": item.sha1,
            "pdq": item.pdq,
            "backend": item.backend,
            "location": blob_name(item.sha256),
            "data_key_wrapped_by": kek_id,
        },
        "sanitization": {
            "method": "purge",
            "technique": "cryptographic erase",
            "description": (
                "the item was encrypted (AES-256-GCM) with its own data key from its first "
                "write; the only copy of that key was deleted and the ciphertext removed"
            ),
            "tool": TOOL,
            "tool_version": __version__,
            "completed_at": _timestamp(ev.occurred_at),
            "reason": reason,
            "rule": rule,
            **approval,
        },
        "verification": {
            "method": "the data key record was read again after deletion",
            "result": "data key absent" if key_gone else "data key still present",
        },
        "custody_event": {"seq": ev.seq, "hash": ev.event_hash},
    }
    return sign_document(vault, body)


def sign_document(vault: Vault, body: dict[str, Any]) -> dict[str, Any]:
    public = vault.signer.public_key_pem()
    from opschub.evidence.signing import fingerprint

    signed = {**body, "signer": {"public_key": public, "fingerprint": fingerprint(public)}}
    signature = vault.signer.sign(canonical_json(signed).encode())
    return {**signed, "signature": {"algorithm": "Ed25519", "value": signature}}


def verify_document(document: dict[str, Any], public_key_pem: str | None = None) -> list[str]:
    """Problems with a signed certificate; empty when it verifies (with the given key, if any)."""
    from opschub.evidence.signing import fingerprint, verify

    problems = []
    try:
        body = {k: v for k, v in document.items() if k != "signature"}
        signature = document["signature"]["value"]
        embedded = document["signer"]["public_key"]
    except (KeyError, TypeError):
        return ["not a signed opschub document (signature or signer missing)"]
    key = public_key_pem or embedded
    try:
        if public_key_pem is not None and fingerprint(public_key_pem) != fingerprint(embedded):
            problems.append("signed with another key than the published one")
    except ValueError as exc:
        return [f"public key: {exc}"]
    if not verify(key, canonical_json(body).encode(), signature):
        problems.append("signature does not match: the document was changed or forged")
    return problems


def certificate(session: Session, item_id: str) -> dict[str, Any]:
    cert = session.execute(
        select(DestructionCertificate).where(DestructionCertificate.item_id == item_id)
    ).scalar_one_or_none()
    if cert is None:
        raise NotFound(f"evidence item {item_id}: no certificate (not destroyed)")
    return cert.document


# -- keys ----------------------------------------------------------------------------------------


def rotate_keys(session: Session, vault: Vault, *, actor: EvidenceActor) -> tuple[str, int]:
    """A new key-encryption key; every data key re-wrapped under it (no blob re-encrypted).

    The old KEKs are retired by :func:`retire_old_keys` after this transaction commits.
    """
    _require(actor, "evidence.manage", "rotating keys")
    new = vault.keys.rotate()
    count = 0
    for key in session.scalars(select(EvidenceKey).with_for_update()):
        data_key = vault.keys.unwrap(key.kek_id, bytes(key.wrapped), key.item_id)
        key.kek_id, key.wrapped = vault.keys.wrap(data_key, key.item_id)
        count += 1
    audit.record(
        session,
        action="evidence.keys_rotated",
        actor=actor,
        target_type="evidence_kek",
        target_id=new,
        details={"rewrapped": count},
    )
    return new, count


def retire_old_keys(session: Session, vault: Vault) -> set[str]:
    current = vault.keys.current_kek_id()
    in_use = set(session.scalars(select(EvidenceKey.kek_id).distinct()))
    keys_file = getattr(vault.keys, "path", None)
    if keys_file is None:
        return set()
    import json

    known = set(json.loads(Path(keys_file).read_text())["keys"])
    old = known - in_use - {current}
    if old:
        vault.keys.retire(old)
    return old


# -- recovery ------------------------------------------------------------------------------------


def recover(session: Session, vault: Vault, *, grace: timedelta = timedelta(hours=1)) -> list[str]:
    """Finish or undo what a crash left: promote committed temporary blobs, delete temporary
    blobs without a record (older than ``grace``: a writer may still be at work) and blobs of
    destroyed items. Returns what was done, one line each."""
    done: list[str] = []
    now = datetime.now(UTC)
    for name, modified in list(vault.backend.list("tmp/")):
        item_id = name.removeprefix("tmp/")
        if item_id.endswith(".part"):
            if now - modified >= grace:
                vault.backend.delete(name)
                done.append(f"{name}: partial write deleted")
            continue
        item = session.get(EvidenceItem, item_id)
        if item is not None and item.state == "stored":
            final = blob_name(item.sha256)
            if vault.backend.exists(final):
                vault.backend.delete(name)
            else:
                vault.backend.promote(name, final)
                done.append(f"{name}: committed blob promoted to {final}")
        elif item is not None or now - modified >= grace:
            vault.backend.delete(name)
            done.append(f"{name}: blob without a record deleted")
    for item in session.scalars(select(EvidenceItem).where(EvidenceItem.state == "destroyed")):
        if vault.backend.exists(blob_name(item.sha256)):
            vault.backend.delete(blob_name(item.sha256))
            done.append(f"evidence item {item.id}: blob of destroyed item deleted")
    return done


def count_items(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(EvidenceItem)) or 0)


def acquisitions(session: Session, item_id: str) -> list[EvidenceAcquisition]:
    return list(
        session.scalars(
            select(EvidenceAcquisition)
            .where(EvidenceAcquisition.item_id == item_id)
            .order_by(EvidenceAcquisition.acquired_at, EvidenceAcquisition.id)
        )
    )


def item_as_dict(session: Session, item: EvidenceItem) -> dict[str, Any]:
    """Metadata and custody (never the bytes): ``opschub evidence show`` and the API."""
    return {
        "id": item.id,
        "sha256": item.sha256,
        "md5": item.md5,
        "sha1": item.sha1,
        "pdq": item.pdq,
        "pdq_quality": item.pdq_quality,
        "size": item.size,
        "media_type": item.media_type,
        "state": item.state,
        "category": item.category,
        "linked_state": item.linked_state,
        "on_hold": item.on_hold,
        "backend": item.backend,
        "matches": item.matches,
        "created_at": _timestamp(item.created_at),
        "destroyed_at": _timestamp(item.destroyed_at) if item.destroyed_at else None,
        "acquisitions": [
            {
                "id": a.id,
                "source": a.source,
                "source_ref": a.source_ref,
                "acquired_at": _timestamp(a.acquired_at),
                "acquired_by": a.acquired_by,
                "method": a.method,
                "tool_version": a.tool_version,
                "original_name": a.original_name,
                "media_type": a.media_type,
            }
            for a in acquisitions(session, item.id)
        ],
        "custody": [custody_as_dict(ev) for ev in custody(session, item.id)],
    }
