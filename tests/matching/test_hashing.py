"""Hashing: conformance with the PDQ reference data, the public API and batch behaviour."""

from __future__ import annotations

import csv
import hashlib
import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from opschub.matching import hashing as hashing_module
from opschub.matching.hashing import (
    DIHEDRAL_TRANSFORMS,
    FileHashes,
    hash_file,
    hash_image_bytes,
    hash_many,
    iter_image_files,
    query_hashes,
    query_hashes_from_bytes,
)

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("OPSCHUB_SHARED_DIR", REPO.parent / "shared"))
REFERENCE = SHARED / "pdq-reference"


def distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def reference_rows() -> list[dict[str, str]]:
    with (REFERENCE / "expected.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def photo(size: tuple[int, int] = (320, 240)) -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut()).resize(size)


def encoded(img: Image.Image, fmt: str = "JPEG", **options: object) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **options)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def expected() -> list[dict[str, str]]:
    if not (REFERENCE / "expected.csv").is_file():
        pytest.fail(f"PDQ reference data missing at {REFERENCE} (set OPSCHUB_SHARED_DIR)")
    return reference_rows()


@pytest.fixture(scope="module")
def hashed(expected: list[dict[str, str]]) -> dict[str, tuple[FileHashes, FileHashes]]:
    """(fast, reference) results for every image of the reference set."""
    return {
        row["path"]: (
            hash_file(REFERENCE / row["path"], fast=True),
            hash_file(REFERENCE / row["path"], fast=False),
        )
        for row in expected
    }


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
def test_conformance_with_reference_hashes(
    expected: list[dict[str, str]], hashed: dict[str, tuple[FileHashes, FileHashes]], fast: bool
) -> None:
    checked = 0
    for row in expected:
        result = hashed[row["path"]][0 if fast else 1]
        assert result.error is None, result
        assert result.pdq is not None and result.quality is not None
        assert len(result.pdq) == 64 and result.pdq == result.pdq.lower()
        if result.quality >= 80:
            assert distance(result.pdq, row["pdq_hex"]) <= 10, row["path"]
            checked += 1
    assert checked >= 20


def test_every_reference_image_hashes(expected: list[dict[str, str]]) -> None:
    files = list(iter_image_files([REFERENCE / "images"]))
    assert len(files) >= len(expected)
    listed = {str(REFERENCE / row["path"]) for row in expected}
    for path in files:
        if str(path) not in listed:
            assert hash_file(path).error is None, path


def test_fast_path_stays_close_to_full_decode(
    hashed: dict[str, tuple[FileHashes, FileHashes]],
) -> None:
    for path, (fast, full) in hashed.items():
        assert fast.pdq and full.pdq
        assert distance(fast.pdq, full.pdq) <= 6, path
        assert abs((fast.quality or 0) - (full.quality or 0)) <= 5


def test_fast_path_equals_reference_on_full_size_input() -> None:
    # Non-JPEG input is decoded at full size; the numpy PDQ then matches pdqhash bit for bit
    # (up to float rounding on near-median coefficients).
    data = encoded(photo((300, 200)), "PNG")
    fast = hash_image_bytes(data, fast=True)
    full = hash_image_bytes(data, fast=False)
    assert fast.pdq and full.pdq
    assert distance(fast.pdq, full.pdq) <= 2
    assert fast.quality == full.quality


def test_file_digests_and_json_record(tmp_path: Path) -> None:
    data = encoded(photo())
    path = tmp_path / "a.jpg"
    path.write_bytes(data)
    result = hash_file(path)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.md5 == hashlib.md5(data).hexdigest()
    assert result.sha1 == hashlib.sha1(data).hexdigest()
    record = result.to_json()
    assert list(record) == ["path", "sha256", "md5", "sha1", "pdq", "quality", "error"]
    assert record["path"] == str(path)
    assert record["error"] is None
    assert hash_image_bytes(data, "mem").pdq == result.pdq


def test_bad_files_give_error_records(tmp_path: Path) -> None:
    missing = hash_file(tmp_path / "nope.jpg")
    assert missing.error and "cannot read file" in missing.error
    assert missing.sha256 is None and missing.pdq is None

    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(b"this is not an image at all")
    bad = hash_file(garbage)
    assert bad.error and "not an image" in bad.error
    # The bytes are still fingerprinted: exact lists can match any file.
    assert bad.sha256 == hashlib.sha256(garbage.read_bytes()).hexdigest()
    assert bad.pdq is None and bad.quality is None

    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(encoded(photo())[:2000])
    cut = hash_file(truncated)
    assert cut.error and cut.pdq is None


def test_query_variants_cover_rotations_and_mirrors(expected: list[dict[str, str]]) -> None:
    original = hash_file(REFERENCE / "images/dih/bridge-1-original.jpg")
    assert original.pdq
    for path in sorted((REFERENCE / "images/dih").glob("*.jpg")):
        plain, variants = query_hashes(path, trim_borders=False)
        assert [v.transform for v in variants] == list(DIHEDRAL_TRANSFORMS)
        assert variants[0].pdq == plain.pdq
        best = min(distance(v.pdq, original.pdq) for v in variants)
        assert best <= 10, path.name
    # Without the option only the original is queried, and a mirror image does not match.
    flipped, only = query_hashes(REFERENCE / "images/dih/bridge-5-flipx.jpg", dihedral=False)
    assert [v.transform for v in only] == ["original"]
    assert flipped.pdq and distance(flipped.pdq, original.pdq) > 31


