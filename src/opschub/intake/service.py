"""Intake use cases: the only code that writes the intake tables.

A report arrives whole or not at all: in the caller's transaction its URLs are normalised and
linked to earlier open reports of the same URL, its fingerprints are matched against every hash
list, its triage priority is set, and an audit event is written for it.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, insert, or_, select
from sqlalchemy.orm import Session, defer, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from opschub import taxonomy
from opschub.accounts.principal import Principal
from opschub.audit import service as audit
from opschub.clock import utcnow
from opschub.config import get_settings
from opschub.ids import is_id, new_id
from opschub.intake import receipts, triage
from opschub.intake.models import (
    CHANNELS,
    FINGERPRINT_TYPES,
    MEDIA_KINDS,
    OPEN_STATUSES,
    STATED_AGE_BANDS,
    STATUSES,
    IdempotencyRecord,
    Report,
    ReportFingerprint,
    ReportMatch,
    ReportUrl,
)
from opschub.intake.urls import UrlError, host_of, normalise_url
from opschub.matching.formats import Entry
from opschub.matching.store import HashListStore, Match, StoreError

log = logging.getLogger(__name__)

SELF_REPORTED_LIST = "self-reported"
MAX_URLS = 100
MAX_FINGERPRINTS = 100
MAX_INCIDENT_TYPES = 20
MAX_DESCRIPTION = 5000
MAX_WHERE_SEEN = 500
MAX_CONTACT = 500
MAX_REFERENCE = 200
# Per request (a batch of reports), not only per report: what one request may write is bounded
# so that it holds SQLite's write lock for well under the busy timeout of other writers.
MAX_REQUEST_URLS = 5_000
MAX_REQUEST_FINGERPRINTS = 5_000
# Rows per INSERT statement when storing a batch.
WRITE_CHUNK = 500
# A plausible incident time: not before the web existed for the public, not in the future
# (a day of slack for clocks). Anything else is a mistake or an attack on readers of the time.
EARLIEST_INCIDENT = datetime(1970, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)
HEX_LENGTHS = {"sha256": 64, "md5": 32, "sha1": 40, "pdq": 64}
_HEX = re.compile(r"[0-9a-f]+")
INCIDENT_TYPES: tuple[str, ...] = (
    taxonomy.FORM_OF_EXPLOITATION.values + taxonomy.EXPLOITATION_CONTEXT.values
)


@dataclass(frozen=True)
class FingerprintIn:
    hash_type: str
    value: str
    quality: int | None = None


@dataclass
class ReportIn:
    """A report as submitted, before validation."""

    channel: str
    incident_types: Sequence[str] = ()
    urls: Sequence[str] = ()
    fingerprints: Sequence[FingerprintIn] = ()
    setting: str | None = None
    where_seen: str | None = None
    description: str | None = None
    contact: str | None = None
    stated_age_band: str | None = None
    media_kind: str | None = None
    incident_at: datetime | None = None
    partner_reference: str | None = None
    is_demo: bool = False


@dataclass(frozen=True)
class FieldError:
    field: str  # JSON pointer into the submission, e.g. /reports/3/urls/0
    message: str
    code: str = "invalid"


class IntakeInvalid(ValueError):
    """The submission has errors; nothing was stored. ``errors`` names every bad field."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in self.errors[:5]))


class UnknownReport(LookupError):
    pass


@dataclass
class Submitted:
    """What was stored. ``report`` loads the row with its URLs, fingerprints and matches (only
    while the transaction that stored it is open)."""

    id: str
    channel: str
    priority: int
    priority_reasons: tuple[str, ...]
    receipt: str | None  # display form, shown once
    is_demo: bool
    fingerprints: tuple[FingerprintIn, ...]
    match_count: int
    urls: int
    _session: Session = field(repr=False, compare=False)

    @property
    def report(self) -> Report:
        return get_report(self._session, self.id)


@dataclass(frozen=True)
class _PdqQuery:
    """A PDQ query with its quality (store.match skips quality < 50)."""

    transform: str
    pdq: str
    quality: int


@dataclass
class _Clean:
    source: ReportIn
    urls: list[tuple[str, str]] = field(default_factory=list)  # (original, normalised)
    fingerprints: list[FingerprintIn] = field(default_factory=list)


# -- hash list store ---------------------------------------------------------------------------

_stores: dict[Path, HashListStore] = {}
_stores_lock = threading.Lock()


def default_store() -> HashListStore:
    """One store object per process and directory, so its loaded indexes are reused."""
    root = (get_settings().data_dir / "matching").resolve()
    with _stores_lock:
        store = _stores.get(root)
        if store is None:
            store = _stores[root] = HashListStore(root)
        return store


# -- validation --------------------------------------------------------------------------------


def _text(value: str | None, limit: int, pointer: str, errors: list[FieldError]) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > limit:
        errors.append(FieldError(pointer, f"is longer than {limit} characters", "too_long"))
    if "\x00" in value:
        # PostgreSQL cannot store NUL in text; no person types one.
        errors.append(FieldError(pointer, "contains a NUL character", "control_character"))
    return value


