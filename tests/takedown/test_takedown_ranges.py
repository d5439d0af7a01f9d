"""The range store: every address of a range is found, nothing outside it, and a bad file
changes nothing."""

from __future__ import annotations

import ipaddress
import random
from pathlib import Path

import pytest

from opschub.takedown.ranges import NetworkRecord, RangeFileError, RangeStore


def test_iptoasn_ranges_answer_at_their_edges_and_not_beyond(
    tmp_path: Path, hosting_files: dict[str, Path]
) -> None:
    store = RangeStore(tmp_path / "hosting")
    summary = store.load_file(hosting_files["iptoasn"], "iptoasn")
    assert (summary.v4, summary.v6, summary.skipped) == (2, 1, 1)
    hosting = NetworkRecord(64500, "DE", "EXAMPLE-HOSTING")
    assert store.lookup("192.0.2.0", "iptoasn") == hosting
    assert store.lookup("192.0.2.255", "iptoasn") == hosting
    assert store.lookup("192.0.1.255", "iptoasn") is None
    assert store.lookup("192.0.3.0", "iptoasn") is None
    # "Not routed" rows name no network.
    assert store.lookup("198.51.100.200", "iptoasn") is None
    v6 = NetworkRecord(64502, "JP", "EXAMPLE-V6")
    assert store.lookup("2001:db8::", "iptoasn") == v6
    assert store.lookup("2001:db8:0:ffff:ffff:ffff:ffff:ffff", "iptoasn") == v6
    assert store.lookup("2001:db8:1::", "iptoasn") is None
    assert store.lookup("2001:db7:ffff::", "iptoasn") is None


def test_batch_lookup_agrees_with_single_lookups_on_random_ranges(tmp_path: Path) -> None:
    rng = random.Random(7)
    lines, start = [], 1 << 24
    for n in range(2000):
        start += rng.randrange(1, 5000)
        end = start + rng.randrange(0, 3000)
        lines.append(
            f"{ipaddress.IPv4Address(start)}\t{ipaddress.IPv4Address(end)}\t{n + 1}\tUS\tN{n}"
        )
        start = end + 1
    path = tmp_path / "many.tsv"
    path.write_text("\n".join(reversed(lines)) + "\n")  # unsorted input is sorted on load
    store = RangeStore(tmp_path / "hosting")
    store.load_file(path, "iptoasn")
    probes = [str(ipaddress.IPv4Address(rng.randrange(1 << 24, start + 10))) for _ in range(3000)]
    probes += ["2001:db8::1"]
    single = [store.lookup(p, "iptoasn") for p in probes]
    assert store.lookup_many(probes, "iptoasn") == single
    assert sum(r is not None for r in single) > 1000  # the probes hit ranges and gaps


def test_rir_blocks_give_the_country_of_ipv4_counts_and_ipv6_prefixes(
    tmp_path: Path, hosting_files: dict[str, Path]
) -> None:
    store = RangeStore(tmp_path / "hosting")
    summary = store.load_file(hosting_files["rir"], "rir")
    assert (summary.v4, summary.v6) == (2, 1)
    assert store.lookup("203.0.113.255", "rir") == NetworkRecord(None, "FR", None)
    assert store.lookup("203.0.114.0", "rir") is None
    assert store.lookup("198.18.0.1", "rir") is None  # available, not delegated
    assert store.lookup("2001:db8:1:ffff::1", "rir") == NetworkRecord(None, "CH", None)
    assert store.lookup("2001:db8:2::", "rir") is None


def test_a_bad_file_names_line_and_field_and_keeps_the_loaded_data(
    tmp_path: Path, hosting_files: dict[str, Path]
) -> None:
    store = RangeStore(tmp_path / "hosting")
    store.load_file(hosting_files["iptoasn"], "iptoasn")
    bad = tmp_path / "bad.tsv"
    bad.write_text(
        "203.0.113.0\t203.0.113.255\t64999\tFR\tNEW\n"
        "10.0.0.x\t10.0.0.255\t64501\tUS\tX\n"
        "10.1.0.0\t10.1.0.255\tAS64501\tUS\tX\n"
        "10.2.0.0\t10.2.0.255\t64501\tUSA\tX\n"
        "10.3.0.9\t10.3.0.1\t64501\tUS\tX\n"
        "10.4.0.0\t10.4.0.255\n"
    )
    with pytest.raises(RangeFileError) as caught:
        store.load_file(bad, "iptoasn")
    messages = [str(e) for e in caught.value.errors]
    assert messages == [
        f"{bad}: line 2: range_start: '10.0.0.x' is not an IP address",
        f"{bad}: line 3: as_number: 'AS64501' is not an AS number",
        f"{bad}: line 4: country_code: 'USA' is not a two-letter country code",
        f"{bad}: line 5: range_end: 10.3.0.1 is before the start 10.3.0.9",
        f"{bad}: line 6: line: 2 tab-separated fields, expected 5",
    ]
    # all or nothing: the good first line was not loaded, the old data is still there
    assert store.lookup("203.0.113.1", "iptoasn") is None
    assert store.lookup("192.0.2.1", "iptoasn") == NetworkRecord(64500, "DE", "EXAMPLE-HOSTING")


def test_overlapping_ranges_are_refused_naming_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "overlap.tsv"
    path.write_text(
        "192.0.2.0\t192.0.2.127\t64500\tDE\tA\n"
        "203.0.113.0\t203.0.113.9\t64500\tDE\tA\n"
        "192.0.2.100\t192.0.2.200\t64501\tDE\tB\n"
    )
    with pytest.raises(RangeFileError) as caught:
        RangeStore(tmp_path / "hosting").load_file(path, "iptoasn")
    assert [str(e) for e in caught.value.errors] == [
        f"{path}: line 3: range_start: overlaps the range on line 1"
    ]


def test_a_new_load_replaces_the_previous_generation(
    tmp_path: Path, hosting_files: dict[str, Path]
) -> None:
    store = RangeStore(tmp_path / "hosting")
    first = store.load_file(hosting_files["iptoasn"], "iptoasn")
    replacement = tmp_path / "new.tsv"
    replacement.write_text("192.0.2.0\t192.0.2.255\t64599\tAT\tRENUMBERED\n")
    second = store.load_file(replacement, "iptoasn")
    assert store.lookup("192.0.2.9", "iptoasn") == NetworkRecord(64599, "AT", "RENUMBERED")
    assert store.lookup("2001:db8::1", "iptoasn") is None
    assert not (tmp_path / "hosting" / first.generation).exists()
    assert (tmp_path / "hosting" / second.generation).is_dir()


def test_names_in_any_script_and_unknown_fields_survive_the_store(tmp_path: Path) -> None:
    path = tmp_path / "names.tsv"
    path.write_text(
        "192.0.2.0\t192.0.2.9\t64500\tCN\t中国示例网络\n192.0.2.10\t192.0.2.19\t64501\tNone\t\n",
        encoding="utf-8",
    )
    store = RangeStore(tmp_path / "hosting")
    store.load_file(path, "iptoasn")
    assert store.lookup("192.0.2.3", "iptoasn") == NetworkRecord(64500, "CN", "中国示例网络")
    assert store.lookup("192.0.2.15", "iptoasn") == NetworkRecord(64501, None, None)
