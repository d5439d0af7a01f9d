"""The S3-compatible backend, against moto's S3 server on loopback (a real HTTP server)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import timedelta

import pytest
from evidence_helpers import OFFICER, put_bytes, read_back, vault

from loopback import free_port
from opschub import config
from opschub.db import Database
from opschub.evidence import integrity, service
from opschub.evidence.storage import S3Backend, blob_name

BUCKET = "opschub-evidence"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> S3Backend:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("OPSCHUB_EVIDENCE_STORAGE", "s3")
    monkeypatch.setenv("OPSCHUB_EVIDENCE_S3_ENDPOINT", s3_endpoint)
    monkeypatch.setenv("OPSCHUB_EVIDENCE_S3_BUCKET", BUCKET)
    prefix = f"t{os.urandom(4).hex()}/"
    monkeypatch.setenv("OPSCHUB_EVIDENCE_S3_PREFIX", prefix)
    config.get_settings.cache_clear()
    backend = vault().backend
    assert isinstance(backend, S3Backend)
    with contextlib.suppress(backend.client.exceptions.BucketAlreadyOwnedByYou):
        backend.client.create_bucket(Bucket=BUCKET)
    return backend


def _all_object_bytes(backend: S3Backend) -> bytes:
    out = b""
    for page in backend.client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for obj in page.get("Contents", []):
            out += backend.client.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()
    return out


def test_s3_stores_ciphertext_reads_back_and_destroys_without_a_trace(
    database: Database, s3: S3Backend, settings: config.Settings
) -> None:
    data = os.urandom(9 * 1024 * 1024 + 3)  # more than one multipart part
    item = put_bytes(database, data).item
    assert item.backend == "s3"
    assert s3.exists(blob_name(item.sha256))
    assert not list(s3.list("tmp/"))
    stored = _all_object_bytes(s3)
    assert data[:32] not in stored and data[5_000_000:5_000_032] not in stored
    assert read_back(database, item.id) == data
    with database.read() as session:
        assert integrity.verify(session, vault()).problems == []
    with database.transaction() as session:
        service.destroy(session, vault(), item.id, actor=OFFICER, reason="due")
    assert not s3.exists(blob_name(item.sha256))
    remaining = _all_object_bytes(s3) + b"".join(
        p.read_bytes() for p in settings.data_dir.rglob("*") if p.is_file()
    )
    for offset in (0, 4_000_000, 9 * 1024 * 1024 - 29):
        assert data[offset : offset + 32] not in remaining


def test_s3_changed_and_missing_blobs_are_named(database: Database, s3: S3Backend) -> None:
    changed = put_bytes(database, os.urandom(2000)).item
    missing = put_bytes(database, os.urandom(2000)).item
    name = blob_name(changed.sha256)
    blob = bytearray(b"".join(s3.read(name)))
    blob[-1] ^= 1
    s3.replace_bytes(name, bytes(blob))
    s3.delete(blob_name(missing.sha256))
    with database.read() as session:
        problems = {(p.item_id, p.kind) for p in integrity.verify(session, vault()).problems}
    assert problems == {(changed.id, "changed_blob"), (missing.id, "missing_blob")}


def test_s3_committed_but_unpromoted_blob_is_read_and_recovered(
    database: Database, s3: S3Backend
) -> None:
    data = os.urandom(1000)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(S3Backend, "promote", lambda *a: (_ for _ in ()).throw(OSError("down")))
        item = put_bytes(database, data).item
    assert not s3.exists(blob_name(item.sha256))
    assert read_back(database, item.id) == data  # found under its temporary name
    with database.transaction() as session:
        done = service.recover(session, vault(), grace=timedelta(0))
    assert any("promoted" in line for line in done)
    assert s3.exists(blob_name(item.sha256)) and not list(s3.list("tmp/"))
