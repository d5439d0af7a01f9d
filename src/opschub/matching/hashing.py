"""Hashes of image files: SHA-256, MD5, SHA-1 of the bytes and PDQ with its quality.

``fast=True`` (the default) decodes JPEGs at reduced size, luminance only, and hashes with
:mod:`opschub.matching.pdqfast`; ``fast=False`` is the reference path (full Pillow decode and
``pdqhash``). Both are conformant with the PDQ reference data. Nothing here raises for a bad
file: the result carries an ``error`` instead, so batches go on.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from opschub.matching import borders, pdqfast
from opschub.matching.decode import LUMA_WEIGHTS, DecodeError, Luma, decode_luma, decode_rgb

IMAGE_SUFFIXES = frozenset(
    {
        ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".apng", ".gif", ".webp", ".bmp", ".dib",
        ".tif", ".tiff", ".ico", ".ppm", ".pgm", ".pbm", ".pnm", ".tga", ".jp2", ".j2k", ".jpx",
        ".pcx", ".sgi", ".rgb", ".im", ".dds", ".avif", ".heic", ".heif", ".psd", ".xbm",
    }
)  # fmt: skip

DIHEDRAL_TRANSFORMS = pdqfast.DIHEDRAL_TRANSFORMS
TRIMMED_PREFIX = "trimmed+"


@dataclass(frozen=True, slots=True)
class FileHashes:
    """Hashes of one file; ``error`` is None on success, else a one-line reason."""

    path: str
    sha256: str | None
    md5: str | None
    sha1: str | None
    pdq: str | None
    quality: int | None
    error: str | None

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "md5": self.md5,
            "sha1": self.sha1,
            "pdq": self.pdq,
            "quality": self.quality,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class QueryHash:
    """One PDQ variant of a query image; ``transform`` says which (see DIHEDRAL_TRANSFORMS)."""

    transform: str
    pdq: str
    quality: int


def hash_file(path: str | Path, *, fast: bool = True) -> FileHashes:
    """Hash one file; never raises for unreadable or undecodable files."""
    return _hash_path(path, fast=fast, dihedral=False, trim_borders=False)[0]


def hash_image_bytes(data: bytes, name: str = "<bytes>", *, fast: bool = True) -> FileHashes:
    """Hash an image held in memory; ``name`` becomes the record's ``path``."""
    return _hash_bytes(data, name, fast=fast, dihedral=False, trim_borders=False)[0]


def query_hashes(
    path: str | Path, *, dihedral: bool = True, trim_borders: bool = True, fast: bool = True
) -> tuple[FileHashes, list[QueryHash]]:
    """Hashes of a query image plus the PDQ variants to search with.

    The list starts with the "original" variant; with ``dihedral`` it holds all 8 rotations and
    mirror images; with ``trim_borders`` and a uniform border found, the same again for the
    trimmed image, prefixed "trimmed+". Empty when the image could not be hashed.
    """
    return _hash_path(path, fast=fast, dihedral=dihedral, trim_borders=trim_borders)


def query_hashes_from_bytes(
    data: bytes,
    name: str = "<bytes>",
    *,
    dihedral: bool = True,
    trim_borders: bool = True,
    fast: bool = True,
) -> tuple[FileHashes, list[QueryHash]]:
    """:func:`query_hashes` for an image held in memory."""
    return _hash_bytes(data, name, fast=fast, dihedral=dihedral, trim_borders=trim_borders)


def iter_image_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files given directly, plus image files (by suffix) found recursively in folders, sorted.

    A path that is neither a file nor a folder is yielded as is, so hashing reports it.
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = (
                p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
            )
            yield from sorted(found)
        else:
            yield path


def hash_many(
    paths: Iterable[Path],
    *,
    workers: int | None = None,
    fast: bool = True,
    query_variants: bool = False,
) -> Iterator[tuple[FileHashes, list[QueryHash]]]:
    """Hash many files in a process pool (all cores by default); yields as results complete.

    With ``query_variants`` each result carries the dihedral and trimmed variants; otherwise the
    list is empty. ``workers=1`` hashes in this process.
    """
    workers = workers or _available_cpus()
    options = (fast, query_variants)
    if workers == 1:
        for path in paths:
            yield _worker_one(str(path), options)
        return
    batches = _batched((str(path) for path in paths), _BATCH_SIZE)
    while True:
        suspects: list[str] = []
        finished = yield from _run_pool(batches, workers, options, suspects)
        # A worker died (decoder crash, out of memory): every file it may have been working on
        # is hashed again alone, so that only the culprit gets an error record.
        for suspect in suspects:
            yield from _run_alone(suspect, options)
        if finished:
            return


_BATCH_SIZE = 8
# forkserver: safe when the parent has threads (web servers, Dask workers). Tests may switch it.
_START_METHOD = "forkserver"
_CRASH = "worker process died while hashing this file (decoder crash or out of memory)"


