"""Hash list formats: parsing with per-line errors, format detection, export round trips."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from opschub.matching.formats import (
    Entry,
    UnsupportedExport,
    detect_format,
    make_entry,
    parse_file,
    write_entries,
)

PDQ = "f8f8f0cce0f4e84d0e370a22028f67f0b36e2ed596623e1d33e6339c4e9c9b22"
PDQ2 = "b0a10efd71cc3f429413d48d0ffffe12e34e0e17ada952a9d29684210aa9e5af"
MD5 = "adebf3fa3c9be7f73825e1cb9e2dea09"
SHA1 = "2b037f69c566dfdb3a5a79e5360d085959bdde4c"
SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_lines_default_to_pdq_and_report_bad_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "list.txt",
        f"# comment\n{PDQ.upper()}\n\n{PDQ[:-1]}\n{PDQ[:-1]}g\n{PDQ2} extra\n",
    )
    result = parse_file(path, "lines")
    assert result.entries == [Entry("pdq", PDQ)]
    assert [(e.line, e.reason.split(":")[0]) for e in result.errors] == [
        (4, "wrong length for pdq"),
        (5, "malformed hex"),
        (6, "more than one field"),
    ]
    assert str(result.errors[0]).startswith(f"{path}: line 4: wrong length for pdq: 63 hex digits")


def test_lines_hash_type_option(tmp_path: Path) -> None:
    path = write(tmp_path, "sha.txt", f"{SHA256}\n")
    assert parse_file(path, "lines", hash_type="sha256").entries == [Entry("sha256", SHA256)]
    bad = parse_file(path, "lines", hash_type="md5")
    assert "expected 32" in bad.errors[0].reason
    unknown = parse_file(path, "lines", hash_type="crc32")
    assert "unknown hash type 'crc32'" in unknown.errors[0].reason


def test_csv_with_header_labels_and_errors(tmp_path: Path) -> None:
    text = (
        "id,hash_type,hash,label,category\n"
        f'1,pdq,{PDQ},"bridge, original",A1\n'
        f"2,MD5,{MD5.upper()},,\n"
        f"3,sha-1,{SHA1},x,\n"
        f"4,crc32,{MD5},,\n"
        f"5,sha256,{SHA256[:10]},,\n"
    )
    result = parse_file(write(tmp_path, "l.csv", text))
    assert result.format == "csv"
    assert result.entries == [
        Entry("pdq", PDQ, "bridge, original", "A1"),
        Entry("md5", MD5),
        Entry("sha1", SHA1, "x"),
    ]
    assert [e.line for e in result.errors] == [5, 6]
    assert "unknown hash type 'crc32'" in result.errors[0].reason
    assert "wrong length for sha256" in result.errors[1].reason


def test_csv_without_required_columns_is_the_wrong_format(tmp_path: Path) -> None:
    result = parse_file(write(tmp_path, "l.csv", f"hash,label\n{PDQ},a\n"), "csv")
    assert not result.entries
    assert result.errors[0].line == 1
    assert "missing hash_type" in result.errors[0].reason


@pytest.mark.parametrize(
    "header",
    ["signal_type,signal_str,collab,category,tags", "collab,signal_type,signal_str,category,tags"],
)
def test_threatexchange_csv(tmp_path: Path, header: str) -> None:
    rows = [
        {"signal_type": "pdq", "signal_str": PDQ, "collab": "Sample", "category": "TRUE_POSITIVE",
         "tags": "tag1 tag2"},
        {"signal_type": "video_md5", "signal_str": MD5, "collab": "Sample",
         "category": "INVESTIGATION_SEED", "tags": ""},
        {"signal_type": "pdq", "signal_str": PDQ2, "collab": "Sample",
         "category": "FALSE_POSITIVE", "tags": ""},
        {"signal_type": "url", "signal_str": "https://example.org/", "collab": "Sample",
         "category": "", "tags": ""},
    ]  # fmt: skip
    columns = header.split(",")
    text = header + "\n" + "".join(",".join(r[c] for c in columns) + "\n" for r in rows)
    result = parse_file(write(tmp_path, "tx.csv", text))
    assert result.format == "tx-csv"
    assert result.entries == [
        Entry("pdq", PDQ, "tag1 tag2", "TRUE_POSITIVE"),
        Entry("md5", MD5, None, "INVESTIGATION_SEED"),
    ]
    assert result.skipped == 1  # false positives are not imported
    assert result.errors[0].line == 5
    assert "unsupported signal type 'url'" in result.errors[0].reason


def test_vics_2_media_records(tmp_path: Path) -> None:
    doc = {
        "@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/"
        "Default/$metadata#Media",
        "value": [
            {"MediaID": 1, "Category": 1, "MD5": MD5.upper(), "SHA1": SHA1.upper(),
             "MediaSize": 2835, "IsPrecategorized": "false"},
            {"MediaID": 2, "Category": None, "MD5": "ZZ" + MD5[2:]},
            {"MediaID": 3, "Category": 2, "MediaSize": 1},
        ],
    }  # fmt: skip
    result = parse_file(write(tmp_path, "vics.json", json.dumps(doc, indent=2)))
    assert result.format == "vics"
    assert result.entries == [Entry("md5", MD5, None, "1"), Entry("sha1", SHA1, None, "1")]
    assert [(e.item, e.reason.split(":")[0]) for e in result.errors] == [
        ("value[1]", "MD5"),
        ("value[2]", "Media record has no MD5 or SHA1"),
    ]
    assert [e.line for e in result.errors] == [12, 17]  # where each record starts
    assert str(result.errors[0]).startswith(
        f"{tmp_path / 'vics.json'}: line 12 value[1]: MD5: malformed hex: 'z'"
    )


def test_vics_1_cases_holding_media(tmp_path: Path) -> None:
    doc = {
        "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Cases",
        "value": [{"CaseNumber": "x", "Media": [{"MediaID": 1, "Category": 3, "MD5": MD5}]}],
    }
    result = parse_file(write(tmp_path, "case.json", json.dumps(doc)), "vics")
    assert result.entries == [Entry("md5", MD5, None, "3")]
    assert not result.errors
    doc["value"][0]["Media"].append({"MediaID": 2, "SHA1": "12"})  # type: ignore[index]
    result = parse_file(write(tmp_path, "case.json", json.dumps(doc, indent=1)), "vics")
    assert [(e.line, e.item) for e in result.errors] == [(12, "value[0].Media[1]")]


def test_vics_broken_json_names_the_line(tmp_path: Path) -> None:
    result = parse_file(write(tmp_path, "v.json", '{\n "value": [\n  {"MD5": 1,}\n]}'), "vics")
    assert result.errors[0].line == 3
    assert "not valid JSON" in result.errors[0].reason
    other = parse_file(write(tmp_path, "o.json", '{"items": []}'), "vics")
    assert "not a VICS document" in other.errors[0].reason


def test_jsonl(tmp_path: Path) -> None:
    text = (
        json.dumps({"hash_type": "pdq", "hash": PDQ, "label": "a", "category": "c"})
        + "\n[1, 2]\n{bad json\n"
        + json.dumps({"hash": PDQ})
        + "\n"
        + json.dumps({"hash_type": "sha1", "hash": SHA1})
        + "\n"
    )
    result = parse_file(write(tmp_path, "l.jsonl", text))
    assert result.entries == [Entry("pdq", PDQ, "a", "c"), Entry("sha1", SHA1)]
    assert [e.line for e in result.errors] == [2, 3, 4]
    assert "missing or non-string field hash_type" in result.errors[2].reason


def test_label_option_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, "l.csv", f"hash_type,hash,label\npdq,{PDQ},old\n")
    assert parse_file(path, label="new").entries == [Entry("pdq", PDQ, "new")]


def test_not_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "l.txt"
    path.write_bytes(f"{PDQ}\n".encode() + b"\xff\xfe\n")
    result = parse_file(path, "lines")
    assert result.errors[0].line == 2
    assert "not UTF-8" in result.errors[0].reason


@pytest.mark.parametrize(
    ("name", "head", "expected"),
    [
        ("a.txt", PDQ, "lines"),
        ("a.csv", "hash_type,hash", "csv"),
        ("a.csv", "signal_type,signal_str,collab", "tx-csv"),
        ("a.json", '{"value": []}', "vics"),
        ("a.jsonl", '{"hash_type": "pdq"}', "jsonl"),
        ("a", '{"hash_type": "pdq"}', "jsonl"),
    ],
)
def test_detect_format(name: str, head: str, expected: str) -> None:
    assert detect_format(Path(name), head) == expected


ENTRIES = [
    make_entry("pdq", PDQ, 'bridge, "quoted"', "A1"),
    make_entry("md5", MD5, None, "1"),
    make_entry("sha1", SHA1, "x", None),
    make_entry("sha256", SHA256, "日本", None),
]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_round_trip(tmp_path: Path, fmt: str) -> None:
    out = io.StringIO()
    assert write_entries(ENTRIES, out, fmt) == len(ENTRIES)
    again = parse_file(write(tmp_path, f"x.{fmt}", out.getvalue()), fmt)
    assert not again.errors
    assert again.entries == ENTRIES


def test_export_tx_csv_round_trip(tmp_path: Path) -> None:
    out = io.StringIO()
    write_entries(ENTRIES, out, "tx-csv")
    again = parse_file(write(tmp_path, "x.csv", out.getvalue()))
    assert again.format == "tx-csv"
    assert again.entries == ENTRIES


def test_export_vics_holds_md5_and_sha1_only(tmp_path: Path) -> None:
    out = io.StringIO()
    assert write_entries(ENTRIES, out, "vics") == 2
    doc = json.loads(out.getvalue())
    assert doc["value"][0] == {"MediaID": 1, "Category": 1, "MD5": MD5.upper()}
    again = parse_file(write(tmp_path, "x.json", out.getvalue()))
    assert again.entries == [Entry("md5", MD5, None, "1"), Entry("sha1", SHA1)]


def test_export_lines_needs_one_hash_type() -> None:
    out = io.StringIO()
    assert write_entries([ENTRIES[0]], out, "lines") == 1
    assert out.getvalue() == PDQ + "\n"
    with pytest.raises(UnsupportedExport, match="one hash type"):
        write_entries(ENTRIES, io.StringIO(), "lines")


def test_every_kind_of_error_counts(tmp_path: Path) -> None:
    from opschub.matching.formats import MAX_ERRORS_KEPT

    wrong = write(tmp_path, "w.txt", "x\n" * (MAX_ERRORS_KEPT + 5))
    result = parse_file(wrong, "lines")
    assert result.invalid == MAX_ERRORS_KEPT + 5 and len(result.errors) == MAX_ERRORS_KEPT
    for fmt, text in [("csv", "a,b\n1,2\n"), ("tx-csv", ""), ("vics", "[]"), ("jsonl", "1\n")]:
        assert parse_file(write(tmp_path, f"x.{fmt}", text), fmt).invalid == 1, fmt
    binary = tmp_path / "b.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    assert parse_file(binary, "lines").invalid == 1