def incident_time_utc(value: datetime) -> datetime:
    """``value`` in UTC if it is a plausible incident time; ValueError says why not."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("needs a time zone, e.g. 2026-01-31T12:00:00Z")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None
    latest = utcnow() + FUTURE_SLACK
    if not EARLIEST_INCIDENT <= utc <= latest:
        raise ValueError(
            f"must be between {EARLIEST_INCIDENT:%Y-%m-%d} and {latest:%Y-%m-%dT%H:%M}Z (in UTC)"
        )
    return utc


def validate_fingerprint(fp: FingerprintIn) -> FingerprintIn:
    """``fp`` with its hex in lower case; ValueError says what is wrong."""
    if fp.hash_type not in FINGERPRINT_TYPES:
        raise ValueError(f"unknown hash type {fp.hash_type!r}; use {', '.join(FINGERPRINT_TYPES)}")
    value = fp.value.strip().lower()
    length = HEX_LENGTHS[fp.hash_type]
    if len(value) != length or not _HEX.fullmatch(value):
        raise ValueError(f"a {fp.hash_type} hash is {length} hexadecimal digits")
    quality = fp.quality
    if quality is not None:
        if fp.hash_type != "pdq":
            raise ValueError("quality applies to pdq hashes only")
        if not 0 <= quality <= 100:
            raise ValueError("pdq quality must be between 0 and 100")
    return FingerprintIn(fp.hash_type, value, quality)


def _validate(report: ReportIn, prefix: str, errors: list[FieldError]) -> _Clean:
    clean = _Clean(report)
    if report.channel not in CHANNELS:
        errors.append(FieldError(f"{prefix}/channel", f"must be one of {', '.join(CHANNELS)}"))
    if len(report.incident_types) > MAX_INCIDENT_TYPES:
        errors.append(FieldError(f"{prefix}/incident_types", "too many incident types"))
    for i, code in enumerate(report.incident_types):
        if code not in INCIDENT_TYPES:
            errors.append(
                FieldError(
                    f"{prefix}/incident_types/{i}",
                    f"unknown incident type {code!r}; known: {', '.join(INCIDENT_TYPES)}",
                )
            )
    if len(report.urls) > MAX_URLS:
        errors.append(FieldError(f"{prefix}/urls", f"at most {MAX_URLS} URLs per report"))
    for i, url in enumerate(report.urls[:MAX_URLS]):
        try:
            clean.urls.append((url.strip(), normalise_url(url)))
        except UrlError as exc:
            errors.append(FieldError(f"{prefix}/urls/{i}", exc.reason, "bad_url"))
    if len(report.fingerprints) > MAX_FINGERPRINTS:
        errors.append(
            FieldError(f"{prefix}/fingerprints", f"at most {MAX_FINGERPRINTS} fingerprints")
        )
    for i, fp in enumerate(report.fingerprints[:MAX_FINGERPRINTS]):
        try:
            clean.fingerprints.append(validate_fingerprint(fp))
        except ValueError as exc:
            errors.append(FieldError(f"{prefix}/fingerprints/{i}", str(exc), "bad_hash"))
    if report.setting is not None and report.setting not in taxonomy.SETTING:
        errors.append(
            FieldError(f"{prefix}/setting", f"must be one of {', '.join(taxonomy.SETTING.values)}")
        )
    if report.stated_age_band is not None and report.stated_age_band not in STATED_AGE_BANDS:
        errors.append(
            FieldError(f"{prefix}/stated_age_band", f"must be one of {', '.join(STATED_AGE_BANDS)}")
        )
    if report.media_kind is not None and report.media_kind not in MEDIA_KINDS:
        errors.append(FieldError(f"{prefix}/media_kind", "must be image or video"))
    if report.incident_at is not None:
        try:
            report.incident_at = incident_time_utc(report.incident_at)
        except ValueError as exc:
            errors.append(FieldError(f"{prefix}/incident_time", str(exc), "out_of_range"))
    report.where_seen = _text(report.where_seen, MAX_WHERE_SEEN, f"{prefix}/where_seen", errors)
    report.description = _text(report.description, MAX_DESCRIPTION, f"{prefix}/description", errors)
    report.contact = _text(report.contact, MAX_CONTACT, f"{prefix}/contact", errors)
    report.partner_reference = _text(
        report.partner_reference, MAX_REFERENCE, f"{prefix}/org_reference", errors
    )
    if report.channel == "public" and not report.urls:
        errors.append(FieldError(f"{prefix}/urls", "give at least one web address", "required"))
    if report.channel == "self_report" and not report.fingerprints:
        errors.append(
            FieldError(f"{prefix}/fingerprints", "no fingerprints of the file", "required")
        )
    if report.channel == "partner" and not (report.urls or report.fingerprints):
        errors.append(FieldError(prefix or "/", "give at least one URL or fingerprint", "required"))
    return clean


# -- arrival -----------------------------------------------------------------------------------


def _url_hash(normalised: str) -> str:
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def _earlier_open_reports(session: Session, hashes: set[str]) -> dict[str, str]:
    """normalised-URL hash -> id of the earliest open report with that URL."""
    found: dict[str, tuple[datetime, str]] = {}
    ordered = sorted(hashes)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        rows = session.execute(
            select(ReportUrl.normalised_hash, Report.id, Report.created_at)
            .join(Report, Report.id == ReportUrl.report_id)
            .where(ReportUrl.normalised_hash.in_(chunk), Report.status.in_(OPEN_STATUSES))
        )
        for url_hash, report_id, created_at in rows:
            current = found.get(url_hash)
            if current is None or (created_at, report_id) < current:
                found[url_hash] = (created_at, report_id)
    return {h: rid for h, (_, rid) in found.items()}


def counts_as_known(match: Match) -> bool:
    """A match is a known match only against a verified list of abuse material: unverified
    lists (anonymous self-reports: anyone can send any hash) and lists of known benign images
    never raise a report to the top of the queue."""
    return match.verified and not match.benign


def _match_all(store: HashListStore, cleaned: list[_Clean]) -> tuple[list[list[list[Match]]], bool]:
    """Per report, per fingerprint, the store's matches; and whether matching worked."""
    queries: list[Entry | _PdqQuery] = []
    for item in cleaned:
        for fp in item.fingerprints:
            if fp.hash_type == "pdq" and fp.quality is not None:
                queries.append(_PdqQuery("original", fp.value, fp.quality))
            else:
                queries.append(Entry(fp.hash_type, fp.value))  # type: ignore[arg-type]
    results: list[list[Match]] = [[] for _ in queries]
    ok = True
    if queries:
        try:
            results = store.match(queries)
        except (StoreError, OSError, ValueError) as exc:
            ok = False
            log.error("hash list matching failed; reports kept without matches: %s", exc)
    out: list[list[list[Match]]] = []
    position = 0
    for item in cleaned:
        out.append(results[position : position + len(item.fingerprints)])
        position += len(item.fingerprints)
    return out, ok


