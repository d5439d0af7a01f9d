"""An immutable run of codes with its multi-index hashing tables (only the tombstones change).

Rows are ordered by entry id, so removing an id is a binary search. Each of the m substring
tables is a direct-address table: ``offsets`` (2**bits + 1 per table, one flat ``uint32``
array) and bucket-ordered 16-byte ``records`` (96 code bits and the row), so probing a bucket
streams its candidates from one place instead of visiting the codes at random.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from . import kernels
from .layout import Layout, choose_substrings, prefer_linear, probes_for
from .storage import new_name, read_array, write_array

MIN_TABLE_SIZE = 4096  # below this a segment is only scanned linearly

Hits = tuple[np.ndarray, np.ndarray, np.ndarray]  # query index, row, distance


def run_collecting(call: Callable[[np.ndarray, np.ndarray, np.ndarray], int], guess: int) -> Hits:
    """Run a kernel that fills output arrays, growing them until every hit fits."""
    cap = max(guess, 256)
    while True:
        out_q = np.empty(cap, dtype=np.int64)
        out_row = np.empty(cap, dtype=np.int64)
        out_d = np.empty(cap, dtype=np.int32)
        total = call(out_q, out_row, out_d)
        if total <= cap:
            return out_q[:total], out_row[:total], out_d[:total]
        cap = total


def linear_hits(queries: np.ndarray, codes: np.ndarray, dead: np.ndarray, threshold: int) -> Hits:
    return run_collecting(
        lambda oq, orow, od: kernels.linear_scan(queries, codes, dead, threshold, oq, orow, od, 0),
        4 * queries.shape[0],
    )


class Segment:
    """Codes ``(n, 4) uint64`` sorted by id, tombstones, and (for larger runs) MIH tables."""

    def __init__(
        self,
        ids: np.ndarray,
        codes: np.ndarray,
        *,
        layout: Layout | None,
        offsets: np.ndarray | None,
        records: np.ndarray | None,
        dead: np.ndarray | None = None,
        files: dict[str, Any] | None = None,
    ) -> None:
        self.ids = ids
        self.codes = codes
        self.layout = layout
        self.offsets = offsets
        self.records = records
        self.dead = dead if dead is not None else np.zeros(0, dtype=np.uint8)
        self.dead_count = int(np.count_nonzero(self.dead))
        self.files = files  # manifest entry once saved
        self.dead_saved = files is not None
        if layout is not None:
            sizes = (1 << layout.lengths) + 1
            self.table_base = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)

    def __len__(self) -> int:
        return int(self.ids.shape[0]) - self.dead_count

    @property
    def size(self) -> int:
        return int(self.ids.shape[0])

    @classmethod
    def build(cls, ids: np.ndarray, codes: np.ndarray, *, substrings: int | None = None) -> Segment:
        """A segment of ``codes`` (uint64 ``(n, 4)``); ids need not be sorted."""
        if ids.shape[0] >= 1 << 32:
            raise ValueError("a segment holds fewer than 2**32 codes")
        if ids.shape[0] > 1 and not bool(np.all(ids[1:] >= ids[:-1])):
            order = np.argsort(ids, kind="stable")
            ids = ids[order]
            codes = codes[order]
        else:  # own copies: the caller may reuse its arrays
            ids = ids.copy()
            codes = codes.copy()
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        codes = np.ascontiguousarray(codes, dtype=np.uint64)
        n = ids.shape[0]
        if n < MIN_TABLE_SIZE:
            return cls(ids, codes, layout=None, offsets=None, records=None)
        layout = Layout.split(choose_substrings(n, substrings))
        sizes = (1 << layout.lengths) + 1
        offsets = np.empty(int(sizes.sum()), dtype=np.uint32)
        records = np.empty((layout.m * n, 2), dtype=np.uint64)
        base = 0
        for j in range(layout.m):
            start, length = int(layout.starts[j]), int(layout.lengths[j])
            table = offsets[base : base + int(sizes[j])]
            kernels.table_offsets(codes, start, length, table)
            kernels.table_records(
                codes,
                start,
                length,
                int(layout.word_a[j]),
                int(layout.word_b[j]),
                table,
                records[j * n : (j + 1) * n],
            )
            base += int(sizes[j])
        return cls(ids, codes, layout=layout, offsets=offsets, records=records)

    def search(self, queries: np.ndarray, threshold: int) -> Hits:
        """(query index, row, distance) of live codes within ``threshold``."""
        if self.size == 0 or len(self) == 0:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty, np.empty(0, dtype=np.int32)
        layout = self.layout
        if layout is None or prefer_linear(layout, self.size, threshold):
            return linear_hits(queries, self.codes, self.dead, threshold)
        assert self.offsets is not None and self.records is not None
        radii = layout.radii(threshold)
        probe_table, probe_mask = probes_for(layout.key, threshold)
        offsets, records = self.offsets, self.records
        return run_collecting(
            lambda oq, orow, od: kernels.mih_search(
                queries,
                self.codes,
                self.dead,
                layout.starts,
                layout.lengths,
                radii,
                layout.word_a,
                layout.word_b,
                self.table_base,
                offsets,
                records,
                probe_table,
                probe_mask,
                threshold,
                oq,
                orow,
                od,
                0,
            ),
            4 * queries.shape[0],
        )

    def remove(self, ids: np.ndarray) -> int:
        """Tombstone every live row whose id is in ``ids``; the number of rows removed."""
        lo = np.searchsorted(self.ids, ids, side="left")
        hi = np.searchsorted(self.ids, ids, side="right")
        hit = hi > lo
        if not hit.any():
            return 0
        lo, hi = lo[hit], hi[hit]
        lengths = hi - lo
        before = np.cumsum(lengths) - lengths
        rows = np.repeat(lo, lengths) + (np.arange(int(lengths.sum())) - np.repeat(before, lengths))
        if self.dead.shape[0] == 0:
            self.dead = np.zeros(self.size, dtype=np.uint8)
        elif not self.dead.flags.writeable:
            self.dead = self.dead.copy()
        fresh = rows[self.dead[rows] == 0]
        fresh = np.unique(fresh)
        self.dead[fresh] = 1
        self.dead_count += int(fresh.shape[0])
        if fresh.shape[0]:
            self.dead_saved = False
        return int(fresh.shape[0])

    def live(self) -> tuple[np.ndarray, np.ndarray]:
        """Ids and codes of the rows that are not removed."""
        if self.dead_count == 0:
            return self.ids, self.codes
        keep = self.dead == 0
        return self.ids[keep], self.codes[keep]

    # -- persistence -------------------------------------------------------------------------

    def save(self, directory: Path) -> dict[str, Any]:
        """Write the arrays not yet on disk; the segment's manifest entry."""
        if self.files is None:
            stem = new_name("seg")
            files: dict[str, Any] = {
                "size": self.size,
                "ids": write_array(directory, f"{stem}-ids", self.ids),
                "codes": write_array(directory, f"{stem}-codes", self.codes),
            }
            if self.layout is not None:
                assert self.offsets is not None and self.records is not None
                files["substrings"] = self.layout.m
                files["lengths"] = list(self.layout.key)
                files["offsets"] = write_array(directory, f"{stem}-offsets", self.offsets)
                files["records"] = write_array(directory, f"{stem}-records", self.records)
            self.files = files
        if not self.dead_saved:
            rows = np.flatnonzero(self.dead).astype(np.int64)
            self.files = dict(self.files)
            self.files["dead"] = (
                write_array(directory, new_name("dead"), rows) if rows.size else None
            )
            self.dead_saved = True
        return self.files

    @classmethod
    def load(cls, directory: Path, files: dict[str, Any]) -> Segment:
        size = int(files["size"])
        ids = read_array(directory, files["ids"])
        codes = read_array(directory, files["codes"])
        if ids.shape != (size,) or codes.shape != (size, 4):
            raise ValueError(f"{directory}: segment files {files['ids']} do not match the manifest")
        layout = offsets = records = None
        if files.get("substrings"):
            lengths = files.get("lengths")
            if lengths:
                layout = Layout.from_lengths(tuple(int(b) for b in lengths))
            else:
                layout = Layout.split(int(files["substrings"]))
            offsets = read_array(directory, files["offsets"])
            records = read_array(directory, files["records"])
        dead = None
        if files.get("dead"):
            dead = np.zeros(size, dtype=np.uint8)
            dead[read_array(directory, files["dead"], mmap=False)] = 1
        return cls(
            ids, codes, layout=layout, offsets=offsets, records=records, dead=dead, files=files
        )
