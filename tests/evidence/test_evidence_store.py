"""The store: content addressing, encryption from the first write, metadata, keys."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import pytest
from evidence_helpers import NOBODY, OFFICER, VIEWER, photo, put_bytes, read_back, vault
from sqlalchemy import func, select

from opschub import config
from opschub.db import Database
from opschub.evidence import service, stream
from opschub.evidence.keys import FileKeyService, KeyServiceError
from opschub.evidence.models import CustodyEvent, EvidenceKey
from opschub.evidence.storage import blob_name


def test_same_bytes_twice_are_one_blob_with_two_acquisitions(
    database: Database, settings: config.Settings
) -> None:
    data = os.urandom(5000)
    first = put_bytes(database, data, name="a.bin")
    second = put_bytes(database, data, name="b.bin", source="seizure")
    assert not first.duplicate and second.duplicate
    assert first.item.id == second.item.id
    blobs = list((settings.data_dir / "evidence" / "blobs").rglob("*"))
    assert len([b for b in blobs if b.is_file()]) == 1
    with database.read() as session:
        shown = service.item_as_dict(session, service.get_item(session, first.item.id))
    assert [a["source"] for a in shown["acquisitions"]] == ["upload", "seizure"]
    assert [a["original_name"] for a in shown["acquisitions"]] == ["a.bin", "b.bin"]
    assert [e["action"] for e in shown["custody"]] == ["acquire", "acquire"]
    assert shown["custody"][1]["details"]["duplicate"] is True


def test_stored_blob_is_ciphertext_and_reads_back_exactly(
    database: Database, settings: config.Settings
) -> None:
    data = os.urandom(3 * stream.SEGMENT + 17)  # several segments and a short last one
    result = put_bytes(database, data)
    blob = settings.data_dir / "evidence" / blob_name(result.item.sha256)
    stored = blob.read_bytes()
    assert data[:64] not in stored and data[-64:] not in stored
    assert read_back(database, result.item.id) == data
    assert result.item.sha256 == hashlib.sha256(data).hexdigest()
    assert result.item.md5 == hashlib.md5(data).hexdigest()
    assert result.item.sha1 == hashlib.sha1(data).hexdigest()
    assert result.item.size == len(data)


@pytest.mark.parametrize("size", [0, 1, stream.SEGMENT - 1, stream.SEGMENT, 2 * stream.SEGMENT])
def test_stream_round_trips_at_segment_boundaries(size: int) -> None:
    data = os.urandom(size)
    key = os.urandom(32)
    digests = stream.Digests()
    sealed = b"".join(stream.encrypt(io.BytesIO(data), key, digests, b"item"))
    assert b"".join(stream.decrypt([sealed], key, b"item")) == data
    assert digests.size == size


def test_stream_refuses_truncation_reordering_and_other_items() -> None:
    data = os.urandom(2 * stream.SEGMENT + 5)
    key = os.urandom(32)
    sealed = b"".join(stream.encrypt(io.BytesIO(data), key, stream.Digests(), b"item"))
    whole = stream.SEGMENT + stream.TAG
    truncated = sealed[: stream.HEADER + whole]  # drop the last two segments
    with pytest.raises(stream.StreamError):
        b"".join(stream.decrypt([truncated], key, b"item"))
    with pytest.raises(stream.StreamError):
        b"".join(stream.decrypt([sealed], key, b"another item"))
    body = sealed[stream.HEADER :]
    swapped = sealed[: stream.HEADER] + body[whole : 2 * whole] + body[:whole] + body[2 * whole :]
    with pytest.raises(stream.StreamError):
        b"".join(stream.decrypt([swapped], key, b"item"))


def test_image_gets_pdq_and_is_matched_against_hash_lists_on_arrival(
    database: Database, settings: config.Settings
) -> None:
    from opschub.matching.formats import Entry
    from opschub.matching.hashing import hash_image_bytes
    from opschub.matching.store import HashListStore

    image = photo(7)
    known = hash_image_bytes(image)
    assert known.pdq is not None
    lists = HashListStore(settings.data_dir / "matching")
    lists.create_list("known")
    lists.add_entries("known", [Entry("pdq", known.pdq, label="case 12")])
    result = put_bytes(database, image, name="capture.png")
    assert result.item.media_type == "image/png"
    assert result.item.pdq == known.pdq
    assert [(m["list"], m["label"], m["distance"]) for m in result.item.matches] == [
        ("known", "case 12", 0)
    ]
    assert put_bytes(database, photo(8)).item.matches == []


def test_viewing_needs_permission_and_a_purpose(database: Database) -> None:
    item = put_bytes(database, b"material").item
    with database.transaction() as session, pytest.raises(service.Refused):
        service.open_for(session, vault(), item.id, actor=NOBODY, purpose="investigation")
    with database.transaction() as session, pytest.raises(service.EvidenceError, match="purpose"):
        service.open_for(session, vault(), item.id, actor=VIEWER, purpose="curiosity")
    with database.transaction() as session:
        data = b"".join(
            service.open_for(session, vault(), item.id, actor=VIEWER, purpose="assessment")
        )
    assert data == b"material"
    with database.read() as session:
        views = [e for e in service.custody(session, item.id) if e.action == "view"]
    assert [(v.actor_label, v.purpose) for v in views] == [("viewer", "assessment")]


def test_storing_needs_manage_permission(database: Database) -> None:
    with pytest.raises(service.Refused):
        put_bytes(database, b"x", actor=VIEWER)


def test_wrong_key_file_is_named_and_nothing_is_read(
    database: Database, settings: config.Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    item = put_bytes(database, b"some material").item
    other = tmp_path / "other-kek.json"
    FileKeyService(other).current_kek_id()  # creates a different key file
    monkeypatch.setenv("OPSCHUB_EVIDENCE_KEY_FILE", str(other))
    config.get_settings.cache_clear()
    with pytest.raises(KeyServiceError, match=rf"{item.id}.*wrong key file|has no key"):
        read_back(database, item.id)


def test_key_file_with_loose_permissions_is_refused(settings: config.Settings) -> None:
    keys = FileKeyService(settings.data_dir / "keys" / "k.json")
    keys.current_kek_id()
    keys.path.chmod(0o644)
    with pytest.raises(KeyServiceError, match="0600"):
        keys.current_kek_id()


def test_key_file_lives_outside_the_blob_directory(
    database: Database, settings: config.Settings
) -> None:
    put_bytes(database, b"abc")
    key_file = settings.data_dir / "keys" / "evidence-kek.json"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert not list((settings.data_dir / "evidence").rglob("*kek*"))


def test_rotation_rewraps_data_keys_without_touching_blobs(
    database: Database, settings: config.Settings
) -> None:
    data = os.urandom(4000)
    item = put_bytes(database, data).item
    blob = settings.data_dir / "evidence" / blob_name(item.sha256)
    before_blob = blob.read_bytes()
    the_vault = vault()
    with database.transaction() as session:
        old = session.get(EvidenceKey, item.id)
        assert old is not None
        old_kek = old.kek_id
        new, count = service.rotate_keys(session, the_vault, actor=OFFICER)
    with database.transaction() as session:
        retired = service.retire_old_keys(session, the_vault)
    assert count == 1 and retired == {old_kek}
    keys = json.loads((settings.data_dir / "keys" / "evidence-kek.json").read_text())["keys"]
    assert list(keys) == [new]
    assert blob.read_bytes() == before_blob
    assert read_back(database, item.id) == data


def test_unreadable_source_stores_nothing(database: Database) -> None:
    class Broken(io.RawIOBase):
        calls = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: object) -> int:
            Broken.calls += 1
            if Broken.calls > 2:
                raise OSError(5, "Input/output error")
            buffer[:10] = b"0123456789"  # type: ignore[index]
            return 10

    with pytest.raises(OSError), database.transaction() as session:
        service.put(
            session, vault(), io.BufferedReader(Broken(), 10), source_kind="upload",
            actor=OFFICER, purpose="intake",
        )  # fmt: skip
    with database.read() as session:
        assert service.count_items(session) == 0
        assert session.scalar(select(func.count()).select_from(CustodyEvent)) == 0
