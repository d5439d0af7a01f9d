"""HammingIndex against brute force: every entry within the threshold, nothing beyond it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opschub.matching.codes import SearchResult
from opschub.matching.index import HammingIndex
from opschub.matching.index import hamming as hamming_module
from opschub.matching.index import segment as segment_module


def brute_force(queries: np.ndarray, ids: np.ndarray, codes: np.ndarray, t: int) -> set:
    qbits = np.unpackbits(queries, axis=1).astype(np.int16)
    cbits = np.unpackbits(codes, axis=1).astype(np.int16)
    dist = (qbits[:, None, :] != cbits[None, :, :]).sum(axis=2)
    q, rows = np.nonzero(dist <= t)
    return {(int(a), int(ids[b]), int(dist[a, b])) for a, b in zip(q, rows, strict=True)}


def as_set(result: SearchResult) -> set:
    triples = zip(result.query_index, result.ids, result.distances, strict=True)
    return {(int(a), int(b), int(c)) for a, b, c in triples}


def flip(code: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    bits = np.unpackbits(code)
    positions = rng.choice(256, size=count, replace=False)
    bits[positions] ^= 1
    return np.packbits(bits)


def planted(rng: np.random.Generator, n: int, queries: int) -> tuple[np.ndarray, np.ndarray]:
    """Random codes, and queries with neighbours planted at every distance 0..64."""
    codes = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    q = rng.integers(0, 256, size=(queries, 32), dtype=np.uint8)
    for i in range(min(n, 2 * 65)):
        codes[i] = flip(q[i % queries], i % 65, rng)
    return codes, q


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    codes, queries = planted(rng, 20_000, 40)
    ids = rng.permutation(10 * codes.shape[0])[: codes.shape[0]].astype(np.int64)
    return ids, codes, queries


@pytest.mark.parametrize("threshold", [0, 1, 7, 15, 16, 31, 32, 40, 48, 64])
def test_search_equals_brute_force(data, threshold: int) -> None:
    ids, codes, queries = data
    index = HammingIndex.create()
    index.add(ids, codes)
    assert index.segment_sizes == [codes.shape[0]]  # one MIH segment, not a linear delta
    result = index.search(queries, threshold)
    expected = brute_force(queries, ids, codes, threshold)
    assert as_set(result) == expected
    assert len(result) == len(expected)  # a code found through several tables is reported once
    assert np.all(result.distances <= threshold)


@pytest.mark.parametrize("substrings", [16, 17, 23, 32])
def test_any_substring_count_is_exact(data, substrings: int) -> None:
    ids, codes, queries = data
    index = HammingIndex.create(substrings=substrings)
    index.add(ids, codes)
    for threshold in (0, 9, 31, 33, 50):
        result = index.search(queries, np.int64(threshold))
        expected = brute_force(queries, ids, codes, threshold)
        assert as_set(result) == expected and len(result) == len(expected)


def test_results_are_ordered_by_query_distance_id(data) -> None:
    ids, codes, queries = data
    index = HammingIndex.create()
    index.add(ids, codes)
    result = index.search(queries, 40)
    keys = list(zip(result.query_index, result.distances, result.ids, strict=True))
    assert keys == sorted(keys)
    assert result.query_index.dtype == np.int64 and result.ids.dtype == np.int64
    assert result.distances.dtype == np.int32
    _, dist = result.for_query(0)
    assert 0 in dist.tolist()


def test_addition_visible_at_once_and_removal(data) -> None:
    ids, codes, queries = data
    index = HammingIndex.create()
    index.add(ids, codes)
    new_code = flip(queries[3], 5, np.random.default_rng(1))
    index.add(np.array([-5]), new_code[None, :])
    assert (3, -5, 5) in as_set(index.search(queries, 31))
    assert len(index) == codes.shape[0] + 1
    assert index.remove(np.array([-5, ids[3], 123456789])) == 2
    got = as_set(index.search(queries, 64))
    assert not any(entry in (-5, int(ids[3])) for _, entry, _ in got)
    assert index.remove(np.array([-5])) == 0
    assert len(index) == codes.shape[0] - 1


def test_many_small_additions_merge_into_segments(monkeypatch) -> None:
    monkeypatch.setattr(hamming_module, "DELTA_LIMIT", 64)
    monkeypatch.setattr(segment_module, "MIN_TABLE_SIZE", 100)
    rng = np.random.default_rng(3)
    codes, queries = planted(rng, 1_500, 20)
    index = HammingIndex.create()
    for start in range(0, codes.shape[0], 37):
        chunk = slice(start, start + 37)
        index.add(np.arange(codes.shape[0])[chunk], codes[chunk])
        if start == 370:
            index.remove(np.arange(0, 100, 3))
    assert len(index.segment_sizes) >= 2
    alive = np.ones(codes.shape[0], dtype=bool)
    alive[np.arange(0, 100, 3)] = False
    ids = np.arange(codes.shape[0])
    for threshold in (0, 20, 31, 64):
        expected = brute_force(queries, ids[alive], codes[alive], threshold)
        assert as_set(index.search(queries, threshold)) == expected


def test_duplicate_ids_and_codes(data) -> None:
    _, _, queries = data
    index = HammingIndex.create()
    index.add(np.array([1, 1, 2]), np.stack([queries[0], queries[0], queries[0]]))
    assert sorted(index.search(queries[:1], 0).ids.tolist()) == [1, 1, 2]
    assert index.remove(np.array([1])) == 2
    assert index.search(queries[:1], 0).ids.tolist() == [2]


def test_save_open_round_trip(tmp_path: Path, data) -> None:
    ids, codes, queries = data
    index = HammingIndex.create(tmp_path / "pdq")
    index.add(ids, codes)
    index.add(np.array([77_777_777]), queries[5:6])  # stays in the delta
    index.remove(ids[:10])
    index.save()
    reopened = HammingIndex.open(tmp_path / "pdq")
    assert len(reopened) == len(index)
    assert isinstance(reopened._segments[0].records, np.memmap)  # opened, not read
    for threshold in (0, 31, 64):
        assert as_set(reopened.search(queries, threshold)) == as_set(
            index.search(queries, threshold)
        )
    # Changes after opening: a removal of a memory-mapped row and an addition, saved again.
    reopened.remove(ids[10:20])
    reopened.add(np.array([88]), queries[6:7])
    reopened.save()
    third = HammingIndex.open(tmp_path / "pdq")
    got = as_set(third.search(queries, 31))
    assert (6, 88, 0) in got and (5, 77_777_777, 0) in got
    assert not any(entry in set(ids[:20].tolist()) for _, entry, _ in got)
    manifest_files = {p.name for p in (tmp_path / "pdq").iterdir()}
    assert not any(name.endswith(".tmp") for name in manifest_files)


def test_unsaved_changes_do_not_reach_disk(tmp_path: Path, data) -> None:
    ids, codes, queries = data
    index = HammingIndex.create(tmp_path / "pdq")
    index.add(ids, codes)
    index.save()
    index.add(np.array([5]), queries[:1])
    assert len(HammingIndex.open(tmp_path / "pdq")) == codes.shape[0]


def test_create_refuses_an_existing_index_and_open_an_empty_dir(tmp_path: Path) -> None:
    HammingIndex.create(tmp_path / "a")
    with pytest.raises(ValueError, match="already holds an index"):
        HammingIndex.create(tmp_path / "a")
    (tmp_path / "b").mkdir()
    with pytest.raises(ValueError, match="not an index directory"):
        HammingIndex.open(tmp_path / "b")
    with pytest.raises(ValueError, match="no directory"):
        HammingIndex.create().save()


def test_unaligned_and_strided_input(data) -> None:
    ids, codes, queries = data
    raw = np.frombuffer(b"x" + codes[:500].tobytes(), dtype=np.uint8)[1:].reshape(500, 32)
    index = HammingIndex.create()
    index.add(ids[:500], raw)  # a buffer that is not 8-byte aligned
    wide = np.zeros((queries.shape[0], 64), dtype=np.uint8)
    wide[:, ::2] = queries  # a strided view
    result = index.search(wide[:, ::2], 31)
    assert as_set(result) == brute_force(queries, ids[:500], codes[:500], 31)


def test_empty_index_and_empty_batch() -> None:
    index = HammingIndex.create()
    assert len(index.search(np.zeros((3, 32), dtype=np.uint8))) == 0
    index.add(np.array([1]), np.zeros((1, 32), dtype=np.uint8))
    assert len(index.search(np.zeros((0, 32), dtype=np.uint8))) == 0
    single = index.search(np.zeros(32, dtype=np.uint8), 0)  # one 1-D code is a batch of one
    assert single.ids.tolist() == [1]


@pytest.mark.parametrize(
    ("queries", "threshold", "message"),
    [
        (np.zeros((2, 31), dtype=np.uint8), 31, r"shape \(n, 32\)"),
        (np.zeros((2, 32), dtype=np.int64), 31, "dtype uint8"),
        ([[0] * 32], 31, "numpy uint8 array"),
        (np.zeros((2, 32), dtype=np.uint8), 65, "between 0 and 64"),
        (np.zeros((2, 32), dtype=np.uint8), -1, "between 0 and 64"),
        (np.zeros((2, 32), dtype=np.uint8), 3.0, "must be an integer"),
    ],
)
def test_invalid_search_input(queries, threshold, message: str) -> None:
    index = HammingIndex.create()
    with pytest.raises(ValueError, match=message):
        index.search(queries, threshold)


def test_invalid_add_input() -> None:
    index = HammingIndex.create()
    with pytest.raises(ValueError, match="got 1 ids for 2 codes"):
        index.add(np.array([1]), np.zeros((2, 32), dtype=np.uint8))
    with pytest.raises(ValueError, match="ids must be integers"):
        index.add(np.array([1.5]), np.zeros((1, 32), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"shape \(n, 32\)"):
        index.add(np.array([1]), np.zeros((1, 16), dtype=np.uint8))
    assert len(index) == 0


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 300),
    threshold=st.integers(0, 64),
    substrings=st.sampled_from([None, 10, 16, 32]),  # 10 falls back on small segments
)
def test_property_matches_brute_force(seed: int, n: int, threshold: int, substrings) -> None:
    rng = np.random.default_rng(seed)
    codes, queries = planted(rng, n, 5) if n else (np.zeros((0, 32), np.uint8), None)
    if queries is None:
        queries = rng.integers(0, 256, size=(5, 32), dtype=np.uint8)
    ids = rng.integers(-(2**40), 2**40, size=n)
    with pytest.MonkeyPatch.context() as patch:
        # Small limits so that MIH tables, the delta and merges all take part.
        patch.setattr(hamming_module, "DELTA_LIMIT", 40)
        patch.setattr(segment_module, "MIN_TABLE_SIZE", 30)
        index = HammingIndex.create(substrings=substrings)
        half = n // 2
        index.add(ids[:half], codes[:half])
        for start in range(half, n, 7):
            index.add(ids[start : start + 7], codes[start : start + 7])
        expected = brute_force(queries, ids, codes, threshold)
        assert as_set(index.search(queries, threshold)) == expected


def test_large_thresholds_fall_back_to_a_linear_scan() -> None:
    from opschub.matching.index.layout import Layout, prefer_linear

    layout = Layout.split(16)
    assert not prefer_linear(layout, 1_000_000, 31)
    assert prefer_linear(layout, 1_000_000, 64)
    assert prefer_linear(None, 10, 0)


def test_layouts_partition_the_code() -> None:
    from opschub.matching.index.layout import Layout

    for m in range(10, 33):
        layout = Layout.split(m)
        assert layout.m == m and int(layout.lengths.sum()) == 256
        assert int(layout.lengths.max()) <= 26
        ends = layout.starts + layout.lengths
        assert np.all(ends[:-1] == layout.starts[1:])
        for j in range(m):  # the streamed words never overlap the table's own substring
            words = {int(layout.starts[j]) >> 6, int(ends[j] - 1) >> 6}
            assert int(layout.word_a[j]) not in words and int(layout.word_b[j]) not in words


def test_a_failed_save_leaves_the_previous_index(tmp_path: Path, data, monkeypatch) -> None:
    ids, codes, queries = data
    index = HammingIndex.create(tmp_path / "pdq")
    index.add(ids[:5000], codes[:5000])
    index.save()
    before = as_set(HammingIndex.open(tmp_path / "pdq").search(queries, 31))
    index.add(ids[5000:], codes[5000:])

    def crash(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(hamming_module, "write_manifest", crash)
    with pytest.raises(OSError, match="disk full"):
        index.save()  # new segment files were written, the manifest was not replaced
    reopened = HammingIndex.open(tmp_path / "pdq")
    assert len(reopened) == 5000
    assert as_set(reopened.search(queries, 31)) == before
