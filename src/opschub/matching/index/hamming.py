"""HammingIndex: exact range search over 256-bit PDQ codes, with additions, removals, persistence.

The index is a log-structured set of immutable segments (each with its multi-index hashing
tables) plus a small in-memory delta that is scanned linearly. An addition goes to the delta
and is visible to the next search at once; a full delta becomes a segment, and segments of
similar size are merged, so the number of segments stays logarithmic and no addition ever
rebuilds the whole index. A removal marks tombstones; merges drop them.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..codes import PDQ_BYTES, SearchResult, as_code_array, as_id_array
from .segment import Hits, Segment, linear_hits
from .storage import new_name, read_array, read_manifest, write_array, write_manifest

KIND = "opschub-hamming-index"
VERSION = 1
MAX_THRESHOLD = 64
DELTA_LIMIT = 4096  # codes scanned linearly before they become a segment


def _as_words(codes: np.ndarray) -> np.ndarray:
    """``uint8 (n, 32)`` codes viewed as little-endian ``uint64 (n, 4)`` words."""
    words = np.ascontiguousarray(codes).view(np.dtype("<u8")).reshape(-1, 4)
    return words if words.flags.aligned else words.copy()  # kernels need aligned words


def _check_threshold(threshold: object) -> int:
    if isinstance(threshold, bool) or not isinstance(threshold, int | np.integer):
        raise ValueError(f"threshold must be an integer, got {threshold!r}")
    if not 0 <= int(threshold) <= MAX_THRESHOLD:
        raise ValueError(f"threshold must be between 0 and {MAX_THRESHOLD}, got {threshold}")
    return int(threshold)


class HammingIndex:
    """Every entry within Hamming distance ``threshold`` of a query, never an approximation.

    Thread-safe: every public method holds the index's lock. Several processes sharing one
    directory must coordinate saves themselves (the store holds a file lock).
    """

    def __init__(
        self,
        directory: Path | None,
        segments: list[Segment],
        *,
        substrings: int | None = None,
        delta: tuple[np.ndarray, np.ndarray] | None = None,
        delta_files: dict[str, Any] | None = None,
    ) -> None:
        self.directory = directory
        self._segments = segments
        self._substrings = substrings
        self._lock = threading.RLock()
        self._delta_ids = np.empty(DELTA_LIMIT, dtype=np.int64)
        self._delta_codes = np.empty((DELTA_LIMIT, 4), dtype=np.uint64)
        self._delta_n = 0
        self._delta_files = delta_files
        if delta is not None and delta[0].shape[0]:
            self._append_delta(delta[0], delta[1])
            self._delta_files = delta_files

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def create(
        cls, directory: Path | None = None, *, expected_size: int = 0, substrings: int | None = None
    ) -> HammingIndex:
        """A new empty index, kept in ``directory`` (created if needed) or only in memory.

        ``expected_size`` is a hint; ``substrings`` fixes the number of MIH substrings of every
        segment (default: chosen from each segment's size).
        """
        if expected_size < 0:
            raise ValueError(f"expected_size must be >= 0, got {expected_size}")
        if directory is not None:
            directory = Path(directory)
            directory.mkdir(parents=True, exist_ok=True)
            if (directory / "manifest.json").exists():
                raise ValueError(f"{directory} already holds an index; open it instead")
        index = cls(directory, [], substrings=substrings)
        if directory is not None:
            index.save()
        return index

    @classmethod
    def open(cls, directory: Path) -> HammingIndex:
        """The index saved in ``directory``, memory-mapped (its arrays are not read up front)."""
        directory = Path(directory)
        manifest = read_manifest(directory, KIND, VERSION)
        segments = [Segment.load(directory, files) for files in manifest["segments"]]
        delta = None
        delta_files = manifest.get("delta")
        if delta_files:
            ids = read_array(directory, delta_files["ids"], mmap=False)
            codes = read_array(directory, delta_files["codes"], mmap=False)
            delta = (ids, codes)
        return cls(
            directory,
            segments,
            substrings=manifest.get("substrings"),
            delta=delta,
            delta_files=delta_files,
        )

    # -- changes -----------------------------------------------------------------------------

    def add(self, ids: np.ndarray, codes: np.ndarray) -> None:
        """Add entries (``codes``: ``uint8 (n, 32)``); the next search sees them.

        Ids need not be unique; :meth:`remove` removes every entry with a given id.
        """
        codes = as_code_array(codes, PDQ_BYTES, "codes")
        ids = as_id_array(ids, codes.shape[0])
        if not ids.shape[0]:
            return
        words = _as_words(codes)
        with self._lock:
            if ids.shape[0] >= DELTA_LIMIT:
                self._segments.append(Segment.build(ids, words, substrings=self._substrings))
                self._merge_small()
            else:
                self._append_delta(ids, words)
                if self._delta_n >= DELTA_LIMIT:
                    self._seal_delta()

    def remove(self, ids: np.ndarray) -> int:
        """Remove every entry with one of ``ids``; the number of entries removed."""
        ids = np.unique(as_id_array(ids))
        with self._lock:
            removed = sum(segment.remove(ids) for segment in self._segments)
            if self._delta_n:
                gone = np.isin(self._delta_ids[: self._delta_n], ids)
                if gone.any():
                    keep = ~gone
                    kept_ids = self._delta_ids[: self._delta_n][keep].copy()
                    kept_codes = self._delta_codes[: self._delta_n][keep].copy()
                    removed += int(gone.sum())
                    self._delta_n = 0
                    self._append_delta(kept_ids, kept_codes)
            return removed

    def _append_delta(self, ids: np.ndarray, words: np.ndarray) -> None:
        n = ids.shape[0]
        need = self._delta_n + n
        if need > self._delta_ids.shape[0]:
            size = max(need, 2 * self._delta_ids.shape[0])
            self._delta_ids = np.resize(self._delta_ids, size)
            self._delta_codes = np.resize(self._delta_codes, (size, 4))
        self._delta_ids[self._delta_n : need] = ids
        self._delta_codes[self._delta_n : need] = words
        self._delta_n = need
        self._delta_files = None

    def _seal_delta(self) -> None:
        n = self._delta_n
        segment = Segment.build(
            self._delta_ids[:n].copy(), self._delta_codes[:n].copy(), substrings=self._substrings
        )
        self._delta_n = 0
        self._delta_files = None
        self._segments.append(segment)
        self._merge_small()

    def _merge_small(self) -> None:
        """Keep segments largest first, merging the smallest two while they are of similar size."""
        segments = sorted(self._segments, key=lambda s: -s.size)
        while len(segments) >= 2 and 2 * len(segments[-1]) >= len(segments[-2]):
            small, large = segments.pop(), segments.pop()
            ids_a, codes_a = large.live()
            ids_b, codes_b = small.live()
            merged = Segment.build(
                np.concatenate((ids_a, ids_b)),
                np.concatenate((codes_a, codes_b)),
                substrings=self._substrings,
            )
            segments.append(merged)
            segments.sort(key=lambda s: -s.size)
        self._segments = segments

    # -- queries -----------------------------------------------------------------------------

    def search(self, queries: np.ndarray, threshold: int = 31) -> SearchResult:
        """Every live entry within ``threshold`` bits of each query (``uint8 (q, 32)``).

        Rows are ordered by query, distance, id. ``threshold`` is 0..64.
        """
        queries = as_code_array(queries, PDQ_BYTES, "queries")
        threshold = _check_threshold(threshold)
        words = _as_words(queries)
        parts: list[tuple[Hits, np.ndarray]] = []
        with self._lock:
            if self._delta_n:
                none_dead = np.zeros(0, dtype=np.uint8)
                hits = linear_hits(words, self._delta_codes[: self._delta_n], none_dead, threshold)
                parts.append((hits, self._delta_ids[: self._delta_n].copy()))
            for segment in self._segments:
                parts.append((segment.search(words, threshold), segment.ids))
            query_index = [hits[0] for hits, _ in parts]
            ids = [row_ids[hits[1]] for hits, row_ids in parts]
            distances = [hits[2] for hits, _ in parts]
        if not parts:
            return SearchResult.empty()
        q = np.concatenate(query_index).astype(np.int64, copy=False)
        i = np.concatenate(ids).astype(np.int64, copy=False)
        d = np.concatenate(distances).astype(np.int32, copy=False)
        order = np.lexsort((i, d, q))
        return SearchResult(q[order], i[order], d[order])

    def __len__(self) -> int:
        with self._lock:
            return self._delta_n + sum(len(segment) for segment in self._segments)

    @property
    def segment_sizes(self) -> list[int]:
        """Sizes of the segments (for diagnostics), largest first; the delta is not included."""
        return [segment.size for segment in self._segments]

    # -- persistence -------------------------------------------------------------------------

    def save(self) -> None:
        """Persist to the index directory: new arrays first, then the manifest atomically."""
        if self.directory is None:
            raise ValueError("this index has no directory; create it with one to save it")
        with self._lock:
            directory = self.directory
            segments = [segment.save(directory) for segment in self._segments]
            if self._delta_n and self._delta_files is None:
                stem = new_name("delta")
                self._delta_files = {
                    "ids": write_array(directory, f"{stem}-ids", self._delta_ids[: self._delta_n]),
                    "codes": write_array(
                        directory, f"{stem}-codes", self._delta_codes[: self._delta_n]
                    ),
                }
            manifest = {
                "kind": KIND,
                "version": VERSION,
                "substrings": self._substrings,
                "segments": segments,
                "delta": self._delta_files if self._delta_n else None,
            }
            write_manifest(directory, manifest)
