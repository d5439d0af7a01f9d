"""Encrypting a package's material to its recipient's X25519 public key.

The sender makes an ephemeral X25519 key pair per package; HKDF-SHA256 over the shared secret
gives a key that wraps one random data key per file (AES-256-GCM, the file name as associated
data); each file is sealed like a blob (:mod:`opschub.evidence.stream`). The bag's manifests and
signature then cover the ciphertext, so anyone can verify a package, and only the holder of the
recipient's private key can read the material. Recipients make their key pair with OpenSSL::

    openssl genpkey -algorithm X25519 -out recipient.pem
    openssl pkey -in recipient.pem -pubout -out recipient.pub.pem   # send this to the sender
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from opschub.evidence import stream

ENCRYPTION_FILE = "metadata/encryption.json"
SUFFIX = ".enc"


class RecipientError(Exception):
    """A key that is not an X25519 key, or material that does not decrypt with it."""


def _raw(key: X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def load_public(pem: str) -> X25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except ValueError:
        raise RecipientError("recipient key is not a PEM public key") from None
    if not isinstance(key, X25519PublicKey):
        raise RecipientError("recipient key is not an X25519 public key")
    return key


def load_private(pem: bytes) -> X25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise RecipientError("not a PEM private key (without a password)") from None
    if not isinstance(key, X25519PrivateKey):
        raise RecipientError("not an X25519 private key")
    return key


def _kek(shared: bytes, package_id: str) -> AESGCM:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None,
        info=b"opschub evidence package v1 " + package_id.encode(),
    ).derive(shared)  # fmt: skip
    return AESGCM(key)


class _Reader:
    """A file-like over an iterator of chunks (stream.encrypt reads from a file)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.buffer = bytearray()

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self.buffer) < size:
            try:
                self.buffer += next(self.chunks)
            except StopIteration:
                break
        size = len(self.buffer) if size < 0 else size
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data


class Sealer:
    """Seals the files of one package to one recipient."""

    def __init__(self, recipient_pem: str, package_id: str) -> None:
        recipient = load_public(recipient_pem)
        ephemeral = X25519PrivateKey.generate()
        self.kek = _kek(ephemeral.exchange(recipient), package_id)
        self.info: dict[str, Any] = {
            "algorithm": "X25519, HKDF-SHA256, AES-256-GCM (1 MiB segments)",
            "ephemeral_public_key": base64.b64encode(_raw(ephemeral.public_key())).decode(),
            "recipient_fingerprint": hashlib.sha256(_raw(recipient)).hexdigest(),
            "package_id": package_id,
            "files": {},
        }

    def seal(self, chunks: Iterator[bytes], path: Path, name: str) -> None:
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(12)
        wrapped = nonce + self.kek.encrypt(nonce, data_key, name.encode())
        self.info["files"][name] = base64.b64encode(wrapped).decode()
        with open(path, "wb") as handle:
            for piece in stream.encrypt(
                _Reader(chunks),
                data_key,
                stream.Digests(),
                name.encode(),
            ):
                handle.write(piece)

    def write_info(self, target: Path) -> None:
        (target / ENCRYPTION_FILE).write_text(json.dumps(self.info, indent=2))


def decrypt_package(package: Path, private_pem: bytes, out: Path) -> list[Path]:
    """Decrypt every sealed file of ``package`` into ``out``; each is checked against its
    SHA-256 in the custody record. Verify the package first (``verify_package``)."""
    private = load_private(private_pem)
    info = json.loads((package / ENCRYPTION_FILE).read_text())
    if hashlib.sha256(_raw(private.public_key())).hexdigest() != info["recipient_fingerprint"]:
        raise RecipientError("the package is encrypted to another recipient's key")
    ephemeral = X25519PublicKey.from_public_bytes(base64.b64decode(info["ephemeral_public_key"]))
    kek = _kek(private.exchange(ephemeral), info["package_id"])
    custody = json.loads((package / "metadata" / "custody.json").read_text())
    expected = {r["file"]: r["sha256"] for r in custody["items"]}
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, wrapped_b64 in info["files"].items():
        wrapped = base64.b64decode(wrapped_b64)
        try:
            data_key_bytes = kek.decrypt(wrapped[:12], wrapped[12:], name.encode())
        except InvalidTag:
            raise RecipientError(f"{name}: its key does not decrypt (altered)") from None
        target = out / Path(name).name.removesuffix(SUFFIX)
        digest = hashlib.sha256()
        partial = target.with_name(target.name + ".part")
        try:
            with open(package / name, "rb") as source, open(partial, "wb") as handle:
                chunks = iter(lambda: source.read(1024 * 1024), b"")
                for piece in stream.decrypt(chunks, data_key_bytes, name.encode()):
                    digest.update(piece)
                    handle.write(piece)
        except stream.StreamError as exc:
            partial.unlink(missing_ok=True)
            raise RecipientError(f"{name}: does not decrypt ({exc})") from None
        if digest.hexdigest() != expected.get(name):
            partial.unlink(missing_ok=True)
            raise RecipientError(f"{name}: decrypted bytes differ from the recorded SHA-256")
        partial.replace(target)
        written.append(target)
    return written
