"""Chunked AES-256-GCM (the STREAM construction), so that no file ever sits whole in memory.

Format: ``MAGIC || nonce_prefix (7 bytes)`` then segments of up to :data:`SEGMENT` plaintext
bytes, each sealed as ``ciphertext || tag``. Segment *i* uses the nonce
``prefix || i (4 bytes, big-endian) || last (1 byte)``, so that segments cannot be re-ordered,
and the last flag stops a truncated file from decrypting as a shorter one. The item's id is the
associated data, binding a blob to its record. An empty file is one empty final segment.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"OPSCHUB-EV1\n"
SEGMENT = 1024 * 1024
TAG = 16
PREFIX = 7
HEADER = len(MAGIC) + PREFIX


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class StreamError(Exception):
    """A blob that does not decrypt: altered, truncated, or another item's."""


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    if index >= 2**32:
        raise StreamError("file too large for one stream (4 PiB)")
    return prefix + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


@dataclass
class Digests:
    """Hashes of the plaintext, computed while it streams past."""

    size: int = 0
    _sha256: object = field(default_factory=hashlib.sha256)
    _md5: object = field(default_factory=lambda: hashlib.md5(usedforsecurity=False))
    _sha1: object = field(default_factory=lambda: hashlib.sha1(usedforsecurity=False))

    def update(self, chunk: bytes) -> None:
        self.size += len(chunk)
        for digest in (self._sha256, self._md5, self._sha1):
            digest.update(chunk)  # type: ignore[attr-defined]

    def hexdigests(self) -> tuple[str, str, str]:
        return (
            self._sha256.hexdigest(),  # type: ignore[attr-defined]
            self._md5.hexdigest(),  # type: ignore[attr-defined]
            self._sha1.hexdigest(),  # type: ignore[attr-defined]
        )


def read_segments(source: Readable, size: int = SEGMENT) -> Iterator[tuple[bytes, bool]]:
    """(segment, is_last) pairs; reads one segment ahead to know which one is last."""
    current = source.read(size)
    while True:
        following = source.read(size) if len(current) == size else b""
        last = not following
        yield current, last
        if last:
            return
        current = following


def encrypt(
    source: Readable, data_key: bytes, digests: Digests, head: bytes = b""
) -> Iterator[bytes]:
    """Encrypted chunks of ``source``; ``digests`` sees the plaintext; ``head`` (the item id) is
    the associated data of every segment."""
    aead = AESGCM(data_key)
    prefix = os.urandom(PREFIX)
    yield MAGIC + prefix
    for index, (segment, last) in enumerate(read_segments(source)):
        digests.update(segment)
        yield aead.encrypt(_nonce(prefix, index, last), segment, head)


def decrypt(chunks: Iterable[bytes], data_key: bytes, head: bytes = b"") -> Iterator[bytes]:
    """Plaintext segments; raises :class:`StreamError` on any alteration or truncation."""
    aead = AESGCM(data_key)
    buffer = bytearray()
    stream = iter(chunks)
    prefix: bytes | None = None
    index = 0
    sealed = SEGMENT + TAG
    exhausted = False
    while True:
        while not exhausted and len(buffer) <= sealed + (HEADER if prefix is None else 0):
            try:
                buffer += next(stream)
            except StopIteration:
                exhausted = True
        if prefix is None:
            if len(buffer) < HEADER or bytes(buffer[: len(MAGIC)]) != MAGIC:
                raise StreamError("not an evidence blob (bad header)")
            prefix = bytes(buffer[len(MAGIC) : HEADER])
            del buffer[:HEADER]
            continue
        last = exhausted and len(buffer) <= sealed
        piece = bytes(buffer[:sealed])
        del buffer[:sealed]
        if len(piece) < TAG:
            raise StreamError("blob is truncated")
        try:
            yield aead.decrypt(_nonce(prefix, index, last), piece, head)
        except InvalidTag:
            raise StreamError(f"segment {index} does not decrypt (altered or truncated)") from None
        if last:
            return
        index += 1
