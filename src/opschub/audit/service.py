"""The one audit writer, and the checks an auditor runs on what it wrote.

:func:`record` adds an event in the caller's session, so it commits or rolls back with the change
it describes. Each row carries ``prev_hash`` (the previous row's ``row_hash``) and its own
``row_hash``, HMAC-SHA256 over a canonical JSON serialisation of its fields, keyed with a key
derived from the master secret (kept outside the database), so that someone who can only write
the database cannot rehash a rewritten log. Rows written before the chain was keyed carry a plain
SHA-256 (hash version 1); the version is part of the hashed payload, and once a keyed row appears
every later row must be keyed. :func:`verify_chain` walks the rows in ``seq`` order and names every
row whose contents, position, link or key do not fit; signed checkpoints outside the database
(:mod:`opschub.audit.anchor`) catch a log that was cut short, emptied, or rewritten by someone who
also had the key.

Writers are serialised so that the chain never forks: on PostgreSQL by a transaction-scoped advisory
lock taken before reading the last row; on SQLite the engine begins every transaction with
``BEGIN IMMEDIATE``, which admits one writer at a time. The unique ``seq`` and ``row_hash`` make a
fork impossible even if a writer bypassed the lock: its transaction fails instead. (PostgreSQL
sessions must use READ COMMITTED, the default, so that the row read after the lock is the newest.)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Row, Select, func, inspect, or_, select
from sqlalchemy.orm import Session

from opschub.audit.models import ACTOR_KINDS, OUTCOMES, AuditEvent
from opschub.clock import as_utc, utcnow
from opschub.ids import new_id

if TYPE_CHECKING:
    from pathlib import Path

    from opschub.config import Settings

GENESIS_HASH = "0" * 64  # prev_hash of the first row
HASH_VERSION = 1  # plain SHA-256: rows written before the chain was keyed (still verified)
KEYED_HASH_VERSION = 2  # HMAC-SHA256 with chain_key(); bump if the hashed fields ever change
# pg_advisory_xact_lock key: the bytes "opscaudt" as a signed 64-bit integer.
ADVISORY_LOCK_KEY = int.from_bytes(b"opscaudt", "big", signed=True)
MAX_DETAILS_BYTES = 16_384
MAX_PROBLEMS = 1000

_ACTION = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
# Keys that would carry what the audit log must never hold (compared lower-case, "-" as "_").
FORBIDDEN_DETAIL_KEYS = frozenset(
    {
        "ip",
        "ip_address",
        "ipaddress",
        "client_ip",
        "remote_ip",
        "remote_addr",
        "remote_address",
        "x_forwarded_for",
        "x_real_ip",
        "forwarded",
        "user_agent",
        "useragent",
        "http_user_agent",
    }
)


class Actor(Protocol):
    """Who acted: :class:`opschub.accounts.principal.Principal` fits (kind "user" or "token")."""

    @property
    def kind(self) -> str: ...

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...


# --- writing ------------------------------------------------------------------------------------


def canonical_json(value: object) -> str:
    """The one serialisation that is hashed: sorted keys, no spaces, UTF-8 text, no NaN."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def _timestamp(value: datetime) -> str:
    return as_utc(value).astimezone(UTC).isoformat(timespec="microseconds")


# The columns a row's hash covers (with ``seq`` and ``occurred_at``), and the API shows.
_CHAINED_COLUMNS = (
    "id",
    "actor_kind",
    "actor_id",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "details",
    "prev_hash",
)


