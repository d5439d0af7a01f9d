"""How a segment splits the 256 bits into substrings, and how a query probes them.

Pigeonhole (Norouzi et al., multi-index hashing): split the code into m substrings and write
the threshold as ``t = m * r + a`` with ``0 <= a < m``. A code within ``t`` bits of the query
has, among the first ``a + 1`` substrings, one within ``r`` bits, or, among the others, one
within ``r - 1`` bits (otherwise the distance would be at least ``m * r + a + 1``). So the
first ``a + 1`` tables are probed at radius ``r`` and the rest at ``r - 1``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

CODE_BITS = 256
MAX_SUBSTRING_BITS = 26  # direct-address table of 2**26 + 1 offsets (256 MiB) at most
MIN_SUBSTRINGS = 10
DEFAULT_THRESHOLD = 31  # keeps substrings <= 26 bits, so two whole 64-bit words stay untouched


def substrings_for_size(n: int) -> int:
    """Number of substrings for a segment of ``n`` codes.

    Substrings of about log2(n) - 4 bits keep a few codes per bucket, so the direct-address
    tables stay small (mostly in cache) and a probe streams a short bucket: 16 at 1M,
    12 at 10M.
    """
    bits = max(8.0, math.log2(max(n, 2)) - 3.7)
    m = math.ceil(CODE_BITS / bits)
    return max(MIN_SUBSTRINGS, min(32, m))


def choose_substrings(n: int, requested: int | None) -> int:
    """``requested`` unless its tables would dwarf a segment of ``n`` codes (small segments)."""
    if requested is None:
        return substrings_for_size(n)
    bits = math.ceil(CODE_BITS / requested)
    if bits > max(16.0, math.log2(max(n, 2)) + 3):
        return max(requested, substrings_for_size(n))
    return requested


@dataclass(frozen=True)
class Layout:
    """Substring j covers bits ``starts[j] .. starts[j] + lengths[j] - 1`` of the code.

    Longer substrings come first: they are the ones probed at the larger radius (fewer codes
    per bucket). ``word_a`` and ``word_b`` name two 64-bit code words that substring j does not
    touch; their bits (all of a, the low 32 of b) are streamed with the table's records.
    """

    starts: np.ndarray  # int64 (m,)
    lengths: np.ndarray  # int64 (m,)
    word_a: np.ndarray  # int64 (m,)
    word_b: np.ndarray  # int64 (m,)

    @property
    def m(self) -> int:
        return int(self.starts.shape[0])

    @classmethod
    @lru_cache(maxsize=64)
    def split(cls, m: int) -> Layout:
        """The layout of m substrings, tuned for the default threshold.

        At threshold 31 the first ``31 % m + 1`` tables are probed at the larger radius; giving
        them one bit more than an even split (fewer codes per bucket) and the others less cuts
        the candidates more than it adds probes (about 10% faster at 10M with m = 14).
        """
        if not MIN_SUBSTRINGS <= m <= 32:
            raise ValueError(f"substrings must be between {MIN_SUBSTRINGS} and 32, got {m}")
        wide = DEFAULT_THRESHOLD % m + 1
        long_bits = min(MAX_SUBSTRING_BITS, -(-CODE_BITS // m) + 1)
        rest = (CODE_BITS - wide * long_bits) // max(m - wide, 1)
        if wide < m and rest >= CODE_BITS // m - 1:  # only a small shift of bits
            base, extra = divmod(CODE_BITS - wide * long_bits, m - wide)
            lengths = [long_bits] * wide + [base + 1] * extra + [base] * (m - wide - extra)
        else:
            base, extra = divmod(CODE_BITS, m)
            lengths = [base + 1] * extra + [base] * (m - extra)
        return cls.from_lengths(tuple(lengths))

    @classmethod
    @lru_cache(maxsize=64)
    def from_lengths(cls, lengths: tuple[int, ...]) -> Layout:
        """Consecutive substrings of the given lengths (as saved with a segment)."""
        if sum(lengths) > CODE_BITS or not all(1 <= b <= MAX_SUBSTRING_BITS for b in lengths):
            raise ValueError(f"invalid substring lengths {lengths}")
        if not MIN_SUBSTRINGS <= len(lengths) <= 32:
            raise ValueError(f"substrings must be between {MIN_SUBSTRINGS} and 32")
        starts = [sum(lengths[:j]) for j in range(len(lengths))]
        word_a, word_b = [], []
        for start, length in zip(starts, lengths, strict=True):
            touched = {start >> 6, (start + length - 1) >> 6}
            free = [w for w in range(4) if w not in touched]
            word_a.append(free[0])
            word_b.append(free[1])
        as_array = np.asarray
        return cls(
            as_array(starts, dtype=np.int64),
            as_array(lengths, dtype=np.int64),
            as_array(word_a, dtype=np.int64),
            as_array(word_b, dtype=np.int64),
        )

    @property
    def key(self) -> tuple[int, ...]:
        return tuple(int(b) for b in self.lengths)

    def radii(self, threshold: int) -> np.ndarray:
        """Probe radius per table for ``threshold`` (-1: table not probed)."""
        r, a = divmod(threshold, self.m)
        radii = np.full(self.m, r - 1, dtype=np.int64)
        radii[: a + 1] = r
        return radii

    def probes(self, threshold: int) -> tuple[int, float]:
        """(number of bucket probes, expected candidates per code in the segment)."""
        probes = 0
        fraction = 0.0
        for length, radius in zip(
            self.lengths.tolist(), self.radii(threshold).tolist(), strict=True
        ):
            count = sum(math.comb(length, k) for k in range(radius + 1))
            probes += count
            fraction += count / float(1 << length)
        return probes, fraction


@lru_cache(maxsize=256)
def masks_within(length: int, radius: int) -> np.ndarray:
    """Every ``length``-bit mask of weight <= radius, lightest first (``uint64``)."""
    layers = [np.zeros(1, dtype=np.uint64)]
    top = np.full(1, -1, dtype=np.int64)  # highest set bit of each mask in the last layer
    for _ in range(radius):
        grown, grown_top = [], []
        for bit in range(length):
            keep = top < bit
            grown.append(layers[-1][keep] | np.uint64(1 << bit))
            grown_top.append(np.full(int(keep.sum()), bit, dtype=np.int64))
        layers.append(np.concatenate(grown))
        top = np.concatenate(grown_top)
    out = np.concatenate(layers)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=256)
def probes_for(lengths: tuple[int, ...], threshold: int) -> tuple[np.ndarray, np.ndarray]:
    """Probes of a query at ``threshold``: (table of each probe, mask to XOR in)."""
    layout = Layout.from_lengths(lengths)
    tables, masks = [], []
    for j, (length, radius) in enumerate(zip(layout.lengths, layout.radii(threshold), strict=True)):
        if radius >= 0:
            table_masks = masks_within(int(length), int(radius))
            masks.append(table_masks)
            tables.append(np.full(table_masks.shape[0], j, dtype=np.int64))
    probe_table = np.concatenate(tables)
    probe_mask = np.concatenate(masks).astype(np.uint64)
    probe_table.setflags(write=False)
    probe_mask.setflags(write=False)
    return probe_table, probe_mask


# Rough per-operation costs (nanoseconds, one core) for choosing MIH or a linear scan.
COST_PROBE = 20.0
COST_CANDIDATE = 3.5
COST_FULL_CODE = 25.0  # a candidate passing the streamed-bits filter reads its code at random
COST_LINEAR = 1.4
MAX_PROBES = 2_000_000
STREAMED_BITS = 96


@lru_cache(maxsize=128)
def _filter_pass_rate(threshold: int) -> float:
    """Chance that a random candidate passes the 96-bit filter (limit about threshold - 2)."""
    limit = max(threshold - 2, 0)
    return sum(math.comb(STREAMED_BITS, k) for k in range(limit + 1)) / 2.0**STREAMED_BITS


def prefer_linear(layout: Layout | None, n: int, threshold: int) -> bool:
    """Whether scanning all ``n`` codes is expected to beat probing the tables.

    At large thresholds the streamed bits stop filtering and every candidate costs a random
    read of its full code, so a scan wins (about t >= 52 at 1M codes).
    """
    if layout is None:
        return True
    probes, fraction = layout.probes(threshold)
    if probes > MAX_PROBES:
        return True
    per_candidate = COST_CANDIDATE + COST_FULL_CODE * _filter_pass_rate(threshold)
    mih = probes * COST_PROBE + fraction * n * per_candidate
    return n * COST_LINEAR < mih