def _batched(items: Iterator[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _run_pool(
    batches: Iterator[list[str]],
    workers: int,
    options: tuple[bool, bool],
    suspects: list[str],
) -> Generator[tuple[FileHashes, list[QueryHash]], None, bool]:
    """Hash batches until they run out (True) or a worker dies (False, files in ``suspects``)."""
    context = get_context(_START_METHOD)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    pending: dict[Future[list[tuple[FileHashes, list[QueryHash]]]], list[str]] = {}
    try:
        exhausted = False
        while True:
            while not exhausted and len(pending) < workers * 4:
                batch = next(batches, None)
                if batch is None:
                    exhausted = True
                else:
                    pending[pool.submit(_worker_batch, batch, options)] = batch
            if not pending:
                return True
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                batch = pending.pop(future)
                try:
                    results = future.result()
                except BrokenProcessPool:
                    suspects.extend(batch)
                    continue
                yield from results
            if suspects:
                for batch in pending.values():
                    suspects.extend(batch)
                return False
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _run_alone(
    path: str, options: tuple[bool, bool]
) -> Iterator[tuple[FileHashes, list[QueryHash]]]:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context(_START_METHOD)) as pool:
        try:
            yield from pool.submit(_worker_batch, [path], options).result()
            return
        except BrokenProcessPool:
            pass
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        yield FileHashes(path, None, None, None, None, None, f"cannot read file: {reason}"), []
        return
    sha256, md5, sha1 = _digests(data)
    yield FileHashes(path, sha256, md5, sha1, None, None, _CRASH), []


def _available_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):  # honours taskset/cgroup pinning (Linux)
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _worker_batch(
    paths: list[str], options: tuple[bool, bool]
) -> list[tuple[FileHashes, list[QueryHash]]]:
    return [_worker_one(path, options) for path in paths]


def _worker_one(path: str, options: tuple[bool, bool]) -> tuple[FileHashes, list[QueryHash]]:
    fast, variants = options
    result, queries = _hash_path(path, fast=fast, dihedral=variants, trim_borders=variants)
    return result, (queries if variants else [])


def _hash_path(
    path: str | Path, *, fast: bool, dihedral: bool, trim_borders: bool
) -> tuple[FileHashes, list[QueryHash]]:
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return FileHashes(name, None, None, None, None, None, f"cannot read file: {reason}"), []
    return _hash_bytes(data, name, fast=fast, dihedral=dihedral, trim_borders=trim_borders)


def _hash_bytes(
    data: bytes, name: str, *, fast: bool, dihedral: bool, trim_borders: bool
) -> tuple[FileHashes, list[QueryHash]]:
    sha256, md5, sha1 = _digests(data)
    try:
        variants = _pdq_variants(data, fast=fast, dihedral=dihedral, trim_borders=trim_borders)
    except DecodeError as exc:
        return FileHashes(name, sha256, md5, sha1, None, None, str(exc)), []
    except MemoryError:
        return FileHashes(name, sha256, md5, sha1, None, None, "out of memory decoding image"), []
    except Exception as exc:  # a decoder bug must not stop a batch
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        error = f"cannot hash image: {type(exc).__name__}: {reason}"
        return FileHashes(name, sha256, md5, sha1, None, None, error), []
    original = variants[0]
    return FileHashes(name, sha256, md5, sha1, original.pdq, original.quality, None), variants


def _digests(data: bytes) -> tuple[str, str, str]:
    return (
        hashlib.sha256(data).hexdigest(),
        hashlib.md5(data, usedforsecurity=False).hexdigest(),
        hashlib.sha1(data, usedforsecurity=False).hexdigest(),
    )


def _pdq_variants(
    data: bytes, *, fast: bool, dihedral: bool, trim_borders: bool
) -> list[QueryHash]:
    if fast:
        return _fast_variants(decode_luma(data), dihedral=dihedral, trim_borders=trim_borders)
    return _reference_variants(decode_rgb(data), dihedral=dihedral, trim_borders=trim_borders)


def _fast_variants(luma: Luma, *, dihedral: bool, trim_borders: bool) -> list[QueryHash]:
    def hashes(part: Luma, prefix: str) -> list[QueryHash]:
        found = pdqfast.pdq_hashes(
            part.pixels,
            scale=part.scale,
            full_shape=part.full_shape,
            offset=part.offset,
            dihedral=dihedral,
        )
        return [QueryHash(prefix + name, pdq, quality) for name, pdq, quality in found]

    out = hashes(luma, "")
    if trim_borders:
        box = borders.find_uniform_borders(luma.pixels)
        if box is not None:
            out += hashes(luma.crop(*box), TRIMMED_PREFIX)
    return out


def _reference_variants(rgb: np.ndarray, *, dihedral: bool, trim_borders: bool) -> list[QueryHash]:
    out = _reference_hashes(rgb, dihedral=dihedral, prefix="")
    if trim_borders:
        box = borders.find_uniform_borders(_rgb_to_luma(rgb))
        if box is not None:
            top, bottom, left, right = box
            trimmed = rgb[top:bottom, left:right]
            out += _reference_hashes(trimmed, dihedral=dihedral, prefix=TRIMMED_PREFIX)
    return out


def _reference_hashes(rgb: np.ndarray, *, dihedral: bool, prefix: str) -> list[QueryHash]:
    import pdqhash

    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if not dihedral:
        vector, quality = pdqhash.compute(rgb)
        return [QueryHash(prefix + "original", pdqfast.vector_to_hex(vector), int(quality))]
    vectors, quality = pdqhash.compute_dihedral(rgb)
    return [
        QueryHash(prefix + name, pdqfast.vector_to_hex(vector), int(quality))
        for name, vector in zip(DIHEDRAL_TRANSFORMS, vectors, strict=True)
    ]


def _rgb_to_luma(rgb: np.ndarray) -> np.ndarray:
    r, g, b = LUMA_WEIGHTS
    return (rgb[:, :, 0] * r + rgb[:, :, 1] * g + rgb[:, :, 2] * b).astype(np.float32)