def test_reference_and_fast_dihedral_agree() -> None:
    data = encoded(photo((256, 200)), "PNG")
    _, fast = query_hashes_from_bytes(data, fast=True, trim_borders=False)
    _, full = query_hashes_from_bytes(data, fast=False, trim_borders=False)
    assert [v.transform for v in fast] == [v.transform for v in full]
    for a, b in zip(fast, full, strict=True):
        assert distance(a.pdq, b.pdq) <= 2, a.transform


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
def test_padding_is_trimmed_for_queries(fast: bool) -> None:
    img = photo((320, 240))
    plain = hash_image_bytes(encoded(img, "PNG"), fast=fast)
    padded = Image.new("RGB", (320, 400), (0, 0, 0))
    padded.paste(img, (0, 80))
    result, variants = query_hashes_from_bytes(encoded(padded, "PNG"), fast=fast)
    assert plain.pdq and result.pdq
    assert distance(result.pdq, plain.pdq) > 31  # padding defeats plain PDQ ...
    trimmed = [v for v in variants if v.transform == "trimmed+original"]
    assert trimmed and distance(trimmed[0].pdq, plain.pdq) <= 8  # ... trimming recovers it
    assert sum(v.transform.startswith("trimmed+") for v in variants) == 8


def test_trimming_a_reduced_rotated_jpeg_keeps_the_geometry() -> None:
    # Scale-4 decoding of a JPEG stored upside down (EXIF 3): the partial edge blocks come first
    # after the fix, and the crop must carry that offset into the trimmed hash.
    img = photo((1021, 801))
    plain = hash_image_bytes(encoded(img, "PNG"), fast=False)
    padded = Image.new("RGB", (1021, 1203), (0, 0, 0))
    padded.paste(img, (0, 201))
    exif = Image.Exif()
    exif[0x0112] = 3
    stored = padded.transpose(Image.Transpose.ROTATE_180)
    data = encoded(stored, "JPEG", quality=95, exif=exif)
    _, variants = query_hashes_from_bytes(data, dihedral=False)
    trimmed = {v.transform: v for v in variants}["trimmed+original"]
    assert plain.pdq and distance(trimmed.pdq, plain.pdq) <= 10


def test_iter_image_files_recurses_sorted_and_keeps_explicit_files(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    for name in ["b/z.PNG", "a.jpg", "b/a.webp", "notes.txt"]:
        (tmp_path / name).write_bytes(b"x")
    found = list(iter_image_files([tmp_path, tmp_path / "notes.txt"]))
    names = ["a.jpg", "b/a.webp", "b/z.PNG", "notes.txt"]
    assert found == [tmp_path / name for name in names]


@pytest.mark.parametrize("workers", [1, 2])
def test_hash_many_hashes_every_file_and_goes_on_after_errors(tmp_path: Path, workers: int) -> None:
    paths = []
    for index in range(11):
        path = tmp_path / f"{index:02d}.png"
        array = np.random.default_rng(index).integers(0, 255, (40, 50, 3), dtype=np.uint8)
        path.write_bytes(encoded(Image.fromarray(array), "PNG"))
        paths.append(path)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    paths.insert(5, broken)
    results = list(hash_many(paths, workers=workers, query_variants=True))
    by_path = {r.path: (r, v) for r, v in results}
    assert set(by_path) == {str(p) for p in paths}
    assert by_path[str(broken)][0].error and by_path[str(broken)][1] == []
    for path in paths:
        if path != broken:
            record, variants = by_path[str(path)]
            assert record == hash_file(path)
            assert variants[0].pdq == record.pdq and len(variants) >= 8
    plain = list(hash_many(paths[:3], workers=workers))
    assert all(isinstance(r, FileHashes) and v == [] for r, v in plain)


def _die_on_crash_files(path: str, options: tuple[bool, bool]) -> object:
    if "crash" in Path(path).name:
        os._exit(3)  # what a segfaulting decoder or the OOM killer looks like to the pool
    return _real_worker_one(path, options)


_real_worker_one = hashing_module._worker_one


def test_hash_many_survives_a_dying_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # "fork" so that the patched worker function reaches the pool's processes.
    monkeypatch.setattr(hashing_module, "_START_METHOD", "fork")
    monkeypatch.setattr(hashing_module, "_worker_one", _die_on_crash_files)
    paths = []
    for index in range(20):
        name = "07-crash.png" if index == 7 else f"{index:02d}.png"
        path = tmp_path / name
        array = np.random.default_rng(index).integers(0, 255, (24, 24, 3), dtype=np.uint8)
        path.write_bytes(encoded(Image.fromarray(array), "PNG"))
        paths.append(path)
    results = {record.path: record for record, _ in hash_many(paths, workers=2)}
    assert set(results) == {str(p) for p in paths}
    crashed = results[str(tmp_path / "07-crash.png")]
    assert crashed.error and "worker process died" in crashed.error
    assert crashed.sha256 and crashed.pdq is None
    assert all(r.error is None and r.pdq for p, r in results.items() if "crash" not in p)
