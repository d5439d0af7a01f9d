"""HashListStore: metadata, idempotent and all-or-nothing imports, matching against brute
force, and several processes sharing one store."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from opschub.matching.formats import Entry, ListFormatError, parse_file
from opschub.matching.hashing import QueryHash
from opschub.matching.store import HashListStore, StoreError, UnknownList

MD5 = "adebf3fa3c9be7f73825e1cb9e2dea09"
SHA1 = "2b037f69c566dfdb3a5a79e5360d085959bdde4c"
SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def random_codes(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 256, size=(n, 32), dtype=np.uint8)


def flip_bits(rng: np.random.Generator, code: np.ndarray, distance: int) -> np.ndarray:
    """A copy of ``code`` with exactly ``distance`` bits flipped."""
    bits = np.unpackbits(code)
    positions = rng.choice(256, size=distance, replace=False)
    bits[positions] ^= 1
    return np.packbits(bits)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distances between every row of ``a`` (q, 32) and every row of ``b`` (n, 32)."""
    return np.unpackbits(a[:, None, :] ^ b[None, :, :], axis=2).sum(axis=2)


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*"))
            if p.is_file()}  # fmt: skip


def test_import_metadata_and_idempotence(
    store: HashListStore, pdq_reference: Path, store_root: Path
) -> None:
    haystack = pdq_reference / "haystack.txt"
    summary = store.import_file(
        "tx", haystack, label="haystack", version="7", source="ThreatExchange", sharing="TLP:AMBER"
    )
    assert (summary.read, summary.added, summary.already_present) == (1350, 1350, 0)
    info = store.info("tx")
    assert info.counts == {"pdq": 1350}
    assert (info.source, info.sharing, info.version) == ("ThreatExchange", "TLP:AMBER", "7")
    assert info.imported_at is not None
    assert info.imports[-1]["file"] == "haystack.txt"
    assert info.imports[-1]["format"] == "lines"

    again = store.import_file("tx", haystack)
    assert (again.added, again.already_present) == (0, 1350)
    assert store.info("tx").counts == {"pdq": 1350}
    # A fresh store (another process) sees the same list.
    assert HashListStore(store_root).info("tx").counts == {"pdq": 1350}
    assert [i.name for i in store.lists()] == ["tx"]


