"""The lists served to online services: a URL block list and a hash list of confirmed items.

When a target is confirmed, takedown calls :func:`add_confirmed` with its URL and the hashes of
its confirmed items; when the content is observed gone, :func:`remove_gone`. Each call that
changes a list makes one new version of it, in the caller's transaction, with one audit event
per changed list. Whether gone content leaves a list is that list's rule (setting
``OPSCHUB_LISTS_REMOVE_WHEN_GONE``, default ``urls``: the URL block list drops a URL whose
content is gone, the hash list keeps hashes, which stay useful wherever the material turns up
again). A hash confirmed at several URLs leaves only when the last of them is gone.

Reading: :func:`index`, :func:`snapshot` (the entries of any version) and :func:`changes`
(added and removed since version N), and :func:`signed` for a signed export in the matching
engine's formats (:mod:`opschub.takedown.signed_lists`, verified by ``opschub lists verify``).
No web imports.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from opschub.audit import service as audit_service
from opschub.audit.service import Actor
from opschub.clock import utcnow
from opschub.config import get_settings
from opschub.matching.formats import FORMATS as HASH_FORMATS
from opschub.matching.formats import InvalidHash, make_entry
from opschub.takedown import signed_lists
from opschub.takedown.lists_models import (
    SERVED_LISTS,
    ServedList,
    ServedListEntry,
    ServedListSource,
    ServedListVersion,
)
from opschub.takedown.signed_lists import ListError, SignedExport

URL_LIST = "urls"
HASH_LIST = "hashes"
FORMATS = {"urls": signed_lists.URL_FORMATS, "hashes": HASH_FORMATS}
TARGET_TYPE = "served_list"

__all__ = [
    "ListError",
    "ListInfo",
    "add_confirmed",
    "changes",
    "index",
    "info",
    "remove_gone",
    "signed",
    "snapshot",
]


@dataclass(frozen=True)
class ListInfo:
    name: str
    kind: str
    version: int  # 0: nothing on it yet
    entries: int
    updated_at: str  # ISO 8601 UTC, "Z"
    remove_when_gone: bool

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "kind": self.kind,
            "version": self.version,
            "entries": self.entries,
            "updated_at": self.updated_at,
            "remove_when_gone": self.remove_when_gone,
            "formats": list(FORMATS[self.kind]),
        }


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _iso(value: Any) -> str:
    return str(value.strftime("%Y-%m-%dT%H:%M:%SZ"))


def _key(record: dict[str, Any]) -> str:
    if "url" in record:
        return str(record["url"])
    return f"{record['hash_type']}:{record['hash']}"


def _normal_url(url: str) -> str:
    """The URL as the list carries it: normalised as reports are; a well-formed http(s) URL
    that intake would refuse as a report (a loopback test server, say) is kept as given, so
    that confirming or removing a target never fails on the list."""
    from urllib.parse import urlsplit

    from opschub.intake.urls import UrlError, normalise_url

    if not isinstance(url, str):
        raise ListError("url: give the URL as text")
    try:
        return normalise_url(url)
    except UrlError as exc:
        text = url.strip()
        try:
            parts = urlsplit(text)
        except ValueError:
            parts = None
        well_formed = parts is not None and parts.scheme in ("http", "https") and parts.hostname
        if well_formed and not any(c.isspace() or ord(c) < 0x20 for c in text):
            return text
        raise ListError(f"url: {exc}") from None


def _hash_records(sha256s: Sequence[str], pdqs: Sequence[str]) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for field, hash_type, values in (("sha256s", "sha256", sha256s), ("pdqs", "pdq", pdqs)):
        if isinstance(values, str):
            raise ListError(f"{field}: give a list of hashes, not one string")
        for index, value in enumerate(values):
            try:
                entry = make_entry(hash_type, value)
            except InvalidHash as exc:
                raise ListError(f"{field}[{index}]: {exc}") from None
            records.append({"hash_type": entry.hash_type, "hash": entry.hash})
    return records


def _list_row(session: Session, name: str, *, lock: bool) -> ServedList:
    """The list's row, created on first use; ``lock`` serialises writers of one list (the row
    lock on PostgreSQL; SQLite takes the database's write lock at BEGIN)."""
    if name not in SERVED_LISTS:
        raise ListError(f"no list named {name!r}; the lists are {', '.join(SERVED_LISTS)}")
    query = select(ServedList).where(ServedList.name == name)
    row = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if row is None:
        if not lock:
            return ServedList(name=name, kind=SERVED_LISTS[name], version=0, entries=0)
        session.add(ServedList(name=name, kind=SERVED_LISTS[name], version=0, entries=0))
        session.flush()
        row = session.scalars(query.with_for_update()).one()
    return row


