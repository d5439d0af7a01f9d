"""Versioned, signed lists for online services: a URL block list and hash lists.

Each list (``$OPSCHUB_DATA_DIR/lists/<name>/``) is a sequence of versions. Publishing a new set
of entries makes a new version only when something was added or removed; each version is kept
(canonical JSON Lines, sorted), so "changes since version N" is a comparison of two versions.

An export is the payload file in one of the matching engine's formats (``jsonl``, ``csv``,
``tx-csv``, ``lines``, ``vics`` for hash lists; ``lines`` or ``jsonl`` for URLs), byte for byte
what a recipient's tools already read, plus a detached signature file ``<payload>.sig``::

    {"manifest": {"list": "hashes", "kind": "hashes", "version": 12, "since_version": null,
                  "format": "csv", "entries": 5021, "sha256": "<hex of the payload>",
                  "created_at": "2026-12-01T09:30:00Z", "key_id": "<16 hex>",
                  "signature_scheme": "opschub-list-v1"},
     "signature": "<base64 Ed25519 signature of the canonical manifest>"}

The signature covers the manifest (canonical JSON: sorted keys, no spaces, UTF-8) and the
manifest names the payload's SHA-256, so one check proves who published which version and that
the payload is unchanged. The Ed25519 private key is kept encrypted with the master key
(``opschub.crypto``); recipients get the public key (``opschub lists public-key``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from opschub.clock import utcnow
from opschub.crypto import decrypt, encrypt
from opschub.matching.formats import (
    FORMATS as HASH_FORMATS,
)
from opschub.matching.formats import (
    Entry,
    UnsupportedExport,
    exportable,
    make_entry,
    write_entries,
)

Kind = Literal["urls", "hashes"]
URL_FORMATS = ("lines", "jsonl")
SCHEME = "opschub-list-v1"
KEY_FILE = "signing.key"
KEY_CONTEXT = "takedown.lists.signing_key"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_VERSION_FILE = re.compile(r"^v(\d+)\.jsonl$")


class ListError(ValueError):
    """A list request cannot be done; the message says why."""


class VerificationError(ValueError):
    """A signed list file is not valid; the message says why."""


# -- keys --------------------------------------------------------------------------------------


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def load_public_key(text: str | bytes) -> Ed25519PublicKey:
    """A PEM public key, or the raw 32-byte key in base64 (as some recipients store it)."""
    data = text.encode() if isinstance(text, str) else text
    try:
        if b"BEGIN" in data:
            key = serialization.load_pem_public_key(data)
        else:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(data.strip(), validate=True))
    except (ValueError, binascii.Error, TypeError) as exc:
        raise VerificationError(f"not an Ed25519 public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise VerificationError("not an Ed25519 public key")
    return key


def signing_key(directory: Path) -> Ed25519PrivateKey:
    """The publisher's key from ``directory/signing.key`` (encrypted), created on first use."""
    path = directory / KEY_FILE
    if path.exists():
        raw = decrypt(path.read_bytes(), KEY_CONTEXT)
        return Ed25519PrivateKey.from_private_bytes(raw)
    directory.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    tmp = directory / f".{KEY_FILE}.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(encrypt(raw, KEY_CONTEXT))
    try:
        os.link(tmp, path)  # fails if another process made the key first: use theirs
    except FileExistsError:
        os.unlink(tmp)
        return signing_key(directory)
    os.unlink(tmp)
    return key