def test_file_with_errors_changes_nothing(store: HashListStore, tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text("".join(f"{random_hex(i)}\n" for i in range(5)))
    store.import_file("l", good)
    before = snapshot(store.root)
    bad = tmp_path / "bad.txt"
    bad.write_text(f"{random_hex(10)}\nnot-a-hash\n{random_hex(11)}\n")
    with pytest.raises(ListFormatError) as caught:
        store.import_file("l", bad)
    assert caught.value.errors[0].line == 2
    assert snapshot(store.root) == before
    with pytest.raises(ListFormatError):
        store.import_file("new-list", bad)
    assert not store.exists("new-list")

    summary = store.import_file("l", bad, skip_invalid=True)
    assert summary.added == 2
    assert len(summary.errors) == 1
    assert store.info("l").counts == {"pdq": 7}


def random_hex(seed: int) -> str:
    return np.random.default_rng(seed).integers(0, 256, 32, dtype=np.uint8).tobytes().hex()


def brute_force(
    entries: np.ndarray, queries: np.ndarray, threshold: int
) -> list[set[tuple[str, int]]]:
    distances = hamming(queries, entries)
    return [
        {
            (entries[j].tobytes().hex(), int(distances[i, j]))
            for j in np.nonzero(row <= threshold)[0]
        }
        for i, row in enumerate(distances)
    ]


@pytest.mark.parametrize("threshold", [0, 12, 31, 45, 64])
def test_match_equals_brute_force(store: HashListStore, threshold: int) -> None:
    rng = np.random.default_rng(threshold)
    entries = random_codes(rng, 1500)
    queries = random_codes(rng, 60)
    # Plant neighbours of the queries at every distance 0..40 (and some of the entries too).
    planted = [flip_bits(rng, queries[i % 60], d) for i, d in enumerate(range(41))]
    entries = np.concatenate([entries, np.array(planted)])
    queries = np.concatenate([queries, entries[:20]])
    store.create_list("big")
    store.add_entries(
        "big", [Entry("pdq", c.tobytes().hex(), f"e{i}") for i, c in enumerate(entries)]
    )
    variants = [QueryHash("original", q.tobytes().hex(), 100) for q in queries]
    found = store.match(variants, lists=["big"], threshold=threshold)
    expected = brute_force(entries, queries, threshold)
    for got, want in zip(found, expected, strict=True):
        assert {(m.hash, m.distance) for m in got} == want
        assert all(m.transform == "original" and m.list == "big" for m in got)
        assert [m.distance for m in got] == sorted(m.distance for m in got)


def test_exact_hashes_and_labels(store: HashListStore) -> None:
    store.create_list("x", source="hotline")
    store.add_entries(
        "x",
        [
            Entry("md5", MD5, "known", "1"),
            Entry("sha1", SHA1, None, "2"),
            Entry("sha256", SHA256, "s"),
        ],
    )
    found = store.match([Entry("md5", MD5), Entry("sha1", SHA1), Entry("sha256", SHA256),
                         Entry("md5", "0" * 32), Entry("sha256", MD5 * 2)])  # fmt: skip
    assert [(m.hash_type, m.hash, m.label, m.category, m.distance) for m in found[0]] == [
        ("md5", MD5, "known", "1", 0)
    ]
    assert found[1][0].category == "2"
    assert found[2][0].label == "s"
    assert found[3] == [] and found[4] == []


def test_low_quality_is_not_matched(store: HashListStore) -> None:
    code = random_hex(1)
    store.create_list("q")
    store.add_entries("q", [Entry("pdq", code)])
    found = store.match(
        [QueryHash("original", code, 49), QueryHash("original", code, 50), Entry("pdq", code)]
    )
    assert [len(f) for f in found] == [0, 1, 1]


def test_threshold_limits(store: HashListStore) -> None:
    store.create_list("t")
    with pytest.raises(ValueError, match="between 0 and 64"):
        store.match([Entry("pdq", random_hex(1))], threshold=65)


def test_names_and_unknown_lists(store: HashListStore) -> None:
    with pytest.raises(StoreError, match="invalid list name"):
        store.create_list("../evil")
    with pytest.raises(UnknownList):
        store.info("missing")
    with pytest.raises(UnknownList):
        store.match([Entry("md5", MD5)], lists=["missing"])
    with pytest.raises(UnknownList):
        store.add_entries("missing", [Entry("md5", MD5)])
    store.create_list("a")
    with pytest.raises(StoreError, match="already exists"):
        store.create_list("a")


def test_remove_list(store: HashListStore, store_root: Path) -> None:
    store.create_list("gone")
    store.add_entries("gone", [Entry("md5", MD5)])
    other = HashListStore(store_root)
    assert other.match([Entry("md5", MD5)])[0]
    store.remove_list("gone")
    assert store.lists() == []
    with pytest.raises(UnknownList):
        other.match([Entry("md5", MD5)], lists=["gone"])
    assert other.match([Entry("md5", MD5)]) == [[]]
    with pytest.raises(UnknownList):
        store.remove_list("gone")


def test_additions_seen_by_other_instances_at_once(store_root: Path) -> None:
    writer = HashListStore(store_root)
    reader = HashListStore(store_root)
    writer.create_list("live")
    codes = [random_hex(i) for i in range(3)]
    assert reader.match([Entry("pdq", codes[0])], lists=["live"]) == [[]]
    for code in codes:
        writer.add_entries("live", [Entry("pdq", code, "new")])
        assert reader.match([Entry("pdq", code)], lists=["live"])[0][0].label == "new"
    # The reader's own additions are seen by the writer as well.
    reader.add_entries("live", [Entry("md5", MD5)])
    assert writer.match([Entry("md5", MD5)])[0][0].list == "live"


def test_reopen_uses_saved_index_plus_newer_segments(store_root: Path, tmp_path: Path) -> None:
    first = HashListStore(store_root)
    path = tmp_path / "l.txt"
    path.write_text("".join(f"{random_hex(i)}\n" for i in range(50)))
    first.import_file("p", path)  # saves the index
    first.add_entries("p", [Entry("pdq", random_hex(100))])  # only a segment
    meta = json.loads((store_root / "lists" / "p" / "meta.json").read_text())
    assert meta["index_rows"]["pdq"] == 50 and meta["rows"]["pdq"] == 51
    second = HashListStore(store_root)
    found = second.match([Entry("pdq", random_hex(0)), Entry("pdq", random_hex(100))])
    assert [len(f) for f in found] == [1, 1]


def test_crash_before_commit_leaves_list_unchanged(
    store_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import opschub.matching.store as store_module

    store = HashListStore(store_root)
    path = tmp_path / "a.txt"
    path.write_text("".join(f"{random_hex(i)}\n" for i in range(10)))
    store.import_file("c", path)
    original_write = store_module._atomic_write_text

    def crash(target: Path, text: str) -> None:
        if target.name == "meta.json":
            raise OSError("disk full")
        original_write(target, text)

    monkeypatch.setattr(store_module, "_atomic_write_text", crash)
    more = tmp_path / "b.txt"
    more.write_text("".join(f"{random_hex(i)}\n" for i in range(10, 30)))
    with pytest.raises(OSError, match="disk full"):
        store.import_file("c", more)  # index saved with 30 rows, meta.json not committed
    monkeypatch.setattr(store_module, "_atomic_write_text", original_write)

    fresh = HashListStore(store_root)
    assert fresh.info("c").counts == {"pdq": 10}
    assert fresh.match([Entry("pdq", random_hex(20))]) == [[]]
    assert store.match([Entry("pdq", random_hex(20))]) == [[]]
    # Writing again repairs the index: the new rows get the uncommitted ids.
    other = tmp_path / "c.txt"
    other.write_text(f"{random_hex(500)}\n")
    store.import_file("c", other)
    fresh2 = HashListStore(store_root)
    hits = fresh2.match([Entry("pdq", random_hex(500)), Entry("pdq", random_hex(20))])
    assert len(hits[0]) == 1 and hits[0][0].hash == random_hex(500)
    assert hits[1] == []
    assert fresh.match([Entry("pdq", random_hex(500))])[0][0].distance == 0


def test_export_round_trip(store: HashListStore, tmp_path: Path) -> None:
    store.create_list("e")
    entries = [
        Entry("pdq", random_hex(1), "a", "x"),
        Entry("md5", MD5, None, "1"),
        Entry("sha256", SHA256, "b"),
    ]
    store.add_entries("e", entries)
    out = io.StringIO()
    assert store.export("e", out, format="jsonl") == 3
    path = tmp_path / "e.jsonl"
    path.write_text(out.getvalue())
    assert sorted(parse_file(path).entries, key=str) == sorted(entries, key=str)


WRITER = """
import sys
from pathlib import Path
from opschub.matching.store import HashListStore
from opschub.matching.formats import Entry
store = HashListStore(Path(sys.argv[1]))
start = int(sys.argv[2])
for i in range(start, start + 20):
    store.add_entries("shared", [Entry("md5", f"{i:032x}", f"w{start}")])
"""


def test_concurrent_writers_in_processes(store_root: Path) -> None:
    store = HashListStore(store_root)
    store.create_list("shared")
    assert store.match([Entry("md5", f"{5:032x}")]) == [[]]
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(store_root), str(start)])
        for start in (0, 1000)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert store.info("shared").counts == {"md5": 40}
    found = store.match([Entry("md5", f"{i:032x}") for i in (5, 1005, 99)])
    assert [m[0].label if m else None for m in found] == ["w0", "w1000", None]


