"""Hash codes as numpy arrays, and the result type shared by the indexes.

A PDQ hash is written as 64 hex digits; as a code it is 32 bytes (``uint8``), the same bytes
``bytes.fromhex`` gives. Exact digests (SHA-256, SHA-1, MD5) are handled the same way with
their own length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PDQ_BYTES = 32
PDQ_HEX_DIGITS = 2 * PDQ_BYTES
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _check_hex(hex_: object, size: int, what: str) -> str:
    if not isinstance(hex_, str):
        raise ValueError(f"{what} must be a string of hex digits, got {type(hex_).__name__}")
    text = hex_.strip()
    if len(text) != 2 * size:
        raise ValueError(f"{what} must have {2 * size} hex digits, got {len(text)}")
    for position, char in enumerate(text):
        if char not in _HEX_DIGITS:
            raise ValueError(f"{what} has a non-hex character {char!r} at position {position + 1}")
    return text


def digest_from_hex(hex_: str, size: int, what: str = "digest") -> bytes:
    """Bytes of a hex digest of ``size`` bytes; ValueError with the reason when malformed."""
    return bytes.fromhex(_check_hex(hex_, size, what))


def pdq_hex_to_code(hex_: str) -> bytes:
    """The 32 bytes of a PDQ hash written as 64 hex digits (either case, surrounding space ok)."""
    return digest_from_hex(hex_, PDQ_BYTES, "PDQ hash")


def digests_from_hex(hexes: Sequence[str], size: int, what: str = "digest") -> np.ndarray:
    """``uint8`` array ``(n, size)``; ValueError naming the first malformed entry (0-based)."""
    out = np.empty((len(hexes), size), dtype=np.uint8)
    if not len(hexes):
        return out
    try:
        joined = "".join(h.strip() for h in hexes)
        if len(joined) == 2 * size * len(hexes):
            out[:] = np.frombuffer(bytes.fromhex(joined), dtype=np.uint8).reshape(-1, size)
            return out
    except (AttributeError, ValueError):
        pass
    # Slow path only to name the culprit (a correct batch never gets here).
    for index, hex_ in enumerate(hexes):
        try:
            out[index] = np.frombuffer(digest_from_hex(hex_, size, what), dtype=np.uint8)
        except ValueError as exc:
            raise ValueError(f"entry {index}: {exc}") from None
    return out


def codes_from_hex(hexes: Sequence[str]) -> np.ndarray:
    """PDQ hashes as a ``uint8`` array ``(n, 32)``."""
    return digests_from_hex(hexes, PDQ_BYTES, "PDQ hash")


def hex_from_code(code: np.ndarray | bytes) -> str:
    """Lowercase hex of one code (bytes or a 1-D ``uint8`` array)."""
    if isinstance(code, bytes | bytearray | memoryview):
        return bytes(code).hex()
    array = np.asarray(code)
    if array.dtype != np.uint8 or array.ndim != 1:
        raise ValueError(f"a code must be a 1-D uint8 array, got {array.dtype} {array.shape}")
    return array.tobytes().hex()


@dataclass
class SearchResult:
    """Matches of a batch of queries, one row per (query, entry) pair.

    Rows are ordered by query, then distance, then entry id.
    """

    query_index: np.ndarray  # int64, position of the query in the batch
    ids: np.ndarray  # int64, entry id
    distances: np.ndarray  # int32, Hamming distance (PDQ) or 0 (exact)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @classmethod
    def empty(cls) -> SearchResult:
        return cls(
            np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int32)
        )

    def for_query(self, query: int) -> tuple[np.ndarray, np.ndarray]:
        """Ids and distances of one query's matches."""
        lo, hi = np.searchsorted(self.query_index, [query, query + 1])
        return self.ids[lo:hi], self.distances[lo:hi]


def as_code_array(codes: object, size: int, what: str) -> np.ndarray:
    """Validate a batch of codes: a C-contiguous ``uint8`` array ``(n, size)``.

    A single 1-D code of ``size`` bytes is taken as a batch of one.
    """
    if not isinstance(codes, np.ndarray):
        raise ValueError(f"{what} must be a numpy uint8 array of shape (n, {size})")
    if codes.dtype != np.uint8:
        raise ValueError(f"{what} must have dtype uint8, got {codes.dtype}")
    if codes.ndim == 1 and codes.shape[0] == size:
        codes = codes.reshape(1, size)
    if codes.ndim != 2 or codes.shape[1] != size:
        raise ValueError(f"{what} must have shape (n, {size}), got {codes.shape}")
    return np.ascontiguousarray(codes)


def as_id_array(ids: object, count: int | None = None) -> np.ndarray:
    """Validate entry ids: a 1-D integer array (``count`` long when given), as ``int64``."""
    array = np.asarray(ids)
    if array.ndim != 1:
        raise ValueError(f"ids must be a 1-D integer array, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"ids must be integers, got dtype {array.dtype}")
    if count is not None and array.shape[0] != count:
        raise ValueError(f"got {array.shape[0]} ids for {count} codes")
    if array.dtype == np.uint64 and array.size and int(array.max()) > np.iinfo(np.int64).max:
        raise ValueError("ids must fit in a signed 64-bit integer")
    return np.ascontiguousarray(array, dtype=np.int64)