def submit_reports(
    session: Session,
    reports: Sequence[ReportIn],
    *,
    actor: Principal | None = None,
    store: HashListStore | None = None,
    with_receipts: bool = False,
) -> list[Submitted]:
    """Store ``reports`` (all or none); raises :class:`IntakeInvalid` naming every bad field.

    Pointers in errors are ``/reports/<i>/...`` when several reports are given and ``/...`` for
    one. Public reports (``actor`` None) are audited as actor kind ``public``. Callers that hold
    a write lock for the transaction (SQLite) should call :func:`prepare_reports` before opening
    it and :func:`store_prepared` inside it.
    """
    prepared = prepare_reports(reports, store=store)
    return store_prepared(session, prepared, actor=actor, with_receipts=with_receipts)


@dataclass
class Prepared:
    """Reports validated and matched, ready to store (no database work done yet)."""

    cleaned: list[_Clean]
    matches: list[list[list[Match]]]
    matching_ok: bool
    store: HashListStore


def prepare_reports(reports: Sequence[ReportIn], *, store: HashListStore | None = None) -> Prepared:
    """Validate and match ``reports`` without touching the database; raises
    :class:`IntakeInvalid` naming every bad field."""
    errors: list[FieldError] = []
    prefix_of = (lambda i: f"/reports/{i}") if len(reports) != 1 else (lambda i: "")
    cleaned = [_validate(r, prefix_of(i), errors) for i, r in enumerate(reports)]
    pointer = "/reports" if len(reports) != 1 else "/"
    total_urls = sum(len(r.urls) for r in reports)
    if total_urls > MAX_REQUEST_URLS:
        errors.append(
            FieldError(pointer, f"at most {MAX_REQUEST_URLS} URLs in one request", "too_many")
        )
    total_fps = sum(len(r.fingerprints) for r in reports)
    if total_fps > MAX_REQUEST_FINGERPRINTS:
        errors.append(
            FieldError(
                pointer,
                f"at most {MAX_REQUEST_FINGERPRINTS} fingerprints in one request",
                "too_many",
            )
        )
    if errors:
        raise IntakeInvalid(errors)
    store = store or default_store()
    matches, matching_ok = _match_all(store, cleaned)
    return Prepared(cleaned, matches, matching_ok, store)


def _insert_chunked(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), WRITE_CHUNK):
        session.execute(insert(model), rows[start : start + WRITE_CHUNK])


def store_prepared(
    session: Session,
    prepared: Prepared,
    *,
    actor: Principal | None = None,
    with_receipts: bool = False,
) -> list[Submitted]:
    """Store prepared reports in ``session`` (see :func:`submit_reports`)."""
    cleaned, matches, matching_ok = prepared.cleaned, prepared.matches, prepared.matching_ok
    all_hashes = {_url_hash(n) for item in cleaned for _, n in item.urls}
    earlier = _earlier_open_reports(session, all_hashes) if all_hashes else {}
    now = utcnow()
    rows: dict[str, list[dict[str, Any]]] = {"reports": [], "urls": [], "fps": [], "matches": []}
    submitted: list[Submitted] = []
    for item, report_matches in zip(cleaned, matches, strict=True):
        src = item.source
        found_all = [m for found in report_matches for m in found]
        verdict = triage.triage(
            matched=any(counts_as_known(m) for m in found_all),
            channel=src.channel,
            stated_age_band=src.stated_age_band,
            incident_types=list(src.incident_types),
            self_report_match=any(not m.verified and not m.benign for m in found_all),
        )
        reasons = list(verdict.reasons) + ([] if matching_ok else ["matching_unavailable"])
        receipt = receipts.new_code() if with_receipts else None
        report_id = new_id()
        for position, (original, normalised) in enumerate(item.urls):
            url_hash = _url_hash(normalised)
            rows["urls"].append(
                {
                    "id": new_id(),
                    "report_id": report_id,
                    "position": position,
                    "original": original,
                    "normalised": normalised,
                    "normalised_hash": url_hash,
                    "host": host_of(normalised)[:255],
                    "linked_report_id": earlier.get(url_hash),
                }
            )
            earlier.setdefault(url_hash, report_id)
        match_count = 0
        for position, (fp, found) in enumerate(zip(item.fingerprints, report_matches, strict=True)):
            fingerprint_id = new_id()
            rows["fps"].append(
                {
                    "id": fingerprint_id,
                    "report_id": report_id,
                    "position": position,
                    "hash_type": fp.hash_type,
                    "value": fp.value,
                    "quality": fp.quality,
                }
            )
            for match in found:
                match_count += 1
                rows["matches"].append(
                    {
                        "id": new_id(),
                        "report_id": report_id,
                        "fingerprint_id": fingerprint_id,
                        "list_name": match.list,
                        "hash_type": match.hash_type,
                        "hash": match.hash,
                        "label": str(match.label)[:300] if match.label else None,
                        "distance": int(match.distance),
                        "transform": match.transform,
                    }
                )
        rows["reports"].append(
            {
                "id": report_id,
                "channel": src.channel,
                "status": "received",
                "incident_types": list(dict.fromkeys(src.incident_types)),
                "setting": src.setting,
                "where_seen": src.where_seen,
                "description": src.description,
                "contact": src.contact,
                "stated_age_band": src.stated_age_band,
                "media_kind": src.media_kind,
                "incident_at": src.incident_at,
                "partner_token_id": actor.id
                if actor is not None and actor.kind == "token"
                else None,
                "partner_reference": src.partner_reference,
                "priority": verdict.priority,
                "priority_reasons": reasons,
                "receipt_hash": receipts.code_hash(receipt) if receipt else None,
                "is_demo": src.is_demo,
                "created_at": now,
                "status_changed_at": now,
            }
        )
        submitted.append(
            Submitted(
                id=report_id,
                channel=src.channel,
                priority=verdict.priority,
                priority_reasons=tuple(reasons),
                receipt=receipts.display(receipt) if receipt else None,
                is_demo=src.is_demo,
                fingerprints=tuple(item.fingerprints),
                match_count=match_count,
                urls=len(item.urls),
                _session=session,
            )
        )
    # Bulk inserts (executemany per table in chunks, parents first): ORM objects per report
    # cost several times more. Column types still apply (encryption, JSON, UTC times).
    for model, key in (
        (Report, "reports"),
        (ReportFingerprint, "fps"),
        (ReportUrl, "urls"),
        (ReportMatch, "matches"),
    ):
        _insert_chunked(session, model, rows[key])
    audit.record_many(
        session,
        [
            audit.EventIn(
                action="intake.report.received",
                actor=actor,
                actor_kind=None if actor is not None else ("system" if done.is_demo else "public"),
                actor_label=None if actor is not None else ("demo data" if done.is_demo else None),
                target_type="report",
                target_id=done.id,
                details={
                    "channel": done.channel,
                    "priority": done.priority,
                    "reasons": list(done.priority_reasons),
                    "urls": done.urls,
                    "fingerprints": len(done.fingerprints),
                    "matches": done.match_count,
                },
            )
            for done in submitted
        ],
    )
    _alert_on_call(session, submitted)
    _add_self_reported(prepared.store, submitted)
    return submitted