def test_interleaved_saves_by_two_writers(store_root: Path, tmp_path: Path) -> None:
    """Each writer saves on top of the other's files; a fresh reader sees everything."""
    rng = np.random.default_rng(9)
    batches = [random_codes(rng, 3000) for _ in range(4)]
    files = []
    for i, codes in enumerate(batches):
        path = tmp_path / f"b{i}.txt"
        path.write_text("".join(c.tobytes().hex() + "\n" for c in codes))
        files.append(path)
    first, second = HashListStore(store_root), HashListStore(store_root)
    first.import_file("w", files[0])
    assert second.info("w").counts == {"pdq": 3000}
    second.match([Entry("pdq", batches[0][0].tobytes().hex())])  # second opens the saved index
    second.import_file("w", files[1])  # saves, may merge and delete the files first read
    first.import_file("w", files[2])
    second.import_file("w", files[3])
    for reader in (HashListStore(store_root), first, second):
        assert reader.info("w").counts == {"pdq": 12000}
        queries = [Entry("pdq", b[j].tobytes().hex()) for b in batches for j in (0, 2999)]
        assert all(len(found) == 1 for found in reader.match(queries, threshold=0))


def test_many_small_additions_are_compacted(
    store_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import opschub.matching.store as store_module

    monkeypatch.setattr(store_module, "COMPACT_AFTER_SEGMENTS", 5)
    monkeypatch.setattr(store_module, "SAVE_INDEX_AFTER_SEGMENTS", 3)
    writer, reader = HashListStore(store_root), HashListStore(store_root)
    writer.create_list("s")
    added = []
    for i in range(20):
        entry = (
            Entry("pdq", random_hex(i), f"label-{i % 3}")
            if i % 4
            else Entry("md5", f"{i:032x}", "exact")
        )
        writer.add_entries("s", [entry])
        added.append(entry)
        # The reader sees every addition at once, across merges.
        assert reader.match([Entry(entry.hash_type, entry.hash)])[0][0].label == entry.label
    meta = json.loads((store_root / "lists" / "s" / "meta.json").read_text())
    assert len(meta["segments"]) <= 6
    assert len(list((store_root / "lists" / "s").glob("seg-*.labels.json"))) == len(
        meta["segments"]
    )
    for store in (writer, reader, HashListStore(store_root)):
        assert store.info("s").counts == {"pdq": 15, "md5": 5}
        assert list(store.entries("s")) == [e for e in added if e.hash_type == "pdq"] + [
            e for e in added if e.hash_type == "md5"
        ]
        found = store.match([Entry(e.hash_type, e.hash) for e in added], threshold=0)
        assert [f[0].label for f in found] == [e.label for e in added]
