"""Hash-list use cases for people: import, export and remove lists, each written to the audit log.

The lists themselves live in :class:`opschub.matching.store.HashListStore` (files under
``<data_dir>/matching``, with their own import history: file, format, version, time); this module
adds who did what, through the audit log. No table of its own: the store's history says what was
imported, the audit log says by whom (``target_type`` ``hashlist``, ``target_id`` the list name).

A store change and its audit event cannot share one database transaction (the store is files):
the change is made first and the event is written in the caller's transaction right after, so a
refused change writes no event and a failed transaction leaves the change without its event
only if the database fails in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from sqlalchemy.orm import Session

from opschub.audit import service as audit
from opschub.audit.service import Actor
from opschub.config import get_settings
from opschub.matching.formats import FORMATS, HASH_TYPES
from opschub.matching.store import HashListStore, ImportSummary, ListInfo, UnknownList

TARGET = "hashlist"
# Lists the system keeps itself: shared with partners, refilled by intake; never removed by hand.
SYSTEM_LISTS = frozenset({"self-reported"})
# Export formats offered on the pages (VICS holds only MD5 and SHA-1; "lines" one hash type).
EXPORT_FORMATS = ("csv", "jsonl", "tx-csv", "vics", "lines")


class HashListError(ValueError):
    """A request about a list that cannot be done; ``field`` names the form field."""

    def __init__(self, field: str, code: str, message: str) -> None:
        self.field = field
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class ImportRequest:
    """One uploaded file and what the person said about it."""

    name: str
    path: Path
    filename: str
    format: str | None = None  # None: detected from the file
    hash_type: str = "pdq"  # for the "lines" format
    version: str | None = None
    source: str | None = None
    sharing: str | None = None
    description: str | None = None


def store() -> HashListStore:
    """The store of this installation (shared with intake's matching, one per directory)."""
    from opschub.intake.service import default_store

    return default_store()


def upload_dir() -> Path:
    """Where uploads wait while they are checked and imported (removed afterwards)."""
    folder = get_settings().data_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def lists(hash_store: HashListStore) -> list[ListInfo]:
    return sorted(hash_store.lists(), key=lambda info: info.name)


def get(hash_store: HashListStore, name: str) -> ListInfo:
    """The list called ``name``; UnknownList when there is none (or the name is not valid)."""
    try:
        HashListStore.check_name(name)
    except Exception:
        raise UnknownList(f"no hash list named {name!r}") from None
    if not hash_store.exists(name):
        raise UnknownList(f"no hash list named {name!r}")
    return hash_store.info(name)


def validate_import(request: ImportRequest) -> None:
    """Every field checked before anything is read; the first bad field is named."""
    try:
        HashListStore.check_name(request.name)
    except Exception:
        raise HashListError(
            "name",
            "bad_name",
            "a list name is 1 to 100 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit",
        ) from None
    if request.format is not None and request.format not in FORMATS:
        raise HashListError("format", "bad_format", f"unknown format {request.format!r}")
    if request.hash_type not in HASH_TYPES:
        raise HashListError(
            "hash_type", "bad_hash_type", f"unknown hash type {request.hash_type!r}"
        )
    if request.name in SYSTEM_LISTS:
        raise HashListError(
            "name", "system_list", f"the list {request.name!r} is kept by the system"
        )


def import_file(
    session: Session, hash_store: HashListStore, request: ImportRequest, actor: Actor
) -> ImportSummary:
    """Import a whole file, all or nothing (ListFormatError names every bad line; nothing is
    imported then), as ``opschub lists import`` does. The list is created when missing."""
    validate_import(request)
    created = not hash_store.exists(request.name)
    summary = hash_store.import_file(
        request.name,
        request.path,
        format=request.format,
        hash_type=request.hash_type,
        version=request.version or None,
        source=request.source or None,
        sharing=request.sharing or None,
        description=request.description or None,
    )
    history = hash_store.info(request.name).imports
    audit.record(
        session,
        action="hashlists.list.imported",
        actor=actor,
        target_type=TARGET,
        target_id=request.name,
        details={
            "file": request.filename,
            "format": history[-1].get("format") if history else request.format,
            "version": request.version or None,
            "read": summary.read,
            "added": summary.added,
            "already_present": summary.already_present,
            "created": created,
        },
    )
    return summary


def export(
    session: Session, hash_store: HashListStore, name: str, format: str, out: TextIO, actor: Actor
) -> int:
    """Write the list in ``format`` to ``out``; the export is written to the audit log."""
    get(hash_store, name)
    if format not in EXPORT_FORMATS:
        raise HashListError("format", "bad_format", f"unknown format {format!r}")
    written = hash_store.export(name, out, format=format)
    audit.record(
        session,
        action="hashlists.list.exported",
        actor=actor,
        target_type=TARGET,
        target_id=name,
        details={"format": format, "entries": written},
    )
    return written


def remove(session: Session, hash_store: HashListStore, name: str, actor: Actor) -> ListInfo:
    """Remove a list (not a system list); the removal is written to the audit log."""
    info = get(hash_store, name)
    if name in SYSTEM_LISTS:
        raise HashListError("name", "system_list", f"the list {name!r} is kept by the system")
    hash_store.remove_list(name)
    audit.record(
        session,
        action="hashlists.list.removed",
        actor=actor,
        target_type=TARGET,
        target_id=name,
        details={"entries": info.total, "version": info.version},
    )
    return info