class _Change:
    """The changes to one list inside one call; becomes one version if anything changed."""

    def __init__(self, session: Session, name: str) -> None:
        self.session = session
        self.row = _list_row(session, name, lock=True)
        self.version = self.row.version + 1
        self.added = 0
        self.removed = 0
        self.now = utcnow()

    def present(self, key_sha: str) -> ServedListEntry | None:
        return self.session.scalars(
            select(ServedListEntry).where(
                ServedListEntry.list_name == self.row.name,
                ServedListEntry.key_sha256 == key_sha,
                ServedListEntry.removed_version.is_(None),
            )
        ).one_or_none()

    def add(self, record: dict[str, Any], url: str, target_id: str | None) -> None:
        key_sha = _sha(_key(record))
        url_sha = _sha(url)
        source = self.session.scalars(
            select(ServedListSource.id).where(
                ServedListSource.list_name == self.row.name,
                ServedListSource.key_sha256 == key_sha,
                ServedListSource.url_sha256 == url_sha,
            )
        ).first()
        if source is None:
            self.session.add(
                ServedListSource(
                    list_name=self.row.name,
                    key_sha256=key_sha,
                    url_sha256=url_sha,
                    url=url,
                    target_id=target_id,
                    created_at=self.now,
                )
            )
        if self.present(key_sha) is None:
            self.session.add(
                ServedListEntry(
                    list_name=self.row.name,
                    key_sha256=key_sha,
                    record=record,
                    added_version=self.version,
                    added_at=self.now,
                )
            )
            self.added += 1
        self.session.flush()

    def drop_url(self, url: str) -> None:
        """Forget ``url`` as a source; entries no other URL carries leave the list."""
        url_sha = _sha(url)
        sources = self.session.scalars(
            select(ServedListSource).where(
                ServedListSource.list_name == self.row.name,
                ServedListSource.url_sha256 == url_sha,
            )
        ).all()
        for source in sources:
            self.session.delete(source)
        self.session.flush()
        for source in sources:
            others = self.session.scalar(
                select(func.count())
                .select_from(ServedListSource)
                .where(
                    ServedListSource.list_name == self.row.name,
                    ServedListSource.key_sha256 == source.key_sha256,
                )
            )
            entry = self.present(source.key_sha256)
            if not others and entry is not None:
                entry.removed_version = self.version
                entry.removed_at = self.now
                self.removed += 1
        self.session.flush()

    def finish(self, actor: Actor | None) -> int | None:
        """Publish the version if anything changed; returns its number (None: no change)."""
        if not self.added and not self.removed:
            return None
        row = self.row
        row.version = self.version
        row.entries = row.entries + self.added - self.removed
        row.updated_at = self.now
        self.session.add(
            ServedListVersion(
                list_name=row.name,
                version=self.version,
                created_at=self.now,
                entries=row.entries,
                added=self.added,
                removed=self.removed,
            )
        )
        audit_service.record(
            self.session,
            action="takedown.lists.version",
            actor=actor,
            target_type=TARGET_TYPE,
            target_id=row.name,
            details={
                "served_list": row.name,
                "version": self.version,
                "added": self.added,
                "removed": self.removed,
            },
        )
        self.session.flush()
        return self.version


def add_confirmed(
    session: Session,
    actor: Actor | None,
    *,
    url: str,
    sha256s: Sequence[str] = (),
    pdqs: Sequence[str] = (),
    target_id: str | None = None,
) -> dict[str, int]:
    """Put a confirmed URL on the URL block list and its items' hashes on the hash list.

    Everything is checked first (a bad hash is named, nothing is written); returns
    ``{list name: new version}`` for the lists that changed (none when all was already there).
    """
    normal = _normal_url(url)
    records = _hash_records(sha256s, pdqs)
    published: dict[str, int] = {}
    for name, items in ((URL_LIST, [{"url": normal}]), (HASH_LIST, records)):
        if not items:
            continue
        change = _Change(session, name)
        for record in items:
            change.add(record, normal, target_id)
        version = change.finish(actor)
        if version is not None:
            published[name] = version
    return published


def remove_gone(session: Session, actor: Actor | None, *, url: str) -> dict[str, int]:
    """The content at ``url`` is gone: each list whose rule says so forgets the URL, and the
    entries no other confirmed URL carries leave it. Returns ``{list name: new version}``."""
    normal = _normal_url(url)
    rules = get_settings().lists_remove_when_gone
    published: dict[str, int] = {}
    for name in SERVED_LISTS:
        if name not in rules:
            continue
        change = _Change(session, name)
        change.drop_url(normal)
        version = change.finish(actor)
        if version is not None:
            published[name] = version
    return published


# -- reading -----------------------------------------------------------------------------------


