"""ExactIndex: digest look-ups with additions, removals and persistence."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from opschub.matching import exact as exact_module
from opschub.matching.codes import digests_from_hex
from opschub.matching.exact import ExactIndex


def sha256s(values: range) -> np.ndarray:
    return digests_from_hex([hashlib.sha256(str(v).encode()).hexdigest() for v in values], 32)


def pairs(result) -> list[tuple[int, int]]:
    return list(zip(result.query_index.tolist(), result.ids.tolist(), strict=True))


def test_lookup_finds_exactly_the_equal_digests() -> None:
    index = ExactIndex.create()
    digests = sha256s(range(1000))
    index.add(np.arange(1000) * 10, digests)
    queries = np.concatenate((digests[[5, 999]], sha256s(range(5000, 5002))))
    result = index.lookup(queries)
    assert pairs(result) == [(0, 50), (1, 9990)]
    assert result.distances.tolist() == [0, 0]
    assert len(index) == 1000


def test_same_first_eight_bytes_are_told_apart() -> None:
    index = ExactIndex.create(digest_size=16)
    a = np.zeros((1, 16), dtype=np.uint8)
    b = a.copy()
    b[0, 15] = 1
    index.add(np.array([1, 2]), np.concatenate((a, b)))
    index._merge()  # also through the sorted run, not only the delta
    assert pairs(index.lookup(b)) == [(0, 2)]
    assert pairs(index.lookup(a)) == [(0, 1)]


def test_merge_remove_and_round_trip(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(exact_module, "DELTA_LIMIT", 100)
    index = ExactIndex.create(tmp_path / "sha1", digest_size=20)
    digests = np.frombuffer(
        b"".join(hashlib.sha1(str(v).encode()).digest() for v in range(500)), dtype=np.uint8
    ).reshape(-1, 20)
    for start in range(0, 500, 50):
        index.add(np.arange(start, start + 50), digests[start : start + 50])
    index.add(np.array([9999]), digests[7:8])  # a second entry with the same digest
    assert index._ids.shape[0] > 0  # merged into the sorted run
    assert pairs(index.lookup(digests[[7]])) == [(0, 7), (0, 9999)]
    assert index.remove(np.array([7, 499, 12345])) == 2
    assert pairs(index.lookup(digests[[7, 499, 8]])) == [(0, 9999), (2, 8)]
    index.save()
    reopened = ExactIndex.open(tmp_path / "sha1")
    assert len(reopened) == len(index) == 499
    assert pairs(reopened.lookup(digests[[7, 499, 8]])) == [(0, 9999), (2, 8)]
    reopened.remove(np.array([8]))
    reopened.add(np.array([4242]), digests[499:500])
    reopened.save()
    third = ExactIndex.open(tmp_path / "sha1")
    assert pairs(third.lookup(digests[[7, 499, 8]])) == [(0, 9999), (1, 4242)]


def test_addition_visible_at_once() -> None:
    index = ExactIndex.create()
    index.add(np.arange(100), sha256s(range(100)))
    index._merge()
    index.add(np.array([555]), sha256s(range(555, 556)))
    assert pairs(index.lookup(sha256s(range(555, 556)))) == [(0, 555)]


def test_invalid_input() -> None:
    index = ExactIndex.create()
    with pytest.raises(ValueError, match=r"\(n, 16\|20\|32\)"):
        index.add(np.array([1]), np.zeros((1, 10), dtype=np.uint8))
    index.add(np.array([1]), np.zeros((1, 16), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"shape \(n, 16\)"):
        index.lookup(np.zeros((1, 32), dtype=np.uint8))
    with pytest.raises(ValueError, match="dtype uint8"):
        index.add(np.array([1]), np.zeros((1, 16), dtype=np.int32))
    with pytest.raises(ValueError, match="digest_size"):
        ExactIndex.create(digest_size=7)
    assert len(ExactIndex.create().lookup(np.zeros((1, 32), dtype=np.uint8))) == 0


def test_open_rejects_other_directories(tmp_path: Path) -> None:
    from opschub.matching.index import HammingIndex

    HammingIndex.create(tmp_path / "pdq")
    with pytest.raises(ValueError, match="not a opschub-exact-index index"):
        ExactIndex.open(tmp_path / "pdq")