def submit_report(session: Session, report: ReportIn, **kwargs: Any) -> Submitted:
    """One report (errors point at ``/field``); see :func:`submit_reports`."""
    return submit_reports(session, [report], **kwargs)[0]


def _add_self_reported(store: HashListStore, submitted: list[Submitted]) -> None:
    """Self-reported fingerprints join the shared list, so partners can remove copies.

    The list is marked unverified: nobody sees a self-reported image, so its hashes are only
    what an anonymous sender claims. Partners review a match themselves; triage never counts it
    as a known match. A repeated self-report of the same hash adds nothing to the list (its
    match's label names the earlier report).

    Done before the caller commits: should the commit fail, the list holds a fingerprint without
    a report (harmless, the addition is idempotent), never a report whose fingerprint is missing.
    """
    entries = [
        Entry(fp.hash_type, fp.value, f"report:{s.id}")  # type: ignore[arg-type]
        for s in submitted
        if s.channel == "self_report" and not s.is_demo
        for fp in s.fingerprints
    ]
    if not entries:
        return
    ensure_self_reported_list(store)
    store.add_entries(SELF_REPORTED_LIST, entries)


SELF_REPORTED_DESCRIPTION = (
    "Fingerprints of images that children reported anonymously as images of themselves. "
    "UNVERIFIED: nobody has seen these images; review any match yourself."
)


def ensure_self_reported_list(store: HashListStore) -> None:
    """The self-reported list exists and is marked unverified (lists made by earlier versions
    were not: they are marked on first use)."""
    if store.exists(SELF_REPORTED_LIST):
        if store.info(SELF_REPORTED_LIST).verified:
            store.update_list(
                SELF_REPORTED_LIST, verified=False, description=SELF_REPORTED_DESCRIPTION
            )
        return
    try:
        store.create_list(
            SELF_REPORTED_LIST,
            source="opschub self-reports",
            sharing="partners",
            description=SELF_REPORTED_DESCRIPTION,
            verified=False,
        )
    except StoreError:
        if not store.exists(SELF_REPORTED_LIST):  # another process created it meanwhile
            raise


# -- reviewing self-reported fingerprints ------------------------------------------------------

MAX_REJECT_REASON = 500
MAX_REJECT_HASHES = 1000
_TYPES_BY_LENGTH = {32: ("md5",), 40: ("sha1",), 64: ("sha256", "pdq")}


@dataclass(frozen=True)
class Rejection:
    """What a rejection removed from the self-reported list, and what it did not find there."""

    removed: tuple[Entry, ...]
    not_in_list: tuple[str, ...]


def parse_hash(text: str) -> list[Entry]:
    """``type:hex`` or bare hex (64 digits mean SHA-256 or PDQ) as entries; ValueError says why
    the text is no hash."""
    text = text.strip().lower()
    hash_type, _, value = text.rpartition(":")
    types = (hash_type,) if hash_type else _TYPES_BY_LENGTH.get(len(value), ())
    if not types:
        raise ValueError("not a hash: give 32, 40 or 64 hexadecimal digits, or type:hex")
    out = []
    for kind in types:
        checked = validate_fingerprint(FingerprintIn(kind, value))
        out.append(Entry(checked.hash_type, checked.value))  # type: ignore[arg-type]
    return out


def reject_self_reported(
    session: Session,
    hashes: Sequence[str],
    *,
    reason: str,
    actor: Principal | None,
    actor_label: str | None = None,
    store: HashListStore | None = None,
) -> Rejection:
    """Remove ``hashes`` from the unverified self-reported list, with the reason, audited.

    Rejected hashes no longer match, leave the list's exports and are not added again by later
    self-reports. Raises :class:`IntakeInvalid` naming bad hashes (``/hashes/<i>``) or a missing
    reason (``/reason``); nothing is changed then.
    """
    errors: list[FieldError] = []
    entries: list[Entry] = []
    if not hashes:
        errors.append(FieldError("/hashes", "give at least one hash", "required"))
    if len(hashes) > MAX_REJECT_HASHES:
        errors.append(FieldError("/hashes", f"at most {MAX_REJECT_HASHES} hashes at a time"))
    for i, text in enumerate(hashes[:MAX_REJECT_HASHES]):
        try:
            entries.extend(parse_hash(text))
        except ValueError as exc:
            errors.append(FieldError(f"/hashes/{i}", str(exc), "bad_hash"))
    cleaned_reason = _text(reason, MAX_REJECT_REASON, "/reason", errors)
    if not cleaned_reason:
        errors.append(FieldError("/reason", "say why these entries are rejected", "required"))
    if errors:
        raise IntakeInvalid(errors)
    store = store or default_store()
    listed = store.exists(SELF_REPORTED_LIST)
    removing = store.present_entries(SELF_REPORTED_LIST, entries) if listed else []
    found = {e.hash for e in removing}
    not_in_list = tuple(
        dict.fromkeys(text.strip().lower() for text in hashes if _bare(text) not in found)
    )
    # Audited first, in the caller's transaction: should removing fail, the caller rolls back.
    audit.record(
        session,
        action="intake.self_reports.rejected",
        actor=actor,
        actor_label=actor_label,
        target_type="hashlist",
        target_id=SELF_REPORTED_LIST,
        details={
            "reason": cleaned_reason,
            "removed": [f"{e.hash_type}:{e.hash}" for e in removing],
            "not_in_list": len(not_in_list),
        },
    )
    removed = store.remove_entries(SELF_REPORTED_LIST, removing) if removing else []
    return Rejection(tuple(removed), not_in_list)