def canonical(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# -- entries -----------------------------------------------------------------------------------


def _url_entry(url: str) -> dict[str, str]:
    from opschub.intake.urls import UrlError, normalise_url

    try:
        return {"url": normalise_url(url)}
    except UrlError as exc:
        raise ListError(str(exc)) from None


def _hash_entry(entry: Entry) -> dict[str, Any]:
    return {k: v for k, v in entry.to_json().items() if v is not None}


def _key(record: dict[str, Any]) -> tuple[str, ...]:
    """What makes two records the same entry: the URL, or the hash type and hash."""
    if "url" in record:
        return (record["url"],)
    return (record["hash_type"], record["hash"])


@dataclass(frozen=True)
class ListVersion:
    name: str
    kind: Kind
    version: int
    entries: int
    added: int
    removed: int
    created_at: str

    def to_json(self) -> dict[str, object]:
        return {
            "list": self.name,
            "kind": self.kind,
            "version": self.version,
            "entries": self.entries,
            "added": self.added,
            "removed": self.removed,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class SignedExport:
    payload: bytes
    manifest: dict[str, Any]
    signature: str

    def signature_file(self) -> bytes:
        doc = {"manifest": self.manifest, "signature": self.signature}
        return (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()

    def write(self, path: Path) -> Path:
        """Write the payload to ``path`` and the signature beside it; returns the .sig path."""
        sig = path.with_name(path.name + ".sig")
        for target, data in ((path, self.payload), (sig, self.signature_file())):
            tmp = target.with_name(f".{target.name}.tmp")
            tmp.write_bytes(data)
            tmp.replace(target)
        return sig


class SignedListStore:
    """The versioned lists under ``directory`` (normally ``$OPSCHUB_DATA_DIR/lists``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _folder(self, name: str) -> Path:
        if not _NAME.match(name):
            raise ListError(f"list name {name!r}: use a-z, 0-9, '-' and '_' (at most 64)")
        return self.directory / name

    def versions(self, name: str) -> list[int]:
        folder = self._folder(name)
        if not folder.is_dir():
            return []
        found = (_VERSION_FILE.match(p.name) for p in folder.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def kind(self, name: str) -> Kind:
        meta = self._folder(name) / "list.json"
        if not meta.exists():
            raise ListError(f"no list named {name!r}")
        kind: Kind = json.loads(meta.read_text())["kind"]
        return kind

    def _read(self, name: str, version: int) -> tuple[str, list[dict[str, Any]]]:
        """(created_at, records) of a version; the file's first line is its header."""
        path = self._folder(name) / f"v{version}.jsonl"
        if not path.exists():
            raise ListError(f"{name} has no version {version}")
        with path.open(encoding="utf-8") as handle:
            header, *rows = (json.loads(line) for line in handle if line.strip())
        return str(header.get("created_at", "")), rows

    def records(self, name: str, version: int) -> list[dict[str, Any]]:
        return self._read(name, version)[1]

    def publish(self, name: str, kind: Kind, entries: Iterable[str | Entry]) -> ListVersion | None:
        """Make the next version from the complete set of ``entries`` (URLs for ``urls``,
        matching ``Entry`` objects for ``hashes``); ``None`` when nothing changed."""
        folder = self._folder(name)
        if folder.exists() and self.kind(name) != kind:
            raise ListError(f"{name} is a list of {self.kind(name)}, not {kind}")
        records: dict[tuple[str, ...], dict[str, Any]] = {}
        for entry in entries:
            if kind == "urls":
                if not isinstance(entry, str):
                    raise ListError("a URL list takes URLs")
                record = _url_entry(entry)
            else:
                if not isinstance(entry, Entry):
                    raise ListError("a hash list takes hash entries")
                record = _hash_entry(entry)
            records.setdefault(_key(record), record)
        ordered = [records[k] for k in sorted(records)]
        existing = self.versions(name)
        previous = {_key(r) for r in self.records(name, existing[-1])} if existing else set()
        if existing and previous == set(records):
            return None
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "list.json").write_text(json.dumps({"kind": kind}))
        version = (existing[-1] + 1) if existing else 1
        created = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
        tmp = folder / f".v{version}.{os.getpid()}.tmp"
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(json.dumps({"created_at": created}) + "\n")
            for record in ordered:
                handle.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        try:
            os.link(tmp, folder / f"v{version}.jsonl")  # never overwrites a published version
        except FileExistsError:
            raise ListError(f"{name}: version {version} was published meanwhile; retry") from None
        finally:
            tmp.unlink()
        return ListVersion(
            name,
            kind,
            version,
            len(ordered),
            len(set(records) - previous),
            len(previous - set(records)),
            created,
        )

    def diff(
        self, name: str, since: int, version: int | None = None
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(added, removed) between version ``since`` and ``version`` (default: the latest)."""
        versions = self.versions(name)
        if not versions:
            raise ListError(f"no list named {name!r}")
        target = versions[-1] if version is None else version
        if since not in versions or target not in versions or since > target:
            raise ListError(f"{name}: cannot compare version {since} with {target}")
        _, old = self._read(name, since)
        _, new = self._read(name, target)
        old_keys = {_key(r): r for r in old}
        new_keys = {_key(r): r for r in new}
        added = [new_keys[k] for k in sorted(new_keys.keys() - old_keys.keys())]
        removed = [old_keys[k] for k in sorted(old_keys.keys() - new_keys.keys())]
        return added, removed

    def export(
        self,
        name: str,
        *,
        format: str = "jsonl",
        version: int | None = None,
        since: int | None = None,
    ) -> SignedExport:
        """A signed export of a version, or of the changes since version ``since`` (JSON Lines
        with ``"change": "added"|"removed"``, the only format that can say "removed")."""
        kind = self.kind(name)
        versions = self.versions(name)
        target = versions[-1] if version is None else version
        if target not in versions:
            raise ListError(f"{name} has no version {target}")
        formats = URL_FORMATS if kind == "urls" else HASH_FORMATS
        if format not in formats:
            raise ListError(f"a {kind} list exports as {', '.join(formats)}, not {format!r}")
        if since is not None:
            if format != "jsonl":
                raise ListError("changes since a version are exported as jsonl only")
            added, removed = self.diff(name, since, target)
            payload, count = render_changes(added, removed)
        else:
            _, rows = self._read(name, target)
            payload, count = render(kind, rows, format)
        return sign(
            self.directory,
            name=name,
            kind=kind,
            version=target,
            since=since,
            format=format,
            payload=payload,
            entries=count,
        )

    def public_key(self) -> Ed25519PublicKey:
        return signing_key(self.directory).public_key()


def render(kind: Kind, rows: Sequence[dict[str, Any]], format: str) -> tuple[bytes, int]:
    """(payload, entries written) of a whole version in ``format``."""
    formats = URL_FORMATS if kind == "urls" else HASH_FORMATS
    if format not in formats:
        raise ListError(f"a {kind} list exports as {', '.join(formats)}, not {format!r}")
    out = io.StringIO(newline="")
    count = _write(kind, rows, out, format)
    return out.getvalue().encode(), count


def render_changes(
    added: Sequence[dict[str, Any]], removed: Sequence[dict[str, Any]]
) -> tuple[bytes, int]:
    """(payload, changes) of a "changes since" export: JSON Lines with ``"change"``."""
    out = io.StringIO(newline="")
    for change, rows in (("added", added), ("removed", removed)):
        for row in rows:
            out.write(json.dumps({"change": change, **row}, ensure_ascii=False) + "\n")
    return out.getvalue().encode(), len(added) + len(removed)


def sign(
    directory: Path,
    *,
    name: str,
    kind: Kind,
    version: int,
    since: int | None,
    format: str,
    payload: bytes,
    entries: int,
    created_at: str | None = None,
) -> SignedExport:
    """Sign ``payload`` with the publisher's key kept in ``directory``. ``created_at`` (default:
    now) is part of the signed manifest; give the version's own time for a stable signature."""
    key = signing_key(directory)
    manifest = {
        "signature_scheme": SCHEME,
        "list": name,
        "kind": kind,
        "version": version,
        "since_version": since,
        "format": format,
        "entries": entries,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "created_at": created_at or utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "key_id": key_id(key.public_key()),
    }
    signature = base64.b64encode(key.sign(canonical(manifest))).decode()
    return SignedExport(payload, manifest, signature)


def _write(kind: Kind, rows: Sequence[dict[str, Any]], out: io.StringIO, format: str) -> int:
    if kind == "urls":
        for row in rows:
            out.write(row["url"] + "\n" if format == "lines" else json.dumps(row) + "\n")
        return len(rows)
    entries = [
        make_entry(r["hash_type"], r["hash"], r.get("label"), r.get("category")) for r in rows
    ]
    try:
        return write_entries(exportable(entries, format), out, format)
    except UnsupportedExport as exc:
        raise ListError(str(exc)) from None


@dataclass(frozen=True)
class Verified:
    manifest: dict[str, Any]


def verify(payload: bytes, signature_file: bytes, public_key: Ed25519PublicKey) -> Verified:
    """Check a payload against its signature file; raise :class:`VerificationError` naming
    the first problem."""
    try:
        doc = json.loads(signature_file)
        manifest, signature = doc["manifest"], doc["signature"]
    except (ValueError, KeyError, TypeError):
        raise VerificationError("signature file is not an opschub list signature") from None
    if not isinstance(manifest, dict) or manifest.get("signature_scheme") != SCHEME:
        raise VerificationError(f"unknown signature scheme (expected {SCHEME})")
    try:
        raw = base64.b64decode(signature, validate=True)
        public_key.verify(raw, canonical(manifest))
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        if manifest.get("key_id") != key_id(public_key):
            raise VerificationError(
                f"signed with key {manifest.get('key_id')}, not with the given key "
                f"{key_id(public_key)}"
            ) from None
        raise VerificationError("signature does not match the manifest (altered?)") from None
    digest = hashlib.sha256(payload).hexdigest()
    if digest != manifest.get("sha256"):
        raise VerificationError(
            "file changed after signing: its SHA-256 differs from the signed manifest"
        )
    return Verified(manifest)
