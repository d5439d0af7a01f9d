"""Named hash lists on disk, shared safely by several processes.

Layout under the store's root directory::

    .lock                       writers hold an exclusive flock on it
    lists/<name>/meta.json      list metadata, segments, row counts, generation
    lists/<name>/seg-000001.<type>.npy       digests (uint8, n x bytes) added by one write
    lists/<name>/seg-000001.<type>.lab.npy   int32 row -> index into seg-000001.labels.json
    lists/<name>/seg-000001.labels.json      distinct [label, category] pairs of the segment
    lists/<name>/index-<type>/  the persisted HammingIndex (pdq) or ExactIndex (others)

Every write (import, add) appends one immutable segment and then atomically replaces
``meta.json``: a list is never seen half-changed, and a crash before the rename leaves only
unreferenced files. Row ``i`` of a hash type is entry id ``i`` in that type's index. The index
is saved only every so often (``meta.index_rows`` says how many rows the saved copy holds);
readers open it memory-mapped and replay the newer segments into their in-memory copy. Before
every query a reader compares ``meta.json`` with what it loaded and catches up the same way,
so an addition made by one process is matched by every other one at once.

Two list attributes say how far a list can be trusted: ``verified`` (false for lists whose
hashes nobody has confirmed by looking at the image, such as anonymous self-reports) and
``benign`` (true for lists of known harmless images, used to spot false entries). Entries can be
removed (``meta.removed``, by hash type): removed hashes no longer match, are left out of exports
and are not added again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TextIO

import numpy as np

from opschub.matching.formats import (
    HASH_TYPES,
    HEX_DIGITS,
    Entry,
    ListFormatError,
    ParseError,
    exportable,
    parse_file,
    write_entries,
)

META = "meta.json"
META_FORMAT = 1
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
# Save the index once this many rows are only in segments (replaying is cheap below it).
SAVE_INDEX_AFTER_ROWS = 20_000
SAVE_INDEX_AFTER_SEGMENTS = 64
# Many small additions make many small segments: past this count the trailing small ones are
# merged into one (readers notice the missing segments and reload).
COMPACT_AFTER_SEGMENTS = 128
SMALL_SEGMENT_ROWS = 65_536
MAX_THRESHOLD = 64
DEFAULT_THRESHOLD = 31
MIN_QUALITY = 50


class StoreError(Exception):
    """A store operation failed; the message says why."""


class UnknownList(StoreError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown list"


class PdqQuery(Protocol):
    """A PDQ query variant (opschub.matching.hashing.QueryHash has this shape)."""

    @property
    def transform(self) -> str: ...
    @property
    def pdq(self) -> str: ...
    @property
    def quality(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Match:
    list: str
    hash_type: str
    hash: str
    label: str | None
    distance: int
    transform: str | None
    category: str | None = None
    verified: bool = True  # the list's attribute: False for unconfirmed hashes
    benign: bool = False  # the list's attribute: True for known harmless images

    def to_json(self) -> dict[str, object]:
        return {
            "list": self.list,
            "verified": self.verified,
            "benign": self.benign,
            "hash_type": self.hash_type,
            "hash": self.hash,
            "label": self.label,
            "category": self.category,
            "distance": self.distance,
            "transform": self.transform,
        }


@dataclass(frozen=True)
class ListInfo:
    name: str
    source: str
    sharing: str
    description: str
    version: str | None
    created_at: str
    imported_at: str | None
    counts: dict[str, int]
    generation: int
    imports: list[dict[str, Any]] = field(default_factory=list)
    verified: bool = True
    benign: bool = False
    removed: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "source": self.source,
            "sharing": self.sharing,
            "description": self.description,
            "verified": self.verified,
            "benign": self.benign,
            "removed": self.removed,
            "version": self.version,
            "created_at": self.created_at,
            "imported_at": self.imported_at,
            "counts": dict(self.counts),
            "total": self.total,
            "generation": self.generation,
            "imports": list(self.imports),
        }


@dataclass
class ImportSummary:
    name: str
    read: int = 0  # valid entries in the input (after de-duplication within it)
    added: int = 0
    already_present: int = 0
    skipped: int = 0  # rows deliberately not imported (see formats.parse_tx_csv)
    errors: list[ParseError] = field(default_factory=list)  # the first ones
    invalid: int = 0
    added_by_type: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "list": self.name,
            "read": self.read,
            "added": self.added,
            "already_present": self.already_present,
            "skipped": self.skipped,
            "invalid": self.invalid,
            "added_by_type": dict(self.added_by_type),
            "errors": [error.to_json() for error in self.errors],
        }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _atomic_save_npy(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as handle:
        np.save(handle, array, allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _digest_bytes(hash_type: str) -> int:
    return HEX_DIGITS[hash_type] // 2


def _create_index(hash_type: str, directory: Path | None) -> Any:
    if hash_type == "pdq":
        from opschub.matching.index import HammingIndex

        return HammingIndex.create(directory)
    from opschub.matching.exact import ExactIndex

    return ExactIndex.create(directory, digest_size=_digest_bytes(hash_type))


def _open_index(hash_type: str, directory: Path) -> Any:
    if hash_type == "pdq":
        from opschub.matching.index import HammingIndex

        return HammingIndex.open(directory)
    from opschub.matching.exact import ExactIndex

    return ExactIndex.open(directory)


@dataclass
class _Segment:
    seq: int
    codes: np.ndarray  # uint8 (n, bytes), memory-mapped
    label_ids: np.ndarray  # int32 (n,)
    labels: list[tuple[str | None, str | None]]


@dataclass
class _TypeState:
    """One hash type of a loaded list: its index and the segments holding its rows."""

    hash_type: str
    index: Any = None
    bound: bool = False  # index opened from (and saved to) the list's index directory
    indexed: int = 0  # rows present in the in-memory index (ids 0..indexed-1)
    rows: int = 0  # rows committed in meta.json
    segments: list[_Segment] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)  # first row of each segment

    def row(self, row: int) -> tuple[str, str | None, str | None]:
        at = int(np.searchsorted(np.asarray(self.starts), row, side="right")) - 1
        segment = self.segments[at]
        local = row - self.starts[at]
        label, category = segment.labels[int(segment.label_ids[local])]
        return bytes(segment.codes[local]).hex(), label, category

    def codes_from(self, start: int) -> np.ndarray:
        """Digests of rows ``start..rows-1`` (for replaying into the index)."""
        parts = []
        for first, segment in zip(self.starts, self.segments, strict=True):
            end = first + len(segment.codes)
            if end <= start:
                continue
            parts.append(np.asarray(segment.codes[max(0, start - first) :]))
        if not parts:
            return np.empty((0, _digest_bytes(self.hash_type)), dtype=np.uint8)
        return np.ascontiguousarray(np.concatenate(parts))


@dataclass
class _Loaded:
    name: str
    list_id: str
    stat_key: tuple[int, int, int]
    meta: dict[str, Any]
    types: dict[str, _TypeState]
    seen_segments: set[int]


@dataclass
class _Batch:
    """Entries to add, by hash type: unique digests (first occurrence kept) and label ids."""

    codes: dict[str, np.ndarray]
    label_ids: dict[str, np.ndarray]
    labels: list[tuple[str | None, str | None]]

    @property
    def size(self) -> int:
        return sum(len(codes) for codes in self.codes.values())

    @classmethod
    def of(cls, entries: Iterable[Entry]) -> _Batch:
        pairs: dict[tuple[str | None, str | None], int] = {}
        hexes: dict[str, list[str]] = {t: [] for t in HASH_TYPES}
        label_ids: dict[str, list[int]] = {t: [] for t in HASH_TYPES}
        for entry in entries:
            hexes[entry.hash_type].append(entry.hash)
            label_ids[entry.hash_type].append(
                pairs.setdefault((entry.label, entry.category), len(pairs))
            )
        batch = cls({}, {}, list(pairs))
        for hash_type in HASH_TYPES:
            codes = _codes(hexes[hash_type], hash_type)
            ids = np.asarray(label_ids[hash_type], dtype=np.int32)
            if len(codes) > 1:
                rows = codes.view(f"V{codes.shape[1]}").ravel()
                _, first = np.unique(rows, return_index=True)
                first.sort()
                codes, ids = codes[first], ids[first]
            batch.codes[hash_type] = codes
            batch.label_ids[hash_type] = ids
        return batch


class HashListStore:
    """Named hash lists under ``root``; safe for several processes (see module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.lists_dir = self.root / "lists"
        self._loaded: dict[str, _Loaded] = {}
        self._mutex = threading.RLock()

    # -- locking and paths ---------------------------------------------------------------

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        self.lists_dir.mkdir(parents=True, exist_ok=True)
        with self._mutex, open(self.root / ".lock", "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    @staticmethod
    def check_name(name: str) -> str:
        if not NAME_RE.fullmatch(name):
            raise StoreError(
                f"invalid list name {name!r}: use letters, digits, '.', '_' or '-' "
                "(at most 100 characters, starting with a letter or digit)"
            )
        return name

    def _dir(self, name: str) -> Path:
        return self.lists_dir / self.check_name(name)

    def _read_meta(self, name: str) -> tuple[dict[str, Any], tuple[int, int, int]] | None:
        path = self._dir(name) / META
        try:
            with open(path, encoding="utf-8") as handle:
                # meta.json is only ever replaced by rename: this inode is what we read.
                stat = os.fstat(handle.fileno())
                meta = json.load(handle)
        except FileNotFoundError:
            return None
        except json.JSONDecodeError as exc:
            raise StoreError(f"{path}: damaged list metadata: {exc}") from exc
        return meta, (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    # -- metadata ------------------------------------------------------------------------

    def exists(self, name: str) -> bool:
        return (self._dir(name) / META).is_file()

    def names(self) -> list[str]:
        """Names of the lists, sorted (cheaper than :meth:`lists`)."""
        if not self.lists_dir.is_dir():
            return []
        return sorted(
            child.name
            for child in self.lists_dir.iterdir()
            if NAME_RE.fullmatch(child.name) and (child / META).is_file()
        )

    def lists(self) -> list[ListInfo]:
        out = []
        for name in self.names():
            with contextlib.suppress(UnknownList):
                out.append(self.info(name))
        return out

    def info(self, name: str) -> ListInfo:
        found = self._read_meta(name)
        if found is None:
            raise UnknownList(f"no hash list named {name!r}")
        return self._info_from(found[0])

    @staticmethod
    def _info_from(meta: dict[str, Any]) -> ListInfo:
        removed = {t: len(v) for t, v in meta.get("removed", {}).items()}
        return ListInfo(
            name=meta["name"],
            source=meta.get("source", ""),
            sharing=meta.get("sharing", ""),
            description=meta.get("description", ""),
            version=meta.get("version"),
            created_at=meta["created_at"],
            imported_at=meta.get("imported_at"),
            counts={
                t: int(n) - removed.get(t, 0)
                for t, n in meta.get("rows", {}).items()
                if int(n) - removed.get(t, 0)
            },
            generation=int(meta.get("generation", 0)),
            imports=list(meta.get("imports", [])),
            verified=bool(meta.get("verified", True)),
            benign=bool(meta.get("benign", False)),
            removed=sum(removed.values()),
        )

    def create_list(
        self,
        name: str,
        *,
        source: str = "",
        sharing: str = "",
        description: str = "",
        verified: bool = True,
        benign: bool = False,
    ) -> ListInfo:
        """Create an empty list; StoreError if it exists."""
        with self._write_lock():
            directory = self._dir(name)
            if (directory / META).exists():
                raise StoreError(f"a hash list named {name!r} already exists")
            self._create_unlocked(
                name,
                {"source": source, "sharing": sharing, "description": description},
                verified=verified,
                benign=benign,
            )
            return self.info(name)

    def update_list(
        self,
        name: str,
        *,
        source: str | None = None,
        sharing: str | None = None,
        description: str | None = None,
        version: str | None = None,
        verified: bool | None = None,
        benign: bool | None = None,
    ) -> ListInfo:
        """Change a list's metadata (only the fields given)."""
        with self._write_lock():
            found = self._read_meta(name)
            if found is None:
                raise UnknownList(f"no hash list named {name!r}")
            meta = found[0]
            for key, value in (
                ("source", source),
                ("sharing", sharing),
                ("description", description),
                ("version", version),
                ("verified", verified),
                ("benign", benign),
            ):
                if value is not None:
                    meta[key] = value
            meta["generation"] = int(meta["generation"]) + 1
            _atomic_write_text(self._dir(name) / META, json.dumps(meta, indent=1))
            return self._info_from(meta)

    def remove_list(self, name: str) -> None:
        with self._write_lock():
            directory = self._dir(name)
            if not (directory / META).exists():
                raise UnknownList(f"no hash list named {name!r}")
            trash = self.root / "trash"
            trash.mkdir(exist_ok=True)
            target = trash / f"{name}-{uuid.uuid4().hex}"
            os.replace(directory, target)  # one rename: readers see the list or nothing
            self._loaded.pop(name, None)
        shutil.rmtree(target, ignore_errors=True)

    # -- loading and catching up ---------------------------------------------------------

    def _load_segment(self, directory: Path, seq: int, hash_type: str) -> _Segment:
        stem = directory / f"seg-{seq:06d}"
        codes = np.load(f"{stem}.{hash_type}.npy", mmap_mode="r", allow_pickle=False)
        label_ids = np.load(f"{stem}.{hash_type}.lab.npy", mmap_mode="r", allow_pickle=False)
        with open(f"{stem}.labels.json", encoding="utf-8") as handle:
            labels = [(pair[0], pair[1]) for pair in json.load(handle)]
        return _Segment(seq, codes, label_ids, labels)

    def _refresh(self, name: str) -> _Loaded:
        """The list as loaded in this process, caught up with the newest meta.json."""
        loaded = self._loaded.get(name)
        if loaded is not None:
            # meta.json is replaced by rename, so an unchanged stat means an unchanged list.
            try:
                stat = os.stat(self._dir(name) / META)
            except FileNotFoundError:
                stat = None
            if stat is not None and loaded.stat_key == (
                stat.st_ino,
                stat.st_mtime_ns,
                stat.st_size,
            ):
                return loaded
        found = self._read_meta(name)
        if found is None:
            self._loaded.pop(name, None)
            raise UnknownList(f"no hash list named {name!r}")
        meta, stat_key = found
        loaded = self._loaded.get(name)
        if loaded is not None and loaded.stat_key == stat_key:
            return loaded
        current = {int(segment["seq"]) for segment in meta["segments"]}
        if (
            loaded is None
            or loaded.list_id != meta["list_id"]
            or not loaded.seen_segments <= current  # segments were merged
        ):
            loaded = self._load(name, meta, stat_key)
        else:
            self._catch_up(loaded, meta)
            loaded.stat_key, loaded.meta = stat_key, meta
        self._loaded[name] = loaded
        return loaded

    def _load(self, name: str, meta: dict[str, Any], stat_key: tuple[int, int, int]) -> _Loaded:
        """Load a list from disk. A writer saving the index at the same moment may delete
        files named by the manifest just read: then read meta.json again and retry."""
        for attempt in range(5):
            loaded = _Loaded(name, meta["list_id"], stat_key, meta, {}, set())
            for hash_type in HASH_TYPES:
                loaded.types[hash_type] = _TypeState(hash_type)
            try:
                self._open_indexes(loaded, meta)
                self._catch_up(loaded, meta)
                return loaded
            except (FileNotFoundError, ValueError):
                if attempt == 4:
                    raise
                time.sleep(0.05 * (attempt + 1))
                found = self._read_meta(name)
                if found is None:
                    raise UnknownList(f"no hash list named {name!r}") from None
                meta, stat_key = found
        raise AssertionError("unreachable")

    def _open_indexes(self, loaded: _Loaded, meta: dict[str, Any]) -> None:
        for hash_type, state in loaded.types.items():
            self._load_index(loaded.name, state, int(meta["index_rows"].get(hash_type, 0)))

    def _load_index(self, name: str, state: _TypeState, saved_rows: int) -> None:
        """Open the saved index (memory-mapped) holding the first ``saved_rows`` rows, or an
        empty in-memory one when nothing was saved yet."""
        if not saved_rows:
            state.index, state.bound, state.indexed = _create_index(state.hash_type, None), False, 0
            return
        index = _open_index(state.hash_type, self._dir(name) / f"index-{state.hash_type}")
        extra = len(index) - saved_rows
        if extra > 0:
            # Saved by a writer whose meta.json is not (yet) committed: ignore its rows.
            index.remove(np.arange(saved_rows, saved_rows + extra, dtype=np.int64))
        state.index, state.bound, state.indexed = index, True, saved_rows

    def _catch_up(self, loaded: _Loaded, meta: dict[str, Any]) -> None:
        directory = self._dir(loaded.name)
        for segment in meta["segments"]:
            seq = int(segment["seq"])
            if seq in loaded.seen_segments:
                continue
            for hash_type, count in segment["counts"].items():
                if count:
                    state = loaded.types[hash_type]
                    state.starts.append(state.rows)
                    state.segments.append(self._load_segment(directory, seq, hash_type))
                    state.rows += int(count)
            loaded.seen_segments.add(seq)
        for hash_type, state in loaded.types.items():
            if int(meta["rows"].get(hash_type, 0)) != state.rows:
                raise StoreError(f"list {loaded.name!r}: {hash_type} segments do not add up")
            if state.indexed < state.rows:
                codes = state.codes_from(state.indexed)
                ids = np.arange(state.indexed, state.rows, dtype=np.int64)
                state.index.add(ids, codes)
                state.indexed = state.rows

    # -- writing -------------------------------------------------------------------------

    def import_file(
        self,
        name: str,
        path: str | Path,
        *,
        format: str | None = None,
        label: str | None = None,
        skip_invalid: bool = False,
        version: str | None = None,
        hash_type: str = "pdq",
        source: str | None = None,
        sharing: str | None = None,
        description: str | None = None,
    ) -> ImportSummary:
        """Import a list file; the list is created when missing.

        Raises ListFormatError (nothing imported) when the file has invalid lines, unless
        ``skip_invalid``; then the valid entries are imported and the summary lists the rest.
        """
        self.check_name(name)
        parsed = parse_file(path, format, hash_type=hash_type, label=label)
        if parsed.invalid and not skip_invalid:
            raise ListFormatError(parsed.errors, parsed.invalid)
        record = {
            "file": Path(path).name,
            "format": parsed.format,
            "version": version,
            "imported_at": _now(),
        }
        summary = self._add(
            name,
            parsed.entries,
            create=True,
            record=record,
            metadata={
                "source": source,
                "sharing": sharing,
                "description": description,
                "version": version,
            },
            save_index=True,
        )
        summary.errors = parsed.errors
        summary.invalid = parsed.invalid
        summary.skipped = parsed.skipped
        return summary

    def add_entries(self, name: str, entries: Iterable[Entry]) -> ImportSummary:
        """Add entries to an existing list; entries already there are left as they are."""
        return self._add(name, list(entries), create=False, record=None, metadata={})

    def _add(
        self,
        name: str,
        entries: list[Entry],
        *,
        create: bool,
        record: dict[str, Any] | None,
        metadata: dict[str, str | None],
        save_index: bool = False,
    ) -> ImportSummary:
        summary = ImportSummary(name=name)
        batch = _Batch.of(entries)
        summary.read = batch.size
        with self._write_lock():
            if not self.exists(name):
                if not create:
                    raise UnknownList(f"no hash list named {name!r}")
                self._create_unlocked(name, metadata)
            loaded = self._refresh(name)
            try:
                return self._add_locked(name, loaded, batch, summary, record, metadata, save_index)
            except BaseException:
                self._loaded.pop(name, None)  # in-memory state may be ahead of the disk
                raise

    def _add_locked(
        self,
        name: str,
        loaded: _Loaded,
        batch: _Batch,
        summary: ImportSummary,
        record: dict[str, Any] | None,
        metadata: dict[str, str | None],
        save_index: bool,
    ) -> ImportSummary:
        meta = json.loads(json.dumps(loaded.meta))  # private copy to edit
        self._drop_present(loaded, batch)
        summary.added = batch.size
        summary.already_present = summary.read - summary.added
        summary.added_by_type = {t: len(c) for t, c in batch.codes.items() if len(c)}
        changed_meta = any(v is not None for v in metadata.values())
        if not summary.added and not changed_meta and record is None:
            return summary
        if summary.added:
            seq = max((int(s["seq"]) for s in meta["segments"]), default=0) + 1
            counts = self._write_segment(self._dir(name), seq, batch)
            meta["segments"].append({"seq": seq, "counts": counts, "added_at": _now()})
            meta["unsaved_segments"] = int(meta.get("unsaved_segments", 0)) + 1
            for hash_type, count in counts.items():
                meta["rows"][hash_type] = int(meta["rows"].get(hash_type, 0)) + count
        for key, value in metadata.items():
            if value is not None:
                meta[key] = value
        if record is not None:
            record["added"] = summary.added
            meta["imported_at"] = record["imported_at"]
            meta["imports"] = [*meta.get("imports", []), record][-50:]
        meta["generation"] = int(meta["generation"]) + 1
        unsaved = sum(int(meta["rows"][t]) - int(meta["index_rows"].get(t, 0)) for t in HASH_TYPES)
        persist = unsaved > 0 and (
            save_index
            or unsaved >= SAVE_INDEX_AFTER_ROWS
            or int(meta.get("unsaved_segments", 0)) >= SAVE_INDEX_AFTER_SEGMENTS
        )
        stale = [t for t in HASH_TYPES if int(meta["rows"][t]) != int(meta["index_rows"].get(t, 0))]
        if persist:
            for hash_type in stale:
                state = loaded.types[hash_type]
                saved = int(meta["index_rows"].get(hash_type, 0))
                if saved:
                    # Save on top of the files on disk now: another process may have saved
                    # (and deleted files this process's copy still names) since we opened.
                    self._load_index(name, state, saved)
                else:
                    self._bind_index(name, state)
        # Bring this process's index up to date, then persist it before committing.
        self._catch_up(loaded, meta)
        if persist:
            for hash_type in stale:
                loaded.types[hash_type].index.save()
                meta["index_rows"][hash_type] = loaded.types[hash_type].rows
            meta["unsaved_segments"] = 0
        merged = self._compact(name, loaded, meta)
        _atomic_write_text(self._dir(name) / META, json.dumps(meta, indent=1))
        if merged:
            self._loaded.pop(name, None)  # reload with the merged segment on next use
            for seq in merged:
                for path in self._dir(name).glob(f"seg-{seq:06d}.*"):
                    path.unlink(missing_ok=True)
            return summary
        found = self._read_meta(name)
        assert found is not None
        loaded.meta, loaded.stat_key = found
        return summary

    def _compact(self, name: str, loaded: _Loaded, meta: dict[str, Any]) -> list[int]:
        """Merge the trailing run of small segments into one new segment (rows keep their
        order, so their ids stay); returns the merged sequence numbers."""
        segments = meta["segments"]
        if len(segments) <= COMPACT_AFTER_SEGMENTS:
            return []
        run = 0
        while (
            run < len(segments) and sum(segments[-run - 1]["counts"].values()) < SMALL_SEGMENT_ROWS
        ):
            run += 1
        if run < 2:
            return []
        tail = segments[-run:]
        seqs = {int(s["seq"]) for s in tail}
        pairs: dict[tuple[str | None, str | None], int] = {}
        batch = _Batch({}, {}, [])
        for hash_type, state in loaded.types.items():
            codes, label_ids = [], []
            for segment in state.segments:
                if segment.seq in seqs:
                    codes.append(np.asarray(segment.codes))
                    remap = np.array(
                        [pairs.setdefault(pair, len(pairs)) for pair in segment.labels],
                        dtype=np.int32,
                    )
                    label_ids.append(remap[np.asarray(segment.label_ids)])
            if codes:
                batch.codes[hash_type] = np.concatenate(codes)
                batch.label_ids[hash_type] = np.concatenate(label_ids)
        batch.labels = list(pairs)
        seq = int(segments[-1]["seq"]) + 1
        counts = self._write_segment(self._dir(name), seq, batch)
        meta["segments"] = [*segments[:-run], {"seq": seq, "counts": counts, "added_at": _now()}]
        return sorted(seqs)

    def _bind_index(self, name: str, state: _TypeState) -> None:
        """Make the index one saved in the list's directory (a list whose index was never
        saved has an in-memory one); a stale directory from a crashed writer is not
        referenced by meta.json, so it can go."""
        if state.bound:
            return
        directory = self._dir(name) / f"index-{state.hash_type}"
        shutil.rmtree(directory, ignore_errors=True)
        index = _create_index(state.hash_type, directory)
        if state.indexed:
            index.add(
                np.arange(state.indexed, dtype=np.int64), state.codes_from(0)[: state.indexed]
            )
        state.index, state.bound = index, True

    def _create_unlocked(
        self,
        name: str,
        metadata: dict[str, str | None],
        *,
        verified: bool = True,
        benign: bool = False,
    ) -> None:
        directory = self._dir(name)
        directory.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": META_FORMAT,
            "list_id": uuid.uuid4().hex,
            "name": name,
            "source": metadata.get("source") or "",
            "sharing": metadata.get("sharing") or "",
            "description": metadata.get("description") or "",
            "verified": verified,
            "benign": benign,
            "version": None,
            "created_at": _now(),
            "imported_at": None,
            "generation": 1,
            "rows": {t: 0 for t in HASH_TYPES},
            "index_rows": {t: 0 for t in HASH_TYPES},
            "segments": [],
            "imports": [],
        }
        _atomic_write_text(directory / META, json.dumps(meta, indent=1))

    def _drop_present(self, loaded: _Loaded, batch: _Batch) -> None:
        """Remove from ``batch`` the hashes the list already holds."""
        for hash_type, codes in batch.codes.items():
            state = loaded.types[hash_type]
            if not state.rows or not len(codes):
                continue
            hits = self._search(state, codes, 0)
            present = np.zeros(len(codes), dtype=bool)
            present[hits.query_index[hits.ids < state.rows]] = True
            batch.codes[hash_type] = codes[~present]
            batch.label_ids[hash_type] = batch.label_ids[hash_type][~present]

    def _write_segment(self, directory: Path, seq: int, batch: _Batch) -> dict[str, int]:
        stem = directory / f"seg-{seq:06d}"
        counts: dict[str, int] = {}
        for hash_type, codes in batch.codes.items():
            if not len(codes):
                continue
            _atomic_save_npy(Path(f"{stem}.{hash_type}.npy"), codes)
            _atomic_save_npy(Path(f"{stem}.{hash_type}.lab.npy"), batch.label_ids[hash_type])
            counts[hash_type] = len(codes)
        _atomic_write_text(
            Path(f"{stem}.labels.json"), json.dumps([list(pair) for pair in batch.labels])
        )
        return counts

    # -- reading -------------------------------------------------------------------------

    def entries(self, name: str) -> Iterator[Entry]:
        """All entries of a list in the order they were added."""
        with self._mutex:
            loaded = self._refresh(name)
            types = {t: (s.segments[:], s.starts[:]) for t, s in loaded.types.items()}
            removed = _removed(loaded.meta)
        for hash_type in HASH_TYPES:
            segments, _ = types[hash_type]
            gone = removed.get(hash_type, frozenset())
            for segment in segments:
                hexes = np.asarray(segment.codes)
                for code, label_id in zip(hexes, np.asarray(segment.label_ids), strict=True):
                    hex_ = code.tobytes().hex()
                    if hex_ in gone:
                        continue
                    label, category = segment.labels[int(label_id)]
                    yield Entry(hash_type, hex_, label, category)

    def export(self, name: str, out: TextIO, *, format: str = "jsonl") -> int:
        """Write a list in ``format``; returns the number of entries written. Entries of an
        unverified list carry that marking (see :func:`formats.write_entries`)."""
        verified = self.info(name).verified
        return write_entries(exportable(self.entries(name), format), out, format, verified=verified)

    def remove_entries(self, name: str, entries: Iterable[Entry]) -> list[Entry]:
        """Remove entries (by hash type and hash) from a list; returns those that were in it.

        Removed hashes stop matching at once (in every process: the generation changes), are
        left out of :meth:`entries` and exports, and adding them again has no effect.
        """
        wanted: set[tuple[str, str]] = {(e.hash_type, e.hash.lower()) for e in entries}
        with self._write_lock():
            loaded = self._refresh(name)
            present = self._present(loaded, wanted)
            if not present:
                return []
            meta = json.loads(json.dumps(loaded.meta))
            removed = meta.setdefault("removed", {})
            for entry in present:
                hashes = removed.setdefault(entry.hash_type, [])
                hashes.append(entry.hash)
            for hash_type, hashes in removed.items():
                removed[hash_type] = sorted(set(hashes))
            meta["generation"] = int(meta["generation"]) + 1
            _atomic_write_text(self._dir(name) / META, json.dumps(meta, indent=1))
            self._loaded.pop(name, None)
            return present

    def _present(self, loaded: _Loaded, wanted: set[tuple[str, str]]) -> list[Entry]:
        """Entries of ``wanted`` that the list holds and has not removed, with their labels."""
        gone = _removed(loaded.meta)
        out: list[Entry] = []
        for hash_type in HASH_TYPES:
            hexes = sorted(h for t, h in wanted if t == hash_type)
            state = loaded.types[hash_type]
            if not hexes or not state.rows:
                continue
            hits = self._search(state, _codes(hexes, hash_type), 0)
            for q, row in zip(hits.query_index.tolist(), hits.ids.tolist(), strict=True):
                if row >= state.rows or hexes[q] in gone.get(hash_type, frozenset()):
                    continue
                hex_, label, category = state.row(row)
                out.append(Entry(hash_type, hex_, label, category))
        return out

    def present_entries(self, name: str, entries: Iterable[Entry]) -> list[Entry]:
        """Those of ``entries`` that the list holds (and has not removed)."""
        wanted: set[tuple[str, str]] = {(e.hash_type, e.hash.lower()) for e in entries}
        with self._mutex:
            return self._present(self._refresh(name), wanted)

    def match(
        self,
        queries: Sequence[Entry | PdqQuery],
        *,
        lists: Sequence[str] | None = None,
        threshold: int = DEFAULT_THRESHOLD,
    ) -> list[list[Match]]:
        """For each query, the list entries it matches (PDQ within ``threshold``, exact
        hashes equal). PDQ queries of quality < 50 match nothing."""
        if not 0 <= threshold <= MAX_THRESHOLD:
            raise ValueError(f"threshold must be between 0 and {MAX_THRESHOLD}, got {threshold}")
        names = list(dict.fromkeys(lists)) if lists is not None else self.names()
        results: list[list[Match]] = [[] for _ in queries]
        grouped: dict[str, list[tuple[int, str, str | None]]] = {t: [] for t in HASH_TYPES}
        for position, query in enumerate(queries):
            if isinstance(query, Entry):
                if query.hash_type not in grouped:
                    raise ValueError(f"query {position}: unknown hash type {query.hash_type!r}")
                grouped[query.hash_type].append((position, query.hash, None))
            else:
                if query.quality < MIN_QUALITY:
                    continue
                grouped["pdq"].append((position, query.pdq.lower(), query.transform))
        with self._mutex:
            for name in names:
                try:
                    loaded = self._refresh(name)
                except UnknownList:
                    if lists is not None:
                        raise
                    continue  # removed since it was listed
                verified = bool(loaded.meta.get("verified", True))
                benign = bool(loaded.meta.get("benign", False))
                removed = _removed(loaded.meta)
                for hash_type, group in grouped.items():
                    state = loaded.types[hash_type]
                    if not group or not state.rows:
                        continue
                    gone = removed.get(hash_type, frozenset())
                    codes = _codes([h for _, h, _ in group], hash_type)
                    limit = threshold if hash_type == "pdq" else 0
                    hits = self._search(state, codes, limit)
                    for q, row, distance in zip(
                        hits.query_index.tolist(),
                        hits.ids.tolist(),
                        hits.distances.tolist(),
                        strict=True,
                    ):
                        if row >= state.rows:
                            continue
                        position, _, transform = group[q]
                        hex_, label, category = state.row(row)
                        if hex_ in gone:
                            continue
                        results[position].append(
                            Match(
                                name,
                                hash_type,
                                hex_,
                                label,
                                int(distance),
                                transform,
                                category,
                                verified,
                                benign,
                            )
                        )
        for found in results:
            found.sort(key=lambda m: (m.distance, m.list, m.hash_type, m.hash))
        return results

    @staticmethod
    def _search(state: _TypeState, codes: np.ndarray, threshold: int) -> Any:
        if state.hash_type == "pdq":
            return state.index.search(codes, threshold=threshold)
        return state.index.lookup(codes)


def _removed(meta: dict[str, Any]) -> dict[str, frozenset[str]]:
    """The removed hashes of a list, by hash type."""
    return {t: frozenset(hashes) for t, hashes in meta.get("removed", {}).items()}


def _codes(hexes: Sequence[str], hash_type: str) -> np.ndarray:
    """Validated hex digests as a uint8 array (n, bytes)."""
    size = _digest_bytes(hash_type)
    try:
        data = bytes.fromhex("".join(hexes))
    except ValueError as exc:
        raise ValueError(f"malformed {hash_type} hash in batch: {exc}") from None
    if len(data) != size * len(hexes):
        raise ValueError(f"{hash_type} hashes must have {2 * size} hex digits")
    return np.frombuffer(data, dtype=np.uint8).reshape(len(hexes), size).copy()