@dataclass(frozen=True)
class ListedFingerprint:
    hash_type: str
    value: str
    listed: bool  # still in the self-reported list


def self_reported_fingerprints(
    report: Report, store: HashListStore | None = None
) -> list[ListedFingerprint]:
    """The report's fingerprints, each saying whether the self-reported list holds it."""
    store = store or default_store()
    entries = [Entry(f.hash_type, f.value) for f in report.fingerprints]  # type: ignore[arg-type]
    present: set[tuple[str, str]] = set()
    if entries and store.exists(SELF_REPORTED_LIST):
        present = {
            (e.hash_type, e.hash) for e in store.present_entries(SELF_REPORTED_LIST, entries)
        }
    return [
        ListedFingerprint(f.hash_type, f.value, (f.hash_type, f.value) in present)
        for f in report.fingerprints
    ]


def _bare(text: str) -> str:
    return text.strip().lower().rpartition(":")[2]


@dataclass(frozen=True)
class Suspicious:
    """A self-reported entry that an analyst should look at, and why (``benign_match`` or
    ``burst``)."""

    entry: Entry
    reason: str
    detail: str  # the benign list it matches, or the window of the burst


def suspicious_self_reports(
    session: Session,
    *,
    store: HashListStore | None = None,
    burst_size: int = 20,
    burst_window: timedelta = timedelta(hours=1),
) -> list[Suspicious]:
    """Entries of the self-reported list that look false: those matching a list marked benign
    (known harmless images), and those of a burst (``burst_size`` or more self-reported
    fingerprints within ``burst_window``, which looks like flooding rather than children asking
    for help). Demo reports are left out."""
    store = store or default_store()
    if not store.exists(SELF_REPORTED_LIST):
        return []
    entries = list(store.entries(SELF_REPORTED_LIST))
    in_list = {(e.hash_type, e.hash): e for e in entries}
    out: list[Suspicious] = []
    benign = [info.name for info in store.lists() if info.benign]
    if benign and entries:
        queries: list[Entry | _PdqQuery] = [
            _PdqQuery("original", e.hash, 100) if e.hash_type == "pdq" else e for e in entries
        ]
        for entry, found in zip(entries, store.match(queries, lists=benign), strict=True):
            if found:
                out.append(Suspicious(entry, "benign_match", found[0].list))
    rows = session.execute(
        select(Report.created_at, ReportFingerprint.hash_type, ReportFingerprint.value)
        .join(ReportFingerprint, ReportFingerprint.report_id == Report.id)
        .where(Report.channel == "self_report", Report.is_demo.is_(False))
        .order_by(Report.created_at)
    ).all()
    times = [row[0] for row in rows]
    flagged: set[tuple[str, str]] = {(s.entry.hash_type, s.entry.hash) for s in out}
    start = 0
    for end, at in enumerate(times):
        while at - times[start] > burst_window:
            start += 1
        if end - start + 1 < burst_size:
            continue
        for _, hash_type, value in rows[start : end + 1]:
            key = (hash_type, value)
            if key in in_list and key not in flagged:
                flagged.add(key)
                window = f"{times[start]:%Y-%m-%d %H:%M}–{at:%H:%M} UTC"
                out.append(Suspicious(in_list[key], "burst", window))
    return out


# -- reading -----------------------------------------------------------------------------------


def status_by_receipt(session: Session, code_text: str) -> str | None:
    """The coarse status of the report with this receipt code, or None.

    Raises :class:`receipts.ReceiptFormatError` for text that cannot be a code.
    """
    digest = receipts.code_hash(receipts.canonical(code_text))
    status: str | None = session.scalar(select(Report.status).where(Report.receipt_hash == digest))
    return status


def get_report(session: Session, report_id: str) -> Report:
    if not is_id(report_id):  # e.g. a NUL character, which PostgreSQL refuses with an error
        raise UnknownReport(report_id)
    options = (
        selectinload(Report.urls),
        selectinload(Report.fingerprints),
        selectinload(Report.matches),
    )
    try:
        with session.begin_nested():
            report = session.scalar(select(Report).where(Report.id == report_id).options(*options))
    except Exception:  # a value that cannot be read: read what can be
        log.exception("report %s cannot be read whole; reading it column by column", report_id)
        report = _load_carefully(session, report_id, options)
    if report is None:
        raise UnknownReport(report_id)
    return report


# Columns whose stored value can fail to load (a time the driver refuses, damaged ciphertext).
_FRAGILE = ("incident_at", "where_seen", "description", "contact")


def _load_carefully(session: Session, report_id: str, options: Sequence[Any]) -> Report | None:
    """The report with each fragile column that cannot be read set to None (in memory only),
    and ``unreadable`` added to its reasons for the reader to see."""
    report = session.scalar(
        select(Report)
        .where(Report.id == report_id)
        .options(*options, *(defer(getattr(Report, name)) for name in _FRAGILE))
        .execution_options(populate_existing=True)
    )
    if report is None:
        return None
    damaged = False
    for name in _FRAGILE:
        try:
            with session.begin_nested():
                value = session.scalar(select(getattr(Report, name)).where(Report.id == report_id))
        except Exception:
            log.exception("report %s: column %s cannot be read", report_id, name)
            value, damaged = None, True
        set_committed_value(report, name, value)
    if damaged:
        set_committed_value(report, "priority_reasons", [*report.priority_reasons, UNREADABLE])
    return report


def linked_reports(session: Session, report_id: str) -> list[tuple[str, str]]:
    """(report id, normalised URL) of later reports that link to this one by URL."""
    rows = session.execute(
        select(ReportUrl.report_id, ReportUrl.normalised)
        .where(ReportUrl.linked_report_id == report_id)
        .order_by(ReportUrl.report_id)
    )
    return [(r, u) for r, u in rows]


UNREADABLE = "unreadable"


