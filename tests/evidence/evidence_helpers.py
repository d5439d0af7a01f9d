"""Shared helpers of the evidence tests: a vault in the test's data directory, generated
material (never real abuse material), acting people and raw tampering."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

from factories import Person
from intruder import tampering as tampering
from opschub.db import Database
from opschub.evidence import service
from opschub.evidence.vault import Vault, vault_from_settings
from pictures import photo as photo

MANAGE = frozenset({"evidence.view", "evidence.manage"})
OFFICER = Person("officer", MANAGE)
SECOND = Person("second", MANAGE)
VIEWER = Person("viewer", frozenset({"evidence.view"}))
NOBODY = Person("nobody", frozenset())


def vault() -> Vault:
    return vault_from_settings()


def put_bytes(
    database: Database,
    data: bytes,
    *,
    actor: Person = OFFICER,
    source: str = "upload",
    name: str = "file.bin",
    the_vault: Vault | None = None,
) -> service.PutResult:
    with database.transaction() as session:
        return service.put(
            session,
            the_vault or vault(),
            io.BytesIO(data),
            source_kind=source,
            actor=actor,
            purpose="intake",
            original_name=name,
        )


def read_back(database: Database, item_id: str, the_vault: Vault | None = None) -> bytes:
    with database.transaction() as session:
        chunks = service.open_for(
            session, the_vault or vault(), item_id, actor=OFFICER, purpose="investigation"
        )
        return b"".join(chunks)


def all_files(root: Path) -> Iterator[Path]:
    return (p for p in root.rglob("*") if p.is_file())


def contains_slice(root: Path, needle: bytes) -> list[Path]:
    """Files under ``root`` holding ``needle`` anywhere (a slice of the original bytes)."""
    return [p for p in all_files(root) if needle in p.read_bytes()]
