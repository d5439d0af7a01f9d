"""ExactIndex: look-up of fixed-length digests (SHA-256, SHA-1, MD5) among list entries.

A sorted run (the first 8 digest bytes as a big-endian ``uint64`` key, searched with
``np.searchsorted``, ties settled on the full digest) plus an in-memory delta (a dict) for
recent additions, which is merged into the run when it grows large. Removals are tombstones.
Persistence and atomicity as for the Hamming index (immutable arrays, atomic manifest).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from .codes import SearchResult, as_code_array, as_id_array
from .index.storage import new_name, read_array, read_manifest, write_array, write_manifest

KIND = "opschub-exact-index"
VERSION = 1
DIGEST_SIZES = {16: "md5", 20: "sha1", 32: "sha256"}
DELTA_LIMIT = 65536


def _keys(digests: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(digests[:, :8]).view(np.dtype(">u8")).reshape(-1).astype(np.uint64)


class ExactIndex:
    """Entries (id, digest) of one digest size; every entry whose digest equals a query's."""

    def __init__(self, directory: Path | None, digest_size: int | None) -> None:
        self.directory = directory
        self.digest_size = digest_size
        self._lock = threading.RLock()
        self._keys = np.empty(0, dtype=np.uint64)
        self._digests = np.empty((0, digest_size or 0), dtype=np.uint8)
        self._ids = np.empty(0, dtype=np.int64)
        self._dead = np.zeros(0, dtype=np.uint8)
        self._dead_count = 0
        self._delta: dict[bytes, list[int]] = {}
        self._delta_count = 0
        self._main_files: dict[str, Any] | None = None
        self._dead_file: str | None = None
        self._dead_saved = True
        self._delta_files: dict[str, Any] | None = None

    @classmethod
    def create(
        cls,
        directory: Path | None = None,
        *,
        expected_size: int = 0,
        digest_size: int | None = None,
    ) -> ExactIndex:
        """A new empty index; ``digest_size`` (16, 20 or 32) is fixed now or by the first add."""
        if expected_size < 0:
            raise ValueError(f"expected_size must be >= 0, got {expected_size}")
        if digest_size is not None and digest_size not in DIGEST_SIZES:
            raise ValueError(f"digest_size must be one of 16, 20, 32, got {digest_size}")
        if directory is not None:
            directory = Path(directory)
            directory.mkdir(parents=True, exist_ok=True)
            if (directory / "manifest.json").exists():
                raise ValueError(f"{directory} already holds an index; open it instead")
        index = cls(directory, digest_size)
        if directory is not None:
            index.save()
        return index

    @classmethod
    def open(cls, directory: Path) -> ExactIndex:
        """The index saved in ``directory``, memory-mapped."""
        directory = Path(directory)
        manifest = read_manifest(directory, KIND, VERSION)
        index = cls(directory, manifest.get("digest_size"))
        main = manifest.get("main")
        if main:
            index._keys = read_array(directory, main["keys"])
            index._digests = read_array(directory, main["digests"])
            index._ids = read_array(directory, main["ids"])
            if not index._keys.shape[0] == index._digests.shape[0] == index._ids.shape[0]:
                raise ValueError(f"{directory}: index files do not match each other")
            index._main_files = main
        index._dead = np.zeros(index._ids.shape[0], dtype=np.uint8)
        if manifest.get("dead"):
            index._dead[read_array(directory, manifest["dead"], mmap=False)] = 1
            index._dead_count = int(index._dead.sum())
            index._dead_file = manifest["dead"]
        delta = manifest.get("delta")
        if delta:
            ids = read_array(directory, delta["ids"], mmap=False)
            digests = read_array(directory, delta["digests"], mmap=False)
            index._add_delta(ids, digests)
            index._delta_files = delta
        return index

    def _size(self, digests: object) -> np.ndarray:
        if self.digest_size is None:
            width = getattr(digests, "shape", (0, 0))
            size = width[-1] if len(width) == 2 else None
            if size not in DIGEST_SIZES:
                raise ValueError(f"digests must have shape (n, 16|20|32), got {width}")
            self.digest_size = int(size)
            self._digests = np.empty((0, self.digest_size), dtype=np.uint8)
        return as_code_array(digests, self.digest_size, "digests")

    # -- changes -----------------------------------------------------------------------------

    def add(self, ids: np.ndarray, digests: np.ndarray) -> None:
        """Add entries (``digests``: ``uint8 (n, digest_size)``); visible to the next lookup."""
        with self._lock:
            digests = self._size(digests)
            ids = as_id_array(ids, digests.shape[0])
            self._add_delta(ids, digests)
            if self._delta_count > max(DELTA_LIMIT, self._ids.shape[0] // 8):
                self._merge()

    def _add_delta(self, ids: np.ndarray, digests: np.ndarray) -> None:
        for entry_id, digest in zip(ids.tolist(), map(bytes, digests), strict=True):
            self._delta.setdefault(digest, []).append(entry_id)
        self._delta_count += ids.shape[0]
        self._delta_files = None

    def _delta_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        size = self.digest_size or 0
        ids = [i for entry_ids in self._delta.values() for i in entry_ids]
        blob = b"".join(d * len(entry_ids) for d, entry_ids in self._delta.items())
        digests = np.frombuffer(blob, dtype=np.uint8).reshape(-1, size)
        return np.asarray(ids, dtype=np.int64), digests

    def _merge(self) -> None:
        keep = self._dead == 0
        delta_ids, delta_digests = self._delta_arrays()
        ids = np.concatenate((self._ids[keep], delta_ids))
        digests = np.concatenate((self._digests[keep], delta_digests))
        keys = _keys(digests)
        order = np.argsort(keys, kind="stable")
        self._keys, self._digests, self._ids = keys[order], digests[order], ids[order]
        self._dead = np.zeros(ids.shape[0], dtype=np.uint8)
        self._dead_count = 0
        self._delta = {}
        self._delta_count = 0
        self._main_files = None
        self._dead_saved = False
        self._delta_files = None

    def remove(self, ids: np.ndarray) -> int:
        """Remove every entry with one of ``ids``; the number removed."""
        ids = np.unique(as_id_array(ids))
        with self._lock:
            removed = 0
            if self._ids.shape[0]:
                hit = np.isin(self._ids, ids) & (self._dead == 0)
                count = int(hit.sum())
                if count:
                    self._dead[hit] = 1
                    self._dead_count += count
                    self._dead_saved = False
                    removed += count
            if self._delta_count:
                wanted = set(ids.tolist())
                for digest in list(self._delta):
                    entry_ids = self._delta[digest]
                    kept = [i for i in entry_ids if i not in wanted]
                    if len(kept) != len(entry_ids):
                        removed += len(entry_ids) - len(kept)
                        self._delta_count -= len(entry_ids) - len(kept)
                        self._delta_files = None
                        if kept:
                            self._delta[digest] = kept
                        else:
                            del self._delta[digest]
            return removed

    # -- queries -----------------------------------------------------------------------------

    def lookup(self, digests: np.ndarray) -> SearchResult:
        """Every live entry equal to each query digest (distance 0), ordered by query, id."""
        with self._lock:
            if self.digest_size is None:
                return SearchResult.empty()
            digests = as_code_array(digests, self.digest_size, "digests")
            query_keys = _keys(digests)
            lo = np.searchsorted(self._keys, query_keys, side="left")
            hi = np.searchsorted(self._keys, query_keys, side="right")
            counts = hi - lo
            q = np.repeat(np.arange(digests.shape[0], dtype=np.int64), counts)
            before = np.cumsum(counts) - counts
            rows = np.repeat(lo, counts) + (
                np.arange(int(counts.sum())) - np.repeat(before, counts)
            )
            same = np.all(self._digests[rows] == digests[q], axis=1) & (self._dead[rows] == 0)
            q, ids = q[same], self._ids[rows[same]]
            if self._delta:
                extra_q, extra_ids = [], []
                for qi, digest in enumerate(map(bytes, digests)):
                    for entry_id in self._delta.get(digest, ()):
                        extra_q.append(qi)
                        extra_ids.append(entry_id)
                q = np.concatenate((q, np.asarray(extra_q, dtype=np.int64)))
                ids = np.concatenate((ids, np.asarray(extra_ids, dtype=np.int64)))
        order = np.lexsort((ids, q))
        return SearchResult(
            q[order].astype(np.int64), ids[order].astype(np.int64), np.zeros(q.shape[0], np.int32)
        )

    def __len__(self) -> int:
        with self._lock:
            return int(self._ids.shape[0]) - self._dead_count + self._delta_count

    # -- persistence -------------------------------------------------------------------------

    def save(self) -> None:
        """Persist to the index directory: new arrays first, then the manifest atomically."""
        if self.directory is None:
            raise ValueError("this index has no directory; create it with one to save it")
        directory = self.directory
        with self._lock:
            if self._main_files is None and self._ids.shape[0]:
                stem = new_name("main")
                self._main_files = {
                    "keys": write_array(directory, f"{stem}-keys", self._keys),
                    "digests": write_array(directory, f"{stem}-digests", self._digests),
                    "ids": write_array(directory, f"{stem}-ids", self._ids),
                }
            if not self._dead_saved:
                rows = np.flatnonzero(self._dead).astype(np.int64)
                self._dead_file = (
                    write_array(directory, new_name("dead"), rows) if rows.size else None
                )
                self._dead_saved = True
            if self._delta_count and self._delta_files is None:
                stem = new_name("delta")
                ids, digests = self._delta_arrays()
                self._delta_files = {
                    "ids": write_array(directory, f"{stem}-ids", ids),
                    "digests": write_array(directory, f"{stem}-digests", digests),
                }
            manifest = {
                "kind": KIND,
                "version": VERSION,
                "digest_size": self.digest_size,
                "main": self._main_files if self._ids.shape[0] else None,
                "dead": self._dead_file,
                "delta": self._delta_files if self._delta_count else None,
            }
            write_manifest(directory, manifest)
