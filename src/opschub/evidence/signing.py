"""The vault's Ed25519 signing key: certificates of destruction and evidence packages.

The private key is a 0600 PEM file (``OPSCHUB_EVIDENCE_SIGNING_KEY_FILE``, default
``data_dir/keys/evidence-signing.pem``); the public key is published
(``opschub evidence public-key``) so that anyone can check a certificate or a package offline.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from opschub.evidence.keys import KeyServiceError


class Signer:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._key: Ed25519PrivateKey | None = None

    def _private(self) -> Ed25519PrivateKey:
        if self._key is not None:
            return self._key
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
        mode = stat.S_IMODE(self.path.stat().st_mode)
        if mode & 0o077:
            raise KeyServiceError(f"{self.path}: signing key must have mode 0600, has {mode:o}")
        key = serialization.load_pem_private_key(self.path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyServiceError(f"{self.path}: not an Ed25519 private key")
        self._key = key
        return key

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self._private().sign(message)).decode()

    def public_key_pem(self) -> str:
        return public_pem(self._private().public_key())


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def fingerprint(public_key_pem: str) -> str:
    """SHA-256 of the raw public key, as hex: what a recipient compares with the published one."""
    key = load_public(public_key_pem)
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def load_public(pem: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except ValueError:
        raise ValueError("not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def verify(public_key_pem: str, message: bytes, signature: str) -> bool:
    try:
        load_public(public_key_pem).verify(base64.b64decode(signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True