def _info(row: ServedList) -> ListInfo:
    return ListInfo(
        name=row.name,
        kind=row.kind,
        version=row.version,
        entries=row.entries,
        updated_at=_iso(row.updated_at or utcnow()),
        remove_when_gone=row.name in get_settings().lists_remove_when_gone,
    )


def index(session: Session) -> list[ListInfo]:
    """Every served list (an empty version 0 for a list nothing was put on yet)."""
    return [_info(_list_row(session, name, lock=False)) for name in SERVED_LISTS]


def info(session: Session, name: str) -> ListInfo:
    return _info(_list_row(session, name, lock=False))


def _check_version(row: ServedList, version: int, what: str) -> None:
    if version < 0 or version > row.version:
        raise ListError(
            f"{what}: {row.name} has versions 0 to {row.version}, not {version}"
            if row.version
            else f"{what}: {row.name} has no version yet (only 0, the empty list)"
        )


def snapshot(session: Session, name: str, version: int | None = None) -> list[dict[str, Any]]:
    """The entries of ``version`` (default: the current one), sorted as the files are."""
    row = _list_row(session, name, lock=False)
    target = row.version if version is None else version
    _check_version(row, target, "version")
    records = session.scalars(
        select(ServedListEntry.record).where(
            ServedListEntry.list_name == name,
            ServedListEntry.added_version <= target,
            or_(
                ServedListEntry.removed_version.is_(None),
                ServedListEntry.removed_version > target,
            ),
        )
    ).all()
    return sorted((dict(r) for r in records), key=_sort_key)


def _sort_key(record: dict[str, Any]) -> tuple[str, ...]:
    if "url" in record:
        return (str(record["url"]),)
    return (str(record["hash_type"]), str(record["hash"]))


def changes(
    session: Session, name: str, since: int, version: int | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(added, removed) from version ``since`` to ``version`` (default: the current one)."""
    row = _list_row(session, name, lock=False)
    target = row.version if version is None else version
    _check_version(row, since, "since")
    _check_version(row, target, "version")
    if since > target:
        raise ListError(f"since: version {since} is after version {target}")
    # Only entries added or removed between the two versions can differ: an entry present at
    # ``since`` that was removed in between, or one added in between that is still there.
    touched = session.execute(
        select(
            ServedListEntry.key_sha256,
            ServedListEntry.record,
            ServedListEntry.added_version,
            ServedListEntry.removed_version,
        ).where(
            ServedListEntry.list_name == name,
            or_(
                and_(
                    ServedListEntry.added_version > since, ServedListEntry.added_version <= target
                ),
                and_(
                    ServedListEntry.removed_version > since,
                    ServedListEntry.removed_version <= target,
                ),
            ),
        )
    ).all()
    then: dict[str, dict[str, Any]] = {}
    now: dict[str, dict[str, Any]] = {}
    for key_sha, record, added_in, removed_in in touched:
        if added_in <= since:
            then[key_sha] = dict(record)
        elif removed_in is None or removed_in > target:
            now[key_sha] = dict(record)
    added = [now[k] for k in now.keys() - then.keys()]
    removed = [then[k] for k in then.keys() - now.keys()]
    return sorted(added, key=_sort_key), sorted(removed, key=_sort_key)


def signed(
    session: Session,
    name: str,
    *,
    format: str = "jsonl",
    since: int | None = None,
    version: int | None = None,
    key_directory: Path | None = None,
) -> SignedExport:
    """A signed export of a version (or of the changes since ``since``), signed with the key of
    ``opschub lists public-key``; the manifest's time is the version's, so the same request
    gives the same bytes and signature."""
    row = _list_row(session, name, lock=False)
    target = row.version if version is None else version
    _check_version(row, target, "version")
    kind: signed_lists.Kind = "urls" if row.kind == "urls" else "hashes"
    if format not in FORMATS[row.kind]:
        raise ListError(
            f"format: the {name} list exports as {', '.join(FORMATS[row.kind])}, not {format!r}"
        )
    if since is not None:
        if format != "jsonl":
            raise ListError("format: changes since a version are exported as jsonl only")
        added, removed = changes(session, name, since, target)
        payload, count = signed_lists.render_changes(added, removed)
    else:
        payload, count = signed_lists.render(kind, snapshot(session, name, target), format)
    created = session.scalar(
        select(ServedListVersion.created_at).where(
            ServedListVersion.list_name == name, ServedListVersion.version == target
        )
    )
    return signed_lists.sign(
        key_directory or get_settings().data_dir / "lists",
        name=name,
        kind=kind,
        version=target,
        since=since,
        format=format,
        payload=payload,
        entries=count,
        created_at=_iso(created) if created is not None else "1970-01-01T00:00:00Z",
    )
