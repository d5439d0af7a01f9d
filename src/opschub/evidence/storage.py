"""Where encrypted blobs live: one small interface, a local directory or S3-compatible storage.

A blob is first written under a temporary name (``tmp/<item id>``) and only promoted to its
final name (``blobs/<sha256[:2]>/<sha256>``) after its record has committed; until then nothing
references it. :func:`opschub.evidence.service.recover` finishes or discards what a crash left.
Only ciphertext ever reaches a backend.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

CHUNK = 1024 * 1024


class StorageError(Exception):
    """The backend cannot be read or written (the message names the object)."""


def blob_name(sha256: str) -> str:
    return f"blobs/{sha256[:2]}/{sha256}"


def temp_name(item_id: str) -> str:
    return f"tmp/{item_id}"


class Backend(Protocol):
    name: str

    def write(self, name: str, chunks: Iterable[bytes]) -> None:
        """Write ``name`` completely (durably) or raise; never leaves a partial final name."""
        ...

    def promote(self, temp: str, final: str) -> None: ...

    def read(self, name: str) -> Iterator[bytes]: ...

    def exists(self, name: str) -> bool: ...

    def delete(self, name: str) -> None: ...

    def list(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        """(name, last modified) under ``prefix``."""
        ...

    def replace_bytes(self, name: str, data: bytes) -> None:
        """Overwrite (tests that tamper)."""
        ...


class LocalBackend:
    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        return self.root / name

    def write(self, name: str, chunks: Iterable[bytes]) -> None:
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".part")
        try:
            with open(partial, "wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise

    def promote(self, temp: str, final: str) -> None:
        target = self._path(final)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._path(temp), target)
        _fsync_dir(target.parent)

    def read(self, name: str) -> Iterator[bytes]:
        try:
            handle = open(self._path(name), "rb")  # noqa: SIM115 (closed below)
        except FileNotFoundError:
            raise StorageError(f"blob {name} is missing") from None
        with handle:
            while chunk := handle.read(CHUNK):
                yield chunk

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def list(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        base = self._path(prefix)
        if not base.exists():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file():
                modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
                yield path.relative_to(self.root).as_posix(), modified

    def replace_bytes(self, name: str, data: bytes) -> None:
        self._path(name).write_bytes(data)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class S3Backend:
    """S3-compatible object storage (tested against moto's server on loopback).

    Objects appear only when an upload completes, so a crash never leaves a partial object;
    "promote" is a server-side copy followed by a delete.
    """

    name = "s3"

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    @classmethod
    def from_settings(cls, endpoint: str, bucket: str, prefix: str) -> S3Backend:
        import boto3

        client = boto3.client("s3", endpoint_url=endpoint or None)
        return cls(client, bucket, prefix)

    def _key(self, name: str) -> str:
        return self.prefix + name

    def write(self, name: str, chunks: Iterable[bytes]) -> None:
        key = self._key(name)
        upload = self.client.create_multipart_upload(Bucket=self.bucket, Key=key)
        upload_id = upload["UploadId"]
        parts: list[dict[str, Any]] = []
        buffer = bytearray()
        part_size = 8 * 1024 * 1024  # S3 wants parts of at least 5 MiB (but the last)
        try:
            for chunk in chunks:
                buffer += chunk
                if len(buffer) >= part_size:
                    parts.append(self._part(key, upload_id, len(parts) + 1, bytes(buffer)))
                    buffer.clear()
            if buffer or not parts:
                parts.append(self._part(key, upload_id, len(parts) + 1, bytes(buffer)))
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise

    def _part(self, key: str, upload_id: str, number: int, data: bytes) -> dict[str, Any]:
        answer = self.client.upload_part(
            Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data
        )
        return {"PartNumber": number, "ETag": answer["ETag"]}

    def promote(self, temp: str, final: str) -> None:
        self.client.copy(
            {"Bucket": self.bucket, "Key": self._key(temp)}, self.bucket, self._key(final)
        )
        self.delete(temp)

    def read(self, name: str) -> Iterator[bytes]:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(name))
        except self.client.exceptions.NoSuchKey:
            raise StorageError(f"blob {name} is missing") from None
        body = answer["Body"]
        yield from body.iter_chunks(CHUNK)

    def exists(self, name: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(name))
        except Exception as exc:
            if getattr(exc, "response", {}).get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                return False
            raise
        return True

    def delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(name))

    def list(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
            for obj in page.get("Contents", []):
                yield obj["Key"][len(self.prefix) :], obj["LastModified"]

    def replace_bytes(self, name: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(name), Body=data)