def _load_queue_rows(session: Session, page: Sequence[Any]) -> list[Report]:
    """The page's reports, loaded together; a row that cannot be read (a value the driver
    refuses, text that does not decrypt) is logged and shown as a placeholder marked
    ``unreadable`` instead of taking the whole page down."""
    ids = [row.id for row in page]
    options = (
        selectinload(Report.matches),
        selectinload(Report.urls),
        selectinload(Report.fingerprints),
    )
    try:
        with session.begin_nested():
            loaded = {
                r.id: r
                for r in session.scalars(select(Report).where(Report.id.in_(ids)).options(*options))
            }
        return [loaded[i] for i in ids if i in loaded]
    except Exception:  # any failure: fall back to one row at a time
        log.exception("the report queue could not be read at once; reading it row by row")
    out: list[Report] = []
    for row in page:
        try:
            with session.begin_nested():
                report = _load_carefully(session, row.id, options)
            if report is None:
                continue
            out.append(report)
        except Exception:  # this row only
            log.exception("report %s cannot be read; shown as unreadable in the queue", row.id)
            out.append(
                Report(
                    id=row.id,
                    priority=row.priority,
                    channel=row.channel,
                    status=row.status,
                    created_at=row.created_at,
                    incident_types=[],
                    priority_reasons=[UNREADABLE],
                    is_demo=False,
                )
            )
    return out


# -- changes -----------------------------------------------------------------------------------


def record_view(session: Session, report_id: str, actor: Principal) -> None:
    """Opening a report shows personal data (contact details): the audit log says who did."""
    audit.record(
        session,
        action="intake.report.viewed",
        actor=actor,
        target_type="report",
        target_id=report_id,
    )


# -- idempotency -------------------------------------------------------------------------------


def find_idempotent(session: Session, token_id: str, key: str) -> IdempotencyRecord | None:
    return session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.token_id == token_id, IdempotencyRecord.key == key
        )
    )


def save_idempotent(
    session: Session,
    token_id: str,
    key: str,
    body_hash: str,
    status_code: int,
    response: dict[str, Any],
) -> None:
    session.add(
        IdempotencyRecord(
            token_id=token_id,
            key=key,
            body_hash=body_hash,
            status_code=status_code,
            response=response,
        )
    )
    session.flush()


def demo_report_ids(session: Session) -> list[str]:
    return list(session.scalars(select(Report.id).where(Report.is_demo.is_(True))))


def remove_reports(session: Session, report_ids: Iterable[str], *, reason: str) -> int:
    """Delete reports (demo data); audited."""
    count = 0
    for report_id in report_ids:
        report = session.get(Report, report_id)
        if report is None:
            continue
        session.delete(report)
        count += 1
    if count:
        session.flush()
        audit.record(
            session,
            action="intake.report.removed",
            actor_label="command line",
            details={"count": count, "reason": reason},
        )
    return count


# == the analysts' queue: search, claims, states, notes ==========================================
# (Kept together at the end of the module; the submission functions above are another concern.)

import contextlib  # noqa: E402

from opschub.intake import states  # noqa: E402
from opschub.intake.models import ReportNote, ReportStatusChange  # noqa: E402

SORTS = ("priority", "oldest", "newest")
MAX_NOTE = 5000
MAX_REASON = 1000
GROUP_MEMBERS = 50
COUNT_CAP = 1_000
SEARCH_CAP = 5_000
_CROCKFORD_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})


def _find_report(session: Session, report_id: str) -> Report | None:
    """The report, or None; text that cannot be an id (a NUL character, which PostgreSQL refuses
    with an error) is never sent to the database."""
    return session.get(Report, report_id) if is_id(report_id) else None


