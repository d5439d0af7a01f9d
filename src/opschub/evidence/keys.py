"""Key-encryption keys (KEK) for evidence data keys, behind a small interface.

:class:`KeyService` is all the vault needs: wrap a fresh data key for an item, unwrap it, and
re-wrap under the newest KEK (rotation without re-encrypting any blob). :class:`FileKeyService`
keeps the KEKs in one JSON file with mode 0600, named by ``OPSCHUB_EVIDENCE_KEY_FILE`` and by
default in ``data_dir/keys/`` (never beside the blobs, never in the database). An external key
service (a KMS or an HSM) fits the same protocol.

The item id is bound into each wrapping as associated data, so a wrapped key copied to another
item does not unwrap.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

WRAP_VERSION = b"\x01"


class KeyServiceError(Exception):
    """The key-encryption key is missing, unreadable or wrong (message names what)."""


class KeyService(Protocol):
    def check(self, *, create: bool) -> None:
        """Raise :class:`KeyServiceError` if the KEKs cannot be used (``create``: make them)."""
        ...

    def current_kek_id(self) -> str: ...

    def wrap(self, data_key: bytes, item_id: str) -> tuple[str, bytes]:
        """(kek_id, wrapped) for ``data_key``."""
        ...

    def unwrap(self, kek_id: str, wrapped: bytes, item_id: str) -> bytes: ...

    def rotate(self) -> str:
        """Create a new current KEK and return its id (old ones stay until retired)."""
        ...

    def retire(self, kek_ids: set[str]) -> None:
        """Delete KEKs that no longer wrap anything."""
        ...


class FileKeyService:
    """KEKs in a 0600 JSON file: ``{"current": id, "keys": {id: base64}}``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    # -- the file ------------------------------------------------------------------------------

    def _load(self, *, create: bool) -> dict[str, object]:
        if not self.path.exists():
            if not create:
                raise KeyServiceError(f"{self.path}: evidence key file is missing")
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            kek_id = _new_kek_id()
            self._save({"current": kek_id, "keys": {kek_id: _b64(AESGCM.generate_key(256))}})
        mode = stat.S_IMODE(self.path.stat().st_mode)
        if mode & 0o077:
            raise KeyServiceError(
                f"{self.path}: evidence key file must have mode 0600, has {mode:o}"
            )
        try:
            data = json.loads(self.path.read_text())
            current, keys = data["current"], data["keys"]
            if not isinstance(keys, dict) or current not in keys:
                raise ValueError("current key is not among the keys")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KeyServiceError(f"{self.path}: evidence key file cannot be read: {exc}") from None
        return {"current": current, "keys": keys}

    def _save(self, data: dict[str, object]) -> None:
        # Written to a temporary name and renamed: a crash leaves the old or the new file.
        tmp = self.path.with_name(self.path.name + f".{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)

    def _key(self, kek_id: str) -> AESGCM:
        keys = self._load(create=False)["keys"]
        assert isinstance(keys, dict)
        if kek_id not in keys:
            raise KeyServiceError(f"{self.path}: has no key-encryption key {kek_id!r}")
        return AESGCM(base64.b64decode(keys[kek_id]))

    # -- KeyService ----------------------------------------------------------------------------

    def check(self, *, create: bool) -> None:
        self._load(create=create)

    def current_kek_id(self) -> str:
        return str(self._load(create=True)["current"])

    def wrap(self, data_key: bytes, item_id: str) -> tuple[str, bytes]:
        kek_id = self.current_kek_id()
        nonce = os.urandom(12)
        wrapped = nonce + self._key(kek_id).encrypt(nonce, data_key, item_id.encode())
        return kek_id, WRAP_VERSION + wrapped

    def unwrap(self, kek_id: str, wrapped: bytes, item_id: str) -> bytes:
        if wrapped[:1] != WRAP_VERSION:
            raise KeyServiceError(f"item {item_id}: wrapped data key has an unknown format")
        body = wrapped[1:]
        try:
            return self._key(kek_id).decrypt(body[:12], body[12:], item_id.encode())
        except InvalidTag:
            raise KeyServiceError(
                f"item {item_id}: data key does not unwrap with key {kek_id!r} in {self.path} "
                "(wrong key file, or the wrapped key was altered)"
            ) from None

    def rotate(self) -> str:
        data = self._load(create=True)
        keys = dict(data["keys"])  # type: ignore[call-overload]
        kek_id = _new_kek_id()
        keys[kek_id] = _b64(AESGCM.generate_key(256))
        self._save({"current": kek_id, "keys": keys})
        return kek_id

    def retire(self, kek_ids: set[str]) -> None:
        data = self._load(create=False)
        keys = dict(data["keys"])  # type: ignore[call-overload]
        if data["current"] in kek_ids:
            raise KeyServiceError("the current key-encryption key cannot be retired")
        self._save(
            {
                "current": data["current"],
                "keys": {k: v for k, v in keys.items() if k not in kek_ids},
            }
        )


def _new_kek_id() -> str:
    return "kek-" + secrets.token_hex(8)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
