"""The one audit writer, and the checks an auditor runs on what it wrote.

:func:`record` adds an event in the caller's session, so it commits or rolls back with the change
it describes. Each row carries ``prev_hash`` (the previous row's ``row_hash``) and its own
``row_hash``, SHA-256 over a canonical JSON serialisation of its fields; :func:`verify` walks
the rows in ``seq`` order and names every row whose contents, position or link do not fit.

Writers are serialised so that the chain never forks: on PostgreSQL by a transaction-scoped advisory
lock taken before reading the last row; on SQLite the engine begins every transaction with
``BEGIN IMMEDIATE``, which admits one writer at a time. The unique ``seq`` and ``row_hash`` make a
fork impossible even if a writer bypassed the lock: its transaction fails instead. (PostgreSQL
sessions must use READ COMMITTED, the default, so that the row read after the lock is the newest.)
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from sqlalchemy import Row, Select, func, inspect, or_, select
from sqlalchemy.orm import Session

from opschub.audit.models import ACTOR_KINDS, OUTCOMES, AuditEvent
from opschub.clock import as_utc, utcnow
from opschub.ids import new_id

GENESIS_HASH = "0" * 64  # prev_hash of the first row
HASH_VERSION = 1  # bump (and keep the old serialisation) if the hashed fields ever change
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


def compute_row_hash(event: AuditEvent | Row[Any], *, seq: int | None = None) -> str:
    """SHA-256 of the row's fields and ``prev_hash``; ``seq`` replaces the row's (moved rows)."""
    payload = {"v": HASH_VERSION, **_chained_fields(event)}
    if seq is not None:
        payload["seq"] = seq
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


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
    rows: list[AuditEvent] = []
    for fields in prepared:
        seq += 1
        row = AuditEvent(id=new_id(), seq=seq, occurred_at=now, prev_hash=prev, **fields)
        row.row_hash = prev = compute_row_hash(row)
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
    kind: str  # "edited", "moved", "broken_link", "missing", "anchor"
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

    @property
    def intact(self) -> bool:
        return not self.problems


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
    session: Session, batch_size: int, release: bool
) -> Iterator[Sequence[Row[Any]]]:
    """Plain rows (not ORM objects), so that a long walk neither fills nor disturbs the session.

    With ``release`` each batch is read in its own short transaction, so that a long walk does not
    hold SQLite's write lock (taken by BEGIN IMMEDIATE); rows are only appended, so walking on by
    ``seq`` across transactions sees a consistent chain.
    """
    table = AuditEvent.__table__
    last_seq = 0
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


def _moved_from(session: Session, event: Row[Any]) -> int | None:
    """The seq the row was written at, if its hash fits it there (it was re-ordered)."""
    before = session.scalar(select(AuditEvent.seq).where(AuditEvent.row_hash == event.prev_hash))
    if event.prev_hash == GENESIS_HASH:
        before = 0
    if before is None or before + 1 == event.seq:
        return None
    return before + 1 if compute_row_hash(event, seq=before + 1) == event.row_hash else None


def verify_chain(
    session: Session,
    *,
    anchor: tuple[int, str] | None = None,
    progress: Callable[[int], None] | None = None,
    batch_size: int = 1000,
    release_between_batches: bool = False,
) -> VerifyResult:
    """Walk the log in ``seq`` order and report every edited, deleted or re-ordered row.

    A deleted tail cannot show in the chain itself; pass a previously printed ``anchor``
    (``seq``, ``row_hash``) to check that the row there is still the one that was seen.
    ``release_between_batches`` (for a session of its own only) reads batch by batch in short
    transactions so that writers are not held up.
    """
    problems: list[ChainProblem] = []

    def report(seq: int | None, id_: str | None, kind: str, message: str) -> None:
        if len(problems) < MAX_PROBLEMS:
            problems.append(ChainProblem(seq, id_, kind, message))

    checked = 0
    prev_seq, prev_hash, prev_id = 0, GENESIS_HASH, ""
    last: ChainHead | None = None
    anchor_seen = False
    for batch in _rows_in_order(session, batch_size, release_between_batches):
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
            if compute_row_hash(event) != event.row_hash:
                moved = _moved_from(session, event)
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
            if anchor is not None and event.seq == anchor[0]:
                anchor_seen = True
                if event.row_hash != anchor[1]:
                    report(
                        event.seq,
                        event.id,
                        "anchor",
                        f"{here}: hash differs from the anchor {anchor[0]}:{anchor[1][:12]}...: "
                        "the row was replaced since the anchor was taken",
                    )
            prev_seq, prev_hash, prev_id = event.seq, event.row_hash, event.id
            last = ChainHead(event.seq, event.id, event.row_hash)
        if progress is not None:
            progress(len(batch))
    if anchor is not None and not anchor_seen:
        report(
            anchor[0],
            None,
            "anchor",
            f"seq {anchor[0]}: the anchored row is missing (the log ends at seq {prev_seq}): "
            "rows were deleted since the anchor was taken",
        )
    if len(problems) == MAX_PROBLEMS:
        problems.append(
            ChainProblem(None, None, "truncated", f"more than {MAX_PROBLEMS} problems; stopped")
        )
    return VerifyResult(checked=checked, head=last, problems=problems)


def verify(session: Session, *, anchor: tuple[int, str] | None = None) -> list[ChainProblem]:
    """Every problem in the chain; empty when the log is intact (see :func:`verify_chain`)."""
    return verify_chain(session, anchor=anchor).problems


# --- reading ------------------------------------------------------------------------------------


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
        for outcome in (self.outcome, *self.outcomes):
            if outcome is not None and outcome not in OUTCOMES:
                raise ValueError(f"outcome {outcome!r} must be one of {', '.join(OUTCOMES)}")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware")

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
    try:
        if len(text_) == 10:
            day = date.fromisoformat(text_)
            moment = datetime.combine(day, time(), tzinfo=UTC)
            return moment + timedelta(days=1) if end else moment
        parsed = datetime.fromisoformat(text_)
    except ValueError:
        raise ValueError(f"{name} {value!r} is not a date (YYYY-MM-DD) or ISO date-time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


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
    "VerifyResult",
    "count_events",
    "list_events",
    "record",
    "verify",
    "verify_chain",
]