class QueueActionError(ValueError):
    """A queue action that cannot be done; ``code`` names why (pages translate it)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class QueueFilter:
    status: str | None = None  # one state; None: every open state (or all, with include_closed)
    channel: str | None = None
    level: str | None = None  # urgent, high, normal, low
    matched_only: bool = False
    include_closed: bool = False
    assigned_to: str | None = None  # a user id
    unassigned: bool = False
    search: str = ""
    sort: str = "priority"


def _search_ids(session: Session, text: str) -> set[str]:
    """Ids of reports found by ``text``: a reference, receipt code, hash, URL, host or partner
    reference (at most SEARCH_CAP).

    Every kind is one equality on an indexed column (receipt codes are hashed the same way as when
    they were issued), asked separately: one OR over all of them made PostgreSQL scan every report.
    """
    text = text.strip()
    queries: list[Any] = []
    lowered = text.lower()
    symbols = text.upper().replace(" ", "").replace("-", "").translate(_CROCKFORD_READ_AS)
    if len(symbols) == 9 and symbols.startswith("R"):
        symbols = symbols[1:]
    if len(symbols) == 8:
        queries.append(
            select(Report.id).where(Report.reference == f"R-{symbols[:4]}-{symbols[4:]}")
        )
    with contextlib.suppress(receipts.ReceiptFormatError):
        digest = receipts.code_hash(receipts.canonical(text))
        queries.append(select(Report.id).where(Report.receipt_hash == digest))
    if _HEX.fullmatch(lowered) and len(lowered) in (32, 40, 64):
        queries.append(select(Report.id).where(Report.id == lowered))
        queries.append(
            select(ReportFingerprint.report_id).where(ReportFingerprint.value == lowered)
        )
        queries.append(select(ReportMatch.report_id).where(ReportMatch.hash == lowered))
    if "/" in text or "." in text:
        try:
            normalised = normalise_url(text if "://" in text else "https://" + text)
        except UrlError:
            normalised = None
        if normalised is not None and "/" in text.split("://", 1)[-1]:
            queries.append(
                select(ReportUrl.report_id).where(
                    ReportUrl.normalised_hash == _url_hash(normalised)
                )
            )
        host = lowered.split("://", 1)[-1].split("/", 1)[0].split("@")[-1]
        if host:
            hosts = {host, host[4:] if host.startswith("www.") else "www." + host}
            queries.append(select(ReportUrl.report_id).where(ReportUrl.host.in_(hosts)))
    queries.append(select(Report.id).where(Report.partner_reference == text[:MAX_REFERENCE]))
    found: set[str] = set()
    for query in queries:
        found.update(session.scalars(query.limit(SEARCH_CAP)))
    return found


def _queue_query(filters: QueueFilter, found: set[str] | None = None) -> Any:
    query = select(Report)
    if filters.status:
        query = query.where(Report.status == filters.status)
    elif not filters.include_closed:
        query = query.where(Report.status.in_(OPEN_STATUSES))
    if filters.channel:
        query = query.where(Report.channel == filters.channel)
    if filters.level in states.LEVELS:
        lowest, upper = states.level_range(filters.level)
        query = query.where(Report.priority >= lowest)
        if upper is not None:
            query = query.where(Report.priority < upper)
    if filters.matched_only:
        query = query.where(Report.id.in_(select(ReportMatch.report_id)))
    if filters.assigned_to:
        query = query.where(Report.assigned_to_id == filters.assigned_to)
    elif filters.unassigned:
        query = query.where(Report.assigned_to_id.is_(None))
    if found is not None:
        query = query.where(Report.id.in_(sorted(found)[:SEARCH_CAP]))
    return query


def _order(sort: str) -> tuple[Any, ...]:
    if sort == "oldest":
        return (Report.created_at, Report.id)
    if sort == "newest":
        return (Report.created_at.desc(), Report.id.desc())
    return (Report.priority.desc(), Report.created_at, Report.id)


def queue(
    session: Session, filters: QueueFilter | None = None, *, limit: int = 100, offset: int = 0
) -> tuple[list[Report], int]:
    """Reports by the filter's order (default: priority, then oldest first); and the total.

    The total is counted up to ``COUNT_CAP + 1`` (a page says "more than 1,000"): an exact
    count of a broad filter would read the whole table on every page load.
    """
    filters = filters or QueueFilter()
    found = _search_ids(session, filters.search) if filters.search.strip() else None
    query = _queue_query(filters, found)
    capped = query.with_only_columns(Report.id).limit(COUNT_CAP + 1).subquery()
    total = session.scalar(select(func.count()).select_from(capped)) or 0
    # The page's ids first (plain columns every row can give), then the reports themselves: one
    # unreadable row is shown as such instead of taking the whole queue down.
    page = session.execute(
        query.with_only_columns(
            Report.id, Report.priority, Report.channel, Report.status, Report.created_at
        )
        .order_by(*_order(filters.sort))
        .limit(limit)
        .offset(offset)
    ).all()
    return _load_queue_rows(session, page), int(total)


def group_key(report: Report) -> str:
    """Reports of the same URL, or of the same fingerprint, form one group."""
    if report.urls:
        return "url:" + report.urls[0].normalised_hash
    if report.fingerprints:
        first = report.fingerprints[0]
        return f"fp:{first.hash_type}:{first.value}"
    return "report:" + report.id


def group_members(
    session: Session, reports: Sequence[Report], filters: QueueFilter | None = None
) -> dict[str, list[Report]]:
    """For each group on a page, its reports in the filter's states (up to GROUP_MEMBERS each).

    The members are found through the URL and fingerprint indexes first, then loaded by id:
    one OR of two sub-selects made the database scan every report.
    """
    filters = filters or QueueFilter()
    url_hashes = {r.urls[0].normalised_hash for r in reports if r.urls}
    fp_values = {r.fingerprints[0].value for r in reports if not r.urls and r.fingerprints}
    ids: set[str] = set()
    if url_hashes:
        ids.update(
            session.scalars(
                select(ReportUrl.report_id).where(
                    ReportUrl.normalised_hash.in_(url_hashes), ReportUrl.position == 0
                )
            )
        )
    if fp_values:
        ids.update(
            session.scalars(
                select(ReportFingerprint.report_id).where(
                    ReportFingerprint.value.in_(fp_values), ReportFingerprint.position == 0
                )
            )
        )
    ids.difference_update(r.id for r in reports)
    groups: dict[str, list[Report]] = {}
    for report in reports:
        groups.setdefault(group_key(report), []).append(report)
    if ids:
        same_states = QueueFilter(status=filters.status, include_closed=filters.include_closed)
        rows = session.scalars(
            _queue_query(same_states)
            .where(Report.id.in_(sorted(ids)[: GROUP_MEMBERS * 50]))
            .options(selectinload(Report.urls), selectinload(Report.fingerprints))
            .order_by(*_order("priority"))
        )
        for row in rows:
            members = groups.setdefault(group_key(row), [])
            if len(members) < GROUP_MEMBERS:
                members.append(row)
    return groups


def next_report(session: Session, current_id: str, actor_id: str) -> str | None:
    """The report after ``current_id`` in queue order that is waiting and not someone else's."""
    current = _find_report(session, current_id)
    waiting = (
        select(Report.id)
        .where(
            Report.status.in_(("received", "assessing")),
            Report.id != current_id,
            or_(Report.assigned_to_id.is_(None), Report.assigned_to_id == actor_id),
        )
        .order_by(*_order("priority"))
    )
    if current is not None:
        after = waiting.where(
            or_(
                Report.priority < current.priority,
                and_(Report.priority == current.priority, Report.created_at > current.created_at),
            )
        )
        found: str | None = session.scalar(after.limit(1))
        if found is not None:
            return found
    return session.scalar(waiting.limit(1))


def _clean_reason(reason: str | None, limit: int = MAX_REASON) -> str | None:
    cleaned = (reason or "").strip()
    if len(cleaned) > limit:
        raise QueueActionError("too_long", f"at most {limit} characters")
    return cleaned or None


