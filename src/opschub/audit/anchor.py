"""Signed checkpoints of the audit chain, kept outside the database.

Nothing inside the database can show that rows were cut off the end of the log, that the log was
emptied, or that someone who also had the master secret rewrote and rehashed it. A checkpoint
records the chain's head (seq and row hash) and the seq where the keyed chain starts, signed with
an Ed25519 key that lives in the data directory (``audit-signing.key``, 0600), as a new file
(0600) in ``OPSCHUB_AUDIT_ANCHOR_DIR``. Point that directory at storage the database's users
cannot rewrite (another host, an append-only mount): see docs/audit.md.

A checkpoint is written only when the chain has grown and still extends the previous checkpoint,
so a rewritten log is never anchored. :func:`verify` checks the newest checkpoints.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from opschub.audit import service
from opschub.audit.models import AuditEvent
from opschub.clock import utcnow
from opschub.config import Settings, SettingsError, get_settings

SIGNING_KEY_FILE = "audit-signing.key"
FORMAT = "opschub-audit-checkpoint/1"
CHECKPOINTS_CHECKED = 24  # the newest ones; each covers the whole chain up to its seq
MAX_FILE_BYTES = 4096


class CheckpointError(Exception):
    """The log does not extend the last checkpoint (or it cannot be read): nothing was anchored."""


def signing_key(settings: Settings, *, create: bool = True) -> Ed25519PrivateKey | None:
    """The checkpoint signing key, created 0600 in the data directory on first use."""
    path = settings.ensure_data_dir() / SIGNING_KEY_FILE
    if not path.exists():
        if not create:
            return None
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first: use theirs
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SettingsError(f"{path}: audit signing key must have mode 0600, has {mode:o}")
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise SettingsError(f"{path}: not an Ed25519 private key")
    return loaded


def _signed(fields: dict[str, Any]) -> bytes:
    return service.canonical_json(fields).encode("utf-8")


@dataclass(frozen=True)
class Loaded:
    marks: list[service.CheckpointMark]  # newest first, signatures verified
    problems: list[service.ChainProblem]
    directory: Path


def _problem(message: str) -> service.ChainProblem:
    return service.ChainProblem(None, None, "checkpoint", message)


def _read(path: Path, key: Ed25519PrivateKey) -> service.CheckpointMark:
    """One checkpoint file, or ValueError saying what is wrong with it."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValueError("file is too large to be a checkpoint")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        signature = bytes.fromhex(data.pop("signature"))
        data.pop("public_key", None)
        if data.get("format") != FORMAT:
            raise ValueError(f"format is not {FORMAT}")
        key.public_key().verify(signature, _signed(data))
        keyed_from = data["keyed_from"]
        return service.CheckpointMark(
            seq=int(data["seq"]),
            row_hash=str(data["row_hash"]),
            keyed_from=None if keyed_from is None else int(keyed_from),
            written_at=str(data["written_at"]),
            name=path.name,
        )
    except InvalidSignature:
        raise ValueError("signature does not verify: the file was altered or forged") from None
    except (KeyError, TypeError, AttributeError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot be read ({exc.__class__.__name__})") from None


def load(settings: Settings | None = None, *, limit: int = CHECKPOINTS_CHECKED) -> Loaded:
    """The newest ``limit`` checkpoints; a file that does not verify is reported as a problem."""
    settings = settings or get_settings()
    directory = settings.resolved_audit_anchor_dir
    if not directory.is_dir():
        return Loaded([], [], directory)
    # Names start with the zero-padded seq, so name order is chain order.
    files = sorted(directory.glob("checkpoint-*.json"), reverse=True)[:limit]
    if not files:
        return Loaded([], [], directory)
    key = signing_key(settings, create=False)
    if key is None:
        message = (
            f"checkpoints exist in {directory} but the signing key "
            f"{settings.data_dir / SIGNING_KEY_FILE} is missing: they cannot be checked"
        )
        return Loaded([], [_problem(message)], directory)
    marks, problems = [], []
    for path in files:
        try:
            marks.append(_read(path, key))
        except (ValueError, OSError) as exc:
            problems.append(_problem(f"checkpoint {path.name}: {exc}"))
    return Loaded(marks, problems, directory)


def write(session: Session, settings: Settings | None = None) -> Path | None:
    """Write a signed checkpoint of the chain's head; ``None`` when nothing new was written.

    Raises :class:`CheckpointError` (and writes nothing) when the log no longer extends the last
    checkpoint or the rows since then do not verify: a rewritten log must never be anchored.
    """
    settings = settings or get_settings()
    head = service.head(session)
    if head is None:
        return None
    loaded = load(settings, limit=1)
    if loaded.problems:
        raise CheckpointError(str(loaded.problems[0]))
    previous = loaded.marks[0] if loaded.marks else None
    if previous is not None:
        if (previous.seq, previous.row_hash) == (head.seq, head.row_hash):
            return None
        recorded = session.scalar(select(AuditEvent.row_hash).where(AuditEvent.seq == previous.seq))
        if recorded != previous.row_hash:
            raise CheckpointError(
                f"seq {previous.seq} no longer has the hash checkpoint {previous.name} recorded: "
                "the log was cut short or rewritten; run `opschub audit verify`"
            )
    result = service.verify_chain(
        session,
        start=None if previous is None else (previous.seq, previous.row_hash),
        keyed_from=None if previous is None else previous.keyed_from,
    )
    if result.problems:
        raise CheckpointError(
            f"the log does not verify ({result.problems[0]}); run `opschub audit verify`"
        )
    key = signing_key(settings)
    assert key is not None  # created when missing
    fields: dict[str, Any] = {
        "format": FORMAT,
        "seq": head.seq,
        "row_hash": head.row_hash,
        "keyed_from": result.keyed_from,
        "written_at": utcnow().isoformat(timespec="seconds"),
    }
    document = {
        **fields,
        "signature": key.sign(_signed(fields)).hex(),
        "public_key": key.public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        .hex(),
    }
    directory = loaded.directory
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)  # an existing one is the operator's
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%fZ")
    path = directory / f"checkpoint-{head.seq:020d}-{stamp}.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    return path


def verify(
    session: Session,
    settings: Settings | None = None,
    **options: Any,
) -> service.VerifyResult:
    """:func:`opschub.audit.service.verify_chain` against the newest checkpoints as well."""
    loaded = load(settings)
    result = service.verify_chain(session, checkpoints=loaded.marks, **options)
    if not loaded.problems:
        return result
    return replace(result, problems=loaded.problems + result.problems)
