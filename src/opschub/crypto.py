"""Encryption at rest with envelope keys.

Each value gets its own random data key (AES-256-GCM); the data key is wrapped with a
key-encryption key derived from the master secret (HKDF-SHA256), so rotating the master key only
re-wraps data keys.
The stored form is ``version || wrapped-key || nonce || ciphertext``; the column name is bound in as
associated data so that a value copied into another column does not decrypt.
"""

from __future__ import annotations

import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import LargeBinary
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

VERSION = b"\x01"
_WRAPPED_LEN = 12 + 32 + 16  # nonce + key + tag


class DecryptionError(Exception):
    """The value was altered, or was encrypted under another key or for another field."""


@lru_cache(maxsize=4)
def _kek(master_secret: str) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"opschub kek v1").derive(
        master_secret.encode()
    )
    return AESGCM(key)


def _master_secret() -> str:
    from opschub.config import get_settings

    return get_settings().resolved_secret_key()


def encrypt(plaintext: bytes, context: str, *, master_secret: str | None = None) -> bytes:
    kek = _kek(master_secret or _master_secret())
    data_key = AESGCM.generate_key(bit_length=256)
    key_nonce = os.urandom(12)
    wrapped = key_nonce + kek.encrypt(key_nonce, data_key, context.encode())
    nonce = os.urandom(12)
    body = AESGCM(data_key).encrypt(nonce, plaintext, context.encode())
    return VERSION + wrapped + nonce + body


def decrypt(blob: bytes, context: str, *, master_secret: str | None = None) -> bytes:
    if not blob or blob[:1] != VERSION:
        raise DecryptionError("unknown encryption format")
    kek = _kek(master_secret or _master_secret())
    wrapped = blob[1 : 1 + _WRAPPED_LEN]
    nonce = blob[1 + _WRAPPED_LEN : 1 + _WRAPPED_LEN + 12]
    body = blob[1 + _WRAPPED_LEN + 12 :]
    try:
        data_key = kek.decrypt(wrapped[:12], wrapped[12:], context.encode())
        return AESGCM(data_key).decrypt(nonce, body, context.encode())
    except InvalidTag:
        raise DecryptionError("value cannot be decrypted (altered or wrong key)") from None


class EncryptedText(TypeDecorator[str]):
    """A text column stored encrypted; ``context`` names the field (bound as associated data)."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: str | None, dialect: Dialect) -> bytes | None:
        return None if value is None else encrypt(value.encode(), self.context)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> str | None:
        return None if value is None else decrypt(bytes(value), self.context).decode()