def change_status(
    session: Session,
    report_id: str,
    status: str,
    actor: Principal | None,
    *,
    reason: str | None = None,
) -> Report:
    """Move a report to ``status``; people follow :mod:`opschub.intake.states` (with reasons).

    The move, its reason (encrypted) and the audit event are written together.
    """
    if status not in STATUSES:
        raise QueueActionError(
            "unknown_status", f"unknown status {status!r}; use {', '.join(STATUSES)}"
        )
    cleaned = _clean_reason(reason)
    report = _find_report(session, report_id)
    if report is None:
        raise UnknownReport(report_id)
    previous = report.status
    if previous == status:
        return report
    if actor is not None:
        if not states.allowed(previous, status):
            raise QueueActionError(
                "not_allowed", f"a report cannot move from {previous} to {status}"
            )
        if states.needs_reason(previous, status) and not cleaned:
            raise QueueActionError("reason_required", "closing or reopening needs a reason")
    report.status = status
    report.status_changed_at = utcnow()
    session.add(
        ReportStatusChange(
            report_id=report.id,
            from_status=previous,
            to_status=status,
            reason=cleaned,
            actor_id=actor.id if actor is not None else None,
            actor_name=actor.name if actor is not None else None,
        )
    )
    audit.record(
        session,
        action="intake.report.reopened" if previous == "closed" else "intake.report.status_changed",
        actor=actor,
        target_type="report",
        target_id=report.id,
        details={"from": previous, "to": status, "with_reason": cleaned is not None},
    )
    return report


def change_status_many(
    session: Session,
    report_ids: Sequence[str],
    status: str,
    actor: Principal,
    *,
    reason: str | None,
) -> tuple[int, list[str]]:
    """Change several reports; returns (changed, ids refused because the move is not allowed)."""
    changed, refused = 0, []
    for report_id in dict.fromkeys(report_ids):
        report = _find_report(session, report_id)
        if report is None:
            raise UnknownReport(report_id)
        if report.status == status:
            continue
        if not states.allowed(report.status, status):
            refused.append(report_id)
            continue
        change_status(session, report_id, status, actor, reason=reason)
        changed += 1
    return changed, refused


def assign(
    session: Session,
    report_ids: Sequence[str],
    assignee_id: str | None,
    actor: Principal,
    *,
    claim: bool = False,
) -> tuple[int, list[str]]:
    """Assign reports to ``assignee_id`` (None: release); returns (changed, ids skipped).

    A claim (``claim=True``, assigning to oneself) skips reports someone else holds: taking over
    needs an explicit assignment.
    """
    changed, skipped = 0, []
    now = utcnow()
    for report_id in dict.fromkeys(report_ids):
        report = _find_report(session, report_id)
        if report is None:
            raise UnknownReport(report_id)
        if report.assigned_to_id == assignee_id:
            continue
        if claim and report.assigned_to_id not in (None, actor.id):
            skipped.append(report_id)
            continue
        previous = report.assigned_to_id
        report.assigned_to_id = assignee_id
        report.assigned_at = now if assignee_id else None
        audit.record(
            session,
            action="intake.report.claimed"
            if claim
            else ("intake.report.assigned" if assignee_id else "intake.report.released"),
            actor=actor,
            target_type="report",
            target_id=report.id,
            details={"from": previous, "to": assignee_id},
        )
        changed += 1
    return changed, skipped


def add_note(session: Session, report_id: str, body: str, actor: Principal) -> ReportNote:
    """A note on a report (encrypted at rest); the audit event names the note, not its text."""
    text = (body or "").strip()
    if not text:
        raise QueueActionError("note_required", "a note needs some text")
    if len(text) > MAX_NOTE:
        raise QueueActionError("too_long", f"at most {MAX_NOTE} characters")
    if _find_report(session, report_id) is None:
        raise UnknownReport(report_id)
    note = ReportNote(report_id=report_id, author_id=actor.id, author_name=actor.name, body=text)
    session.add(note)
    session.flush()
    audit.record(
        session,
        action="intake.report.note_added",
        actor=actor,
        target_type="report",
        target_id=report_id,
        details={"note": note.id, "characters": len(text)},
    )
    return note


def notes(session: Session, report_id: str) -> list[ReportNote]:
    return list(
        session.scalars(
            select(ReportNote)
            .where(ReportNote.report_id == report_id)
            .order_by(ReportNote.created_at, ReportNote.id)
        )
    )


def status_history(session: Session, report_id: str) -> list[ReportStatusChange]:
    return list(
        session.scalars(
            select(ReportStatusChange)
            .where(ReportStatusChange.report_id == report_id)
            .order_by(ReportStatusChange.created_at, ReportStatusChange.id)
        )
    )


@dataclass(frozen=True)
class NewReport:
    id: str
    reference: str
    level: str
    created_at: datetime


def poll(
    session: Session, since: datetime | None, *, limit: int = 20
) -> tuple[int, list[NewReport]]:
    """Open reports (counted up to COUNT_CAP + 1), and the urgent or high ones after ``since``."""
    open_ids = select(Report.id).where(Report.status.in_(OPEN_STATUSES)).limit(COUNT_CAP + 1)
    total = session.scalar(select(func.count()).select_from(open_ids.subquery()))
    fresh: list[NewReport] = []
    if since is not None:
        rows = session.execute(
            select(Report.id, Report.reference, Report.priority, Report.created_at)
            .where(
                Report.status.in_(OPEN_STATUSES),
                Report.created_at > since,
                Report.priority >= states.LEVEL_FLOOR["high"],
            )
            .order_by(Report.priority.desc(), Report.created_at)
            .limit(limit)
        )
        fresh = [NewReport(i, ref, states.level_of(p), at) for i, ref, p, at in rows]
    return int(total or 0), fresh


def reports_for_on_call(submitted: Sequence[Submitted]) -> list[Submitted]:
    """The new reports that reach the on-call address: urgent and high ones."""
    return [s for s in submitted if s.priority >= states.LEVEL_FLOOR["high"]]


def _alert_on_call(session: Session, submitted: Sequence[Submitted]) -> None:
    """With ``OPSCHUB_ONCALL_WEBHOOK_URL`` set, one alert job per submission that brought urgent
    or high reports, created in the submission's transaction (both commit, or neither)."""
    if not get_settings().oncall_webhook_url:
        return
    chosen = [s.id for s in reports_for_on_call(submitted) if not s.is_demo]
    if chosen:
        from opschub.intake.tasks import KIND
        from opschub.jobs import service as jobs

        jobs.schedule(session, kind=KIND, key=f"oncall:{chosen[0]}", payload={"reports": chosen})