def _chained_fields(event: AuditEvent | Row[Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {"seq": event.seq, "occurred_at": _timestamp(event.occurred_at)}
    fields.update((name, getattr(event, name)) for name in _CHAINED_COLUMNS)
    return fields


def chain_key() -> bytes:
    """The chain's HMAC key, derived from the master secret (which is never in the database)."""
    from opschub.config import get_settings

    secret = get_settings().resolved_secret_key().encode("utf-8")
    return hmac.new(secret, b"opschub audit chain v2", hashlib.sha256).digest()


def _row_hash(event: AuditEvent | Row[Any], key: bytes | None, seq: int | None = None) -> str:
    payload = {"v": HASH_VERSION if key is None else KEYED_HASH_VERSION, **_chained_fields(event)}
    if seq is not None:
        payload["seq"] = seq
    data = canonical_json(payload).encode("utf-8")
    if key is None:
        return hashlib.sha256(data).hexdigest()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def compute_row_hash(
    event: AuditEvent | Row[Any], *, seq: int | None = None, keyed: bool = True
) -> str:
    """The row's hash over its fields and ``prev_hash``; ``seq`` replaces the row's (moved rows).

    Keyed (HMAC-SHA256 with :func:`chain_key`, version 2) unless ``keyed`` is false: then the
    plain SHA-256 of version 1, which rows written before the chain was keyed carry.
    """
    return _row_hash(event, chain_key() if keyed else None, seq)


def _check_details(value: object, path: str = "details") -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"audit {path}: keys must be strings, got {key!r}")
            if key.lower().replace("-", "_") in FORBIDDEN_DETAIL_KEYS:
                raise ValueError(
                    f"audit {path}.{key}: the audit log never stores IP addresses or user agents"
                )
            _check_details(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_details(item, f"{path}[{index}]")


def _normalise_details(details: Mapping[str, object] | None) -> dict[str, Any]:
    """Details as they will read back from the database, so that the hash stays reproducible."""
    if details is None:
        return {}
    if not isinstance(details, Mapping):
        raise ValueError(f"audit details must be a mapping, got {type(details).__name__}")
    _check_details(details)
    try:
        text_ = canonical_json(dict(details))
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"audit details must hold only JSON values (text, numbers, true/false, null, "
            f"lists, mappings): {exc}"
        ) from None
    try:
        size = len(text_.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError("audit details hold text that is not valid Unicode") from None
    if size > MAX_DETAILS_BYTES:
        raise ValueError(f"audit details are larger than {MAX_DETAILS_BYTES} bytes")
    normalised: dict[str, Any] = json.loads(text_)
    return normalised


def _bounded(name: str, value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    if len(value) > limit:
        raise ValueError(f"audit {name} is longer than {limit} characters")
    if "\x00" in value:
        raise ValueError(f"audit {name} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"audit {name} is not valid Unicode") from None
    return value


_LAST_APPENDED = "opschub.audit.last_appended"


def _chain_head_for_append(session: Session) -> tuple[int, str] | None:
    """(seq, row_hash) of the last row, with the chain locked until the transaction ends.

    A second record in the same transaction already holds the lock and knows the head, so it
    skips the lock and the query; the remembered row must still be in the session (a rolled-back
    savepoint expunges it) and belong to this very transaction.
    """
    remembered = session.info.get(_LAST_APPENDED)
    if remembered is not None:
        transaction, event = remembered
        if transaction is session.get_transaction() and inspect(event).persistent:
            return event.seq, event.row_hash
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(ADVISORY_LOCK_KEY)))
    # SQLite: the engine's BEGIN IMMEDIATE already holds the database's write lock.
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.row_hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    return None if last is None else (last.seq, last.row_hash)


def record(
    session: Session,
    *,
    action: str,
    actor: Actor | None = None,
    actor_label: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    outcome: str = "ok",
    details: Mapping[str, object] | None = None,
    actor_kind: str | None = None,
) -> AuditEvent:
    """Append an event in ``session``'s transaction (it commits or rolls back with the change).

    ``actor`` is the principal who acted; without one the actor is ``actor_kind`` (default
    ``system``; ``public`` for anonymous members of the public) labelled ``actor_label``.
    ``details`` is a small JSON mapping; keys naming IP addresses or user agents are refused.
    """
    (event,) = record_many(
        session,
        [
            EventIn(
                action=action,
                actor=actor,
                actor_label=actor_label,
                target_type=target_type,
                target_id=target_id,
                outcome=outcome,
                details=details,
                actor_kind=actor_kind,
            )
        ],
    )
    return event


@dataclass(frozen=True)
class EventIn:
    """One event for :func:`record_many`; the fields are those of :func:`record`."""

    action: str
    actor: Actor | None = None
    actor_label: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    outcome: str = "ok"
    details: Mapping[str, object] | None = None
    actor_kind: str | None = None


def record_many(session: Session, events: Sequence[EventIn]) -> list[AuditEvent]:
    """Append several events in order, with one look at the chain's head and one insert.

    Every event is checked before anything is written: one bad event writes none of them.
    """
    prepared = [_prepare(event) for event in events]
    if not prepared:
        return []
    last = _chain_head_for_append(session)
    seq, prev = (0, GENESIS_HASH) if last is None else last
    now = utcnow().astimezone(UTC)
    key = chain_key()
    rows: list[AuditEvent] = []
    for fields in prepared:
        seq += 1
        row = AuditEvent(id=new_id(), seq=seq, occurred_at=now, prev_hash=prev, **fields)
        row.row_hash = prev = _row_hash(row, key)
        rows.append(row)
    session.add_all(rows)
    session.flush()
    session.info[_LAST_APPENDED] = (session.get_transaction(), rows[-1])
    return rows


def _prepare(event: EventIn) -> dict[str, Any]:
    """The checked column values of one event (everything but its place in the chain)."""
    action, actor, actor_label = event.action, event.actor, event.actor_label
    target_type, target_id, outcome = event.target_type, event.target_id, event.outcome
    actor_kind = event.actor_kind
    if not isinstance(action, str) or not _ACTION.match(action):
        raise ValueError(
            f"audit action {action!r} must be dotted lower-case words, e.g. 'user.login'"
        )
    _bounded("action", action, 64)
    if outcome not in OUTCOMES:
        raise ValueError(f"audit outcome {outcome!r} must be one of {', '.join(OUTCOMES)}")
    if actor is not None:
        kind, actor_id = actor.kind, actor.id
        # A name is only a label here: shorten it rather than refuse the change it accompanies.
        label = actor_label or (actor.name if len(actor.name) <= 200 else actor.name[:199] + "…")
    else:
        kind, actor_id = actor_kind or "system", None
        label = actor_label or kind
    if kind not in ACTOR_KINDS:
        raise ValueError(f"audit actor kind {kind!r} must be one of {', '.join(ACTOR_KINDS)}")
    _bounded("actor_label", label, 200)
    _bounded("actor_id", actor_id, 64)
    _bounded("target_type", target_type, 64)
    _bounded("target_id", target_id, 300)
    return {
        "actor_kind": kind,
        "actor_id": actor_id,
        "actor_label": label,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "outcome": outcome,
        "details": _normalise_details(event.details),
    }


# --- verifying ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainProblem:
    """One thing wrong with the chain, naming the row (``seq`` and ``id``) where it shows."""

    seq: int | None
    id: str | None
    # "edited", "moved", "broken_link", "missing", "unkeyed", "anchor", "checkpoint", "empty"
    kind: str
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class ChainHead:
    """The newest row: write its seq and hash down somewhere safe to detect a cut-off tail."""

    seq: int
    id: str
    row_hash: str

    def anchor(self) -> str:
        return f"{self.seq}:{self.row_hash}"


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    head: ChainHead | None
    problems: list[ChainProblem]
    keyed_from: int | None = None  # seq of the first keyed row
    checkpoint: CheckpointMark | None = None  # the newest checkpoint checked, if any

    @property
    def intact(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class CheckpointMark:
    """What a signed checkpoint outside the database recorded (see :mod:`opschub.audit.anchor`)."""

    seq: int
    row_hash: str
    keyed_from: int | None
    written_at: str
    name: str  # the checkpoint's file name, to name it in messages


def parse_anchor(value: str) -> tuple[int, str]:
    """``SEQ:HASH`` as printed by ``opschub audit verify``; ValueError saying what is wrong."""
    seq_text, sep, hash_text = value.partition(":")
    if not sep or not seq_text.isdigit() or not re.fullmatch(r"[0-9a-f]{64}", hash_text):
        raise ValueError(f"anchor {value!r} must be SEQ:HASH, e.g. 42:<64 hex digits>")
    return int(seq_text), hash_text


def head(session: Session) -> ChainHead | None:
    row = session.execute(
        select(AuditEvent.seq, AuditEvent.id, AuditEvent.row_hash)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    return None if row is None else ChainHead(row.seq, row.id, row.row_hash)


def count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def _rows_in_order(
    session: Session, batch_size: int, release: bool, after: int = 0
) -> Iterator[Sequence[Row[Any]]]:
    """Plain rows (not ORM objects), so that a long walk neither fills nor disturbs the session.

    With ``release`` each batch is read in its own short transaction, so that a long walk does not
    hold SQLite's write lock (taken by BEGIN IMMEDIATE); rows are only appended, so walking on by
    ``seq`` across transactions sees a consistent chain.
    """
    table = AuditEvent.__table__
    last_seq = after
    while True:
        batch = session.execute(
            select(table).where(table.c.seq > last_seq).order_by(table.c.seq).limit(batch_size)
        ).all()
        if not batch:
            return
        if release:
            session.rollback()  # read-only: ends the transaction, loses nothing
        yield batch
        last_seq = batch[-1].seq


def _name(seq: int, id_: str) -> str:
    return f"seq {seq} (id {id_})"


def _moved_from(session: Session, event: Row[Any], key: bytes) -> int | None:
    """The seq the row was written at, if its hash fits it there (it was re-ordered)."""
    before = session.scalar(select(AuditEvent.seq).where(AuditEvent.row_hash == event.prev_hash))
    if event.prev_hash == GENESIS_HASH:
        before = 0
    if before is None or before + 1 == event.seq:
        return None
    fits = {_row_hash(event, key, before + 1), _row_hash(event, None, before + 1)}
    return before + 1 if event.row_hash in fits else None


def verify_chain(
    session: Session,
    *,
    anchor: tuple[int, str] | None = None,
    checkpoints: Sequence[CheckpointMark] = (),
    progress: Callable[[int], None] | None = None,
    batch_size: int = 1000,
    release_between_batches: bool = False,
    start: tuple[int, str] | None = None,
    keyed_from: int | None = None,
    allow_empty: bool = False,
) -> VerifyResult:
    """Walk the log in ``seq`` order and report every edited, deleted, re-ordered or unkeyed row.

    A deleted tail cannot show in the chain itself; ``checkpoints`` (signed, kept outside the
    database) and a previously printed ``anchor`` (``seq``, ``row_hash``) must still be found
    with the hash they recorded. An empty log is a problem unless ``allow_empty`` (a running
    installation always has events): it was emptied. ``start`` (``seq``, ``row_hash``) walks
    only the rows after a row already checked, ``keyed_from`` the seq from which every row must
    be keyed (as a checkpoint recorded it). ``release_between_batches`` (for a session of its
    own only) reads batch by batch in short transactions so that writers are not held up.
    """
    problems: list[ChainProblem] = []

    def report(seq: int | None, id_: str | None, kind: str, message: str) -> None:
        if len(problems) < MAX_PROBLEMS:
            problems.append(ChainProblem(seq, id_, kind, message))

    key = chain_key()
    marks: dict[int, list[tuple[str, str]]] = {}  # seq -> [(expected hash, what recorded it)]
    if anchor is not None:
        marks.setdefault(anchor[0], []).append((anchor[1], f"the anchor {anchor[0]}:"))
    for mark in checkpoints:
        marks.setdefault(mark.seq, []).append((mark.row_hash, f"checkpoint {mark.name}"))
        if mark.keyed_from is not None:
            keyed_from = min(keyed_from or mark.keyed_from, mark.keyed_from)
    seen: set[int] = set()
    checked = 0
    prev_seq, prev_hash, prev_id = (0, GENESIS_HASH, "") if start is None else (*start, "")
    last: ChainHead | None = None
    for batch in _rows_in_order(session, batch_size, release_between_batches, prev_seq):
        for event in batch:
            checked += 1
            here = _name(event.seq, event.id)
            gap = event.seq != prev_seq + 1
            if gap and prev_seq == 0:
                report(
                    event.seq,
                    event.id,
                    "missing",
                    f"{here}: rows before it are missing (the log starts at seq {event.seq}, "
                    "not 1): they were deleted",
                )
            elif gap:
                lost = (
                    f"row seq {prev_seq + 1} is"
                    if event.seq == prev_seq + 2
                    else f"rows seq {prev_seq + 1} to {event.seq - 1} are"
                )
                report(
                    event.seq,
                    event.id,
                    "missing",
                    f"{here}: {lost} missing between {_name(prev_seq, prev_id)} and this row: "
                    "deleted or moved",
                )
            keyed = _row_hash(event, key) == event.row_hash
            unkeyed = not keyed and _row_hash(event, None) == event.row_hash
            if keyed and keyed_from is None:
                keyed_from = event.seq
            if unkeyed and keyed_from is not None and event.seq >= keyed_from:
                report(
                    event.seq,
                    event.id,
                    "unkeyed",
                    f"{here}: hash is not keyed although the keyed chain starts at seq "
                    f"{keyed_from}: the row was written or rehashed without the key",
                )
            elif not keyed and not unkeyed:
                moved = _moved_from(session, event, key)
                if moved is not None:
                    report(
                        event.seq,
                        event.id,
                        "moved",
                        f"{here}: row was written as seq {moved} and has been moved "
                        "(rows were re-ordered)",
                    )
                else:
                    report(
                        event.seq,
                        event.id,
                        "edited",
                        f"{here}: contents do not match the row's hash: the row was edited",
                    )
            elif event.prev_hash != prev_hash and not gap:
                before = _name(prev_seq, prev_id) if prev_seq else "the start of the log"
                report(
                    event.seq,
                    event.id,
                    "broken_link",
                    f"{here}: link to the previous row ({before}) does not match: that row was "
                    "edited and re-hashed, replaced, or rows were re-ordered",
                )
            for expected, source in marks.get(event.seq, ()):
                seen.add(event.seq)
                if event.row_hash != expected:
                    kind = "anchor" if source.startswith("the anchor") else "checkpoint"
                    shown = f"{source}{expected[:12]}..." if kind == "anchor" else source
                    report(
                        event.seq,
                        event.id,
                        kind,
                        f"{here}: hash differs from {shown}: the row was replaced since "
                        f"{'the anchor' if kind == 'anchor' else 'the checkpoint'} was taken",
                    )
            prev_seq, prev_hash, prev_id = event.seq, event.row_hash, event.id
            last = ChainHead(event.seq, event.id, event.row_hash)
        if progress is not None:
            progress(len(batch))
    for seq in sorted(set(marks) - seen):
        for _expected, source in marks[seq]:
            if source.startswith("the anchor"):
                report(
                    seq,
                    None,
                    "anchor",
                    f"seq {seq}: the anchored row is missing (the log ends at seq {prev_seq}): "
                    "rows were deleted since the anchor was taken",
                )
            elif start is None or seq > start[0]:
                report(
                    seq,
                    None,
                    "checkpoint",
                    f"seq {seq}: {source} recorded this row, but the log ends at seq "
                    f"{prev_seq}: rows were deleted since the checkpoint was written",
                )
    if checked == 0 and start is None and not allow_empty:
        report(
            None,
            None,
            "empty",
            "the audit log is empty, but a running installation always has events (its first "
            "account at least): the log was emptied",
        )
    if len(problems) == MAX_PROBLEMS:
        problems.append(
            ChainProblem(None, None, "truncated", f"more than {MAX_PROBLEMS} problems; stopped")
        )
    newest = max(checkpoints, key=lambda mark: mark.seq, default=None)
    return VerifyResult(
        checked=checked, head=last, problems=problems, keyed_from=keyed_from, checkpoint=newest
    )


def verify(session: Session, *, anchor: tuple[int, str] | None = None) -> list[ChainProblem]:
    """Every problem in the chain; empty when the log is intact (see :func:`verify_chain`)."""
    return verify_chain(session, anchor=anchor).problems


def write_checkpoint(session: Session, settings: Settings | None = None) -> Path | None:
    """Anchor the chain's head outside the database: a signed checkpoint file.

    For schedulers (the job worker, ``opschub serve``): see :func:`opschub.audit.anchor.write`.
    Pass a read session (``database.read()``), so that on SQLite the walk over the rows written
    since the last checkpoint does not hold the write lock.
    """
    from opschub.audit import anchor

    return anchor.write(session, settings)


# --- reading ------------------------------------------------------------------------------------


# Bounds of what a filter may ask for, so that no input reaches the database that it refuses
# (PostgreSQL: NUL in text, integers beyond 64 bits, years beyond 9999).
MAX_SEQ = 2**63 - 1
MIN_FILTER_TIME = datetime(1900, 1, 1, tzinfo=UTC)
MAX_FILTER_TIME = datetime(9999, 1, 1, tzinfo=UTC)
MAX_DATE_TEXT = 64
FILTER_TEXT_LIMITS = {"action": 65, "actor": 200, "target_type": 64, "target_id": 300}


class FilterError(ValueError):
    """A filter value that cannot be used; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_filter_text(field: str, value: str | None) -> None:
    """Raise :class:`FilterError` for a text filter that is too long or holds NUL or surrogates."""
    if value is None:
        return
    limit = FILTER_TEXT_LIMITS[field]
    if len(value) > limit:
        raise FilterError(field, f"{field} is longer than {limit} characters")
    if "\x00" in value or any("\ud800" <= char <= "\udfff" for char in value):
        raise FilterError(field, f"{field} contains a character that is not allowed")


@dataclass(frozen=True)
class EventFilter:
    """What an auditor narrows the log to. ``action`` ending in ``*`` matches a prefix."""

    action: str | None = None
    actor: str | None = None  # actor id or actor label, exactly
    target_type: str | None = None
    target_id: str | None = None
    outcome: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    # Any of these outcomes (the page's "did not succeed" is refused or failed).
    outcomes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for field in FILTER_TEXT_LIMITS:
            check_filter_text(field, getattr(self, field))
        for outcome in (self.outcome, *self.outcomes):
            if outcome is not None and outcome not in OUTCOMES:
                raise FilterError(
                    "outcome", f"outcome {outcome!r} must be one of {', '.join(OUTCOMES)}"
                )
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise FilterError(name, f"{name} must be timezone-aware")
            if value is not None and not MIN_FILTER_TIME <= value <= MAX_FILTER_TIME:
                raise FilterError(name, f"{name} must be between 1900 and 9998")

    def apply(self, query: Select[Any]) -> Select[Any]:
        if self.action:
            if self.action.endswith("*"):
                prefix = self.action.rstrip("*")
                escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                query = query.where(AuditEvent.action.like(escaped + "%", escape="\\"))
            else:
                query = query.where(AuditEvent.action == self.action)
        if self.actor:
            query = query.where(
                or_(AuditEvent.actor_id == self.actor, AuditEvent.actor_label == self.actor)
            )
        if self.target_type:
            query = query.where(AuditEvent.target_type == self.target_type)
        if self.target_id:
            query = query.where(AuditEvent.target_id == self.target_id)
        if self.outcome:
            query = query.where(AuditEvent.outcome == self.outcome)
        if self.outcomes:
            query = query.where(AuditEvent.outcome.in_(self.outcomes))
        if self.since is not None:
            query = query.where(AuditEvent.occurred_at >= self.since)
        if self.until is not None:
            query = query.where(AuditEvent.occurred_at < self.until)
        return query


def list_events(
    session: Session,
    filters: EventFilter | None = None,
    *,
    limit: int = 50,
    before_seq: int | None = None,
) -> list[AuditEvent]:
    """Matching events, newest first; page on with ``before_seq`` = the last seq shown."""
    if not 1 <= limit <= 1000:
        raise ValueError(f"limit must be 1 to 1000, got {limit}")
    if before_seq is not None and not 1 <= before_seq <= MAX_SEQ:
        raise FilterError("before", f"before must be a whole number from 1 to {MAX_SEQ}")
    query = (filters or EventFilter()).apply(select(AuditEvent))
    if before_seq is not None:
        query = query.where(AuditEvent.seq < before_seq)
    return list(session.scalars(query.order_by(AuditEvent.seq.desc()).limit(limit)))


def count_events(session: Session, filters: EventFilter | None = None) -> int:
    query = (filters or EventFilter()).apply(select(func.count()).select_from(AuditEvent))
    return int(session.scalar(query) or 0)


def parse_date_bound(value: str, *, name: str, end: bool = False) -> datetime:
    """``YYYY-MM-DD`` or an ISO date-time (UTC if no zone) as a UTC instant.

    With ``end`` a bare date means the end of that day (the bound is exclusive), so
    ``--since 2026-01-01 --until 2026-01-31`` covers all of January's 31 days.
    """
    text_ = value.strip()
    invalid = f"{name} {value[:40]!r} is not a date (YYYY-MM-DD) or ISO date-time"
    if len(text_) > MAX_DATE_TEXT:
        raise ValueError(f"{name} is longer than {MAX_DATE_TEXT} characters")
    try:
        if len(text_) == 10:
            day = date.fromisoformat(text_)
            moment = datetime.combine(day, time(), tzinfo=UTC)
            moment = moment + timedelta(days=1) if end else moment
        else:
            parsed = datetime.fromisoformat(text_)
            moment = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
            moment = moment.astimezone(UTC)
    except ValueError:
        raise ValueError(invalid) from None
    except OverflowError:  # e.g. 9999-12-31 (end of day) or 0001-01-01T00:00+14:00
        raise ValueError(f"{name} must be between 1900 and 9998") from None
    if not MIN_FILTER_TIME <= moment <= MAX_FILTER_TIME:
        raise ValueError(f"{name} must be between 1900 and 9998")
    return moment


def parse_date_bounds(
    since: str | None, until: str | None, *, prefix: str = ""
) -> tuple[dict[str, datetime | None], dict[str, str]]:
    """Both bounds of a date filter, and a reason per field that cannot be read.

    ``prefix`` goes before the field's name in the reason (``--`` on the command line).
    """
    bounds: dict[str, datetime | None] = {"since": None, "until": None}
    errors: dict[str, str] = {}
    for name, value, end in (("since", since, False), ("until", until, True)):
        if value:
            try:
                bounds[name] = parse_date_bound(value, name=prefix + name, end=end)
            except ValueError as exc:
                errors[name] = str(exc)
    return bounds, errors


def event_as_dict(event: AuditEvent) -> dict[str, Any]:
    """The JSON form used by the API and ``opschub audit list --json``."""
    return {**_chained_fields(event), "row_hash": event.row_hash}


def known_actions(session: Session) -> Sequence[str]:
    """Distinct actions in the log, for the auditor's filter list."""
    return list(session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))


__all__ = [
    "ChainHead",
    "ChainProblem",
    "EventFilter",
    "FilterError",
    "VerifyResult",
    "count_events",
    "list_events",
    "record",
    "verify",
    "verify_chain",
    "write_checkpoint",
]
