"""Hash list file formats: parse whole files into entries, export entries back.

Formats (see docs/matching.md):

- ``lines``: one hex hash a line; the hash type is an option (default ``pdq``) because a
  64-digit line may be a PDQ hash or a SHA-256 and nothing in the line tells which.
- ``csv``: a header naming at least ``hash_type`` and ``hash``; ``label`` and ``category``
  are optional, other columns are ignored.
- ``tx-csv``: the ThreatExchange CSV (``signal_type,signal_str,collab,category,tags``, any
  column order), as ``threatexchange dataset -P --csv`` writes it.
- ``vics``: Project VIC / VICS JSON, an OData document whose ``value`` holds Media records
  (or, in VICS 1.x, Cases holding ``Media``) with ``MD5``/``SHA1`` and ``Category``.
- ``jsonl``: one JSON object a line with ``hash_type``, ``hash`` and optional ``label``,
  ``category``.

Parsing never stops at the first bad line: every problem is collected with its file, line (or
JSON item) and reason, so an operator can fix a file in one pass. This module has no heavy
imports; it is used by the command line before numpy is loaded.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TextIO, cast

HashType = Literal["pdq", "sha256", "md5", "sha1"]
HASH_TYPES: tuple[HashType, ...] = ("pdq", "sha256", "md5", "sha1")
HEX_DIGITS: dict[str, int] = {"pdq": 64, "sha256": 64, "md5": 32, "sha1": 40}
FORMATS = ("lines", "csv", "tx-csv", "vics", "jsonl")

# ThreatExchange signal type names that carry one of our hash types.
TX_SIGNAL_TYPES: dict[str, HashType] = {
    "pdq": "pdq",
    "photo_pdq": "pdq",
    "md5": "md5",
    "photo_md5": "md5",
    "video_md5": "md5",
    "sha256": "sha256",
    "photo_sha256": "sha256",
    "sha1": "sha1",
}
# Opinions that say a signal is not what the collaboration looks for: not matched against.
TX_SKIPPED_CATEGORIES = frozenset({"FALSE_POSITIVE"})
VICS_CONTEXT = (
    "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media"
)

_HEX_CHARS = "0123456789abcdef"
_ALIASES = {"sha-256": "sha256", "sha-1": "sha1", "md-5": "md5", "pdqhash": "pdq"}


@dataclass(frozen=True, slots=True)
class Entry:
    """One hash of a list (or a query): hash type, lowercase hex, and what it is."""

    hash_type: HashType
    hash: str
    label: str | None = None
    category: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "hash_type": self.hash_type,
            "hash": self.hash,
            "label": self.label,
            "category": self.category,
        }


@dataclass(frozen=True, slots=True)
class ParseError:
    """A line or item of a list file that could not be read."""

    file: str
    line: int | None  # 1-based; None for JSON documents (see ``item``)
    reason: str
    item: str | None = None  # e.g. ``value[12]`` in a VICS document

    def __str__(self) -> str:
        where = [f"line {self.line}"] if self.line is not None else []
        if self.item:
            where.append(self.item)
        return f"{self.file}: {' '.join(where) or 'file'}: {self.reason}"

    def to_json(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "item": self.item, "reason": self.reason}


MAX_ERRORS_KEPT = 1000  # a file in the wrong format has an error on every line: count the rest


@dataclass
class ParseResult:
    entries: list[Entry] = field(default_factory=list)
    errors: list[ParseError] = field(default_factory=list)  # the first MAX_ERRORS_KEPT
    invalid: int = 0  # all invalid lines
    skipped: int = 0  # rows deliberately not imported (e.g. ThreatExchange false positives)
    format: str = ""

    def add_error(self, error: ParseError) -> None:
        self.invalid += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(error)


class ListFormatError(ValueError):
    """A list file has invalid lines; nothing was imported. ``errors`` holds the first ones
    (up to MAX_ERRORS_KEPT), ``invalid`` counts them all."""

    def __init__(self, errors: list[ParseError], invalid: int | None = None) -> None:
        self.errors = errors
        self.invalid = len(errors) if invalid is None else invalid
        first = str(errors[0]) if errors else "invalid list file"
        more = f" (and {self.invalid - 1} more)" if self.invalid > 1 else ""
        super().__init__(first + more)


class InvalidHash(ValueError):
    """A hash value or hash type is malformed; the message is the reason."""


def normalize_hash_type(value: str) -> HashType:
    key = value.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in HEX_DIGITS:
        raise InvalidHash(
            f"unknown hash type {value.strip()!r} (expected one of {', '.join(HASH_TYPES)})"
        )
    return cast(HashType, key)


def normalize_hash(hash_type: str, value: str) -> str:
    """Lowercase hex of the right length for ``hash_type``, or InvalidHash with the reason."""
    text = value.strip().lower()
    if not text:
        raise InvalidHash("empty hash")
    if text.strip(_HEX_CHARS):  # str.strip runs in C: far faster than a regex per line
        bad = next(ch for ch in text if ch not in _HEX_CHARS)
        raise InvalidHash(f"malformed hex: {bad!r} is not a hex digit in {value.strip()!r}")
    want = HEX_DIGITS[hash_type]
    if len(text) != want:
        raise InvalidHash(f"wrong length for {hash_type}: {len(text)} hex digits, expected {want}")
    return text


def make_entry(
    hash_type: str, value: str, label: str | None = None, category: str | None = None
) -> Entry:
    """A validated Entry; raises InvalidHash with the reason."""
    kind = normalize_hash_type(hash_type)
    return Entry(kind, normalize_hash(kind, value), _clean(label), _clean(category))


def _clean(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def detect_format(path: Path, head: str) -> str:
    """Guess a file's format from its name and first characters."""
    suffix = path.suffix.lower()
    stripped = head.lstrip("\ufeff \t\r\n")
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".json" or (stripped.startswith("{") and '"value"' in head):
        return "vics"
    if stripped.startswith("{"):
        return "jsonl"
    first_line = stripped.splitlines()[0].lower() if stripped else ""
    if "signal_type" in first_line and "signal_str" in first_line:
        return "tx-csv"
    if suffix in (".csv", ".tsv") or "," in first_line:
        return "csv"
    return "lines"


def parse_file(
    path: str | Path,
    format: str | None = None,
    *,
    hash_type: str = "pdq",
    label: str | None = None,
) -> ParseResult:
    """Read a whole list file. ``label`` overrides the file's labels; ``hash_type`` is for
    ``lines``. Errors are collected in the result, never raised (except unreadable files)."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise OSError(f"{file}: cannot read: {exc.strerror or exc}") from exc
    name = str(file)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        result = ParseResult()
        result.add_error(ParseError(name, line, "not UTF-8 text"))
        return result
    fmt = format or detect_format(file, text[:4096])
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")
    if fmt == "lines":
        result = parse_lines(text, name, hash_type=hash_type)
    elif fmt == "csv":
        result = parse_csv(text, name)
    elif fmt == "tx-csv":
        result = parse_tx_csv(text, name)
    elif fmt == "vics":
        result = parse_vics(text, name)
    else:
        result = parse_jsonl(text, name)
    result.format = fmt
    if label is not None:
        result.entries = [
            Entry(e.hash_type, e.hash, _clean(label), e.category) for e in result.entries
        ]
    return result


def parse_lines(text: str, name: str, *, hash_type: str = "pdq") -> ParseResult:
    """One hash a line; blank lines and ``#`` comments are ignored."""
    result = ParseResult()
    try:
        kind = normalize_hash_type(hash_type)
    except InvalidHash as exc:
        result.add_error(ParseError(name, None, str(exc)))
        return result
    for number, line in enumerate(text.splitlines(), 1):
        value = line.strip()
        if not value or value.startswith("#"):
            continue
        if "," in value or "\t" in value or " " in value:
            result.add_error(
                ParseError(name, number, "more than one field: the lines format is one hash a line")
            )
            continue
        try:
            result.entries.append(Entry(kind, normalize_hash(kind, value)))
        except InvalidHash as exc:
            result.add_error(ParseError(name, number, str(exc)))
    return result


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """CSV records with the line number each starts on (quoted fields may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    for row in reader:
        yield start, row
        start = reader.line_num + 1


def _header(
    rows: Iterator[tuple[int, list[str]]], name: str, required: tuple[str, ...], fmt: str
) -> tuple[dict[str, int] | None, list[ParseError]]:
    for number, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        columns = {cell.strip().lower(): i for i, cell in enumerate(row)}
        missing = [col for col in required if col not in columns]
        if missing:
            found = ",".join(cell.strip() for cell in row)[:120]
            return None, [
                ParseError(
                    name,
                    number,
                    f"not a {fmt} file: the header needs columns {', '.join(required)}; "
                    f"missing {', '.join(missing)} (found: {found})",
                )
            ]
        return columns, []
    return None, [ParseError(name, 1, f"empty file: a {fmt} file needs a header line")]


def _cell(row: list[str], columns: dict[str, int], key: str) -> str | None:
    index = columns.get(key)
    if index is None or index >= len(row):
        return None
    return row[index]


def parse_csv(text: str, name: str) -> ParseResult:
    result = ParseResult()
    rows = _csv_rows(text)
    columns, errors = _header(rows, name, ("hash_type", "hash"), "csv")
    if columns is None:
        for error in errors:
            result.add_error(error)
        return result
    width = len(columns)
    for number, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < min(width, max(columns["hash_type"], columns["hash"]) + 1):
            result.add_error(ParseError(name, number, f"{len(row)} fields, the header has {width}"))
            continue
        try:
            result.entries.append(
                make_entry(
                    _cell(row, columns, "hash_type") or "",
                    _cell(row, columns, "hash") or "",
                    _cell(row, columns, "label"),
                    _cell(row, columns, "category"),
                )
            )
        except InvalidHash as exc:
            result.add_error(ParseError(name, number, str(exc)))
    return result


def parse_tx_csv(text: str, name: str) -> ParseResult:
    result = ParseResult()
    rows = _csv_rows(text)
    columns, errors = _header(rows, name, ("signal_type", "signal_str"), "ThreatExchange CSV")
    if columns is None:
        for error in errors:
            result.add_error(error)
        return result
    for number, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        signal_type = (_cell(row, columns, "signal_type") or "").strip().lower()
        kind = TX_SIGNAL_TYPES.get(signal_type)
        if kind is None:
            result.add_error(
                ParseError(
                    name,
                    number,
                    f"unsupported signal type {signal_type!r} "
                    f"(supported: {', '.join(sorted(TX_SIGNAL_TYPES))})",
                )
            )
            continue
        category = _clean(_cell(row, columns, "category"))
        if category is not None and category.upper() in TX_SKIPPED_CATEGORIES:
            result.skipped += 1
            continue
        try:
            value = normalize_hash(kind, _cell(row, columns, "signal_str") or "")
        except InvalidHash as exc:
            result.add_error(ParseError(name, number, str(exc)))
            continue
        # Tags are space-separated in ThreatExchange exports; they become the label.
        result.entries.append(Entry(kind, value, _clean(_cell(row, columns, "tags")), category))
    return result


def _vics_media(doc: object, name: str, result: ParseResult) -> Iterator[tuple[str, object]]:
    """Media records of a VICS 2.0 (``value`` = Media) or 1.x (``value`` = Cases) document."""
    if not isinstance(doc, dict) or not isinstance(doc.get("value"), list):
        result.add_error(
            ParseError(name, None, 'not a VICS document: no top-level "value" list', "file")
        )
        return
    for i, item in enumerate(doc["value"]):
        if isinstance(item, dict) and isinstance(item.get("Media"), list):
            for j, media in enumerate(item["Media"]):
                yield f"value[{i}].Media[{j}]", media
        else:
            yield f"value[{i}]", item


def parse_vics(text: str, name: str) -> ParseResult:
    result = ParseResult()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        result.add_error(ParseError(name, exc.lineno, f"not valid JSON: {exc.msg}"))
        return result
    for where, media in _vics_media(doc, name, result):
        if not isinstance(media, dict):
            result.add_error(ParseError(name, None, "Media record is not an object", where))
            continue
        fields = {key.lower(): value for key, value in media.items()}
        category = fields.get("category")
        category_text = None if category is None else str(category)
        found = False
        for kind in ("md5", "sha1"):
            value = fields.get(kind)
            if value is None or value == "":
                continue
            found = True
            if not isinstance(value, str):
                result.add_error(ParseError(name, None, f"{kind.upper()} is not a string", where))
                continue
            try:
                result.entries.append(
                    Entry(cast(HashType, kind), normalize_hash(kind, value), None, category_text)
                )
            except InvalidHash as exc:
                result.add_error(ParseError(name, None, f"{kind.upper()}: {exc}", where))
        if not found:
            result.add_error(ParseError(name, None, "Media record has no MD5 or SHA1", where))
    if result.errors:
        lines = _vics_item_lines(text)
        result.errors = [
            ParseError(e.file, lines.get(e.item or ""), e.reason, e.item) for e in result.errors
        ]
    return result


_ARRAY_AT = {"value": re.compile(r'"value"\s*:\s*\['), "Media": re.compile(r'"Media"\s*:\s*\[')}


def _array_items(text: str, key: str, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) offsets of the elements of the first ``"key": [...]`` array in
    ``text[start:end]``; empty when it cannot be found."""
    found = _ARRAY_AT[key].search(text, start, end)
    if found is None:
        return []
    decoder = json.JSONDecoder()
    items: list[tuple[int, int]] = []
    pos = found.end()
    while True:
        while pos < end and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= end or text[pos] == "]":
            return items
        _, stop = decoder.raw_decode(text, pos)
        items.append((pos, stop))
        pos = stop


def _vics_item_lines(text: str) -> dict[str, int]:
    """Line numbers of the Media records (``value[i]`` / ``value[i].Media[j]``), found by
    walking the arrays again with offsets; only done for files that have errors."""
    out: dict[str, int] = {}
    try:
        for i, (start, stop) in enumerate(_array_items(text, "value", 0, len(text))):
            out[f"value[{i}]"] = text.count("\n", 0, start) + 1
            for j, (inner, _) in enumerate(_array_items(text, "Media", start, stop)):
                out[f"value[{i}].Media[{j}]"] = text.count("\n", 0, inner) + 1
    except ValueError:  # not the expected shape: errors keep their item names only
        return {}
    return out


def parse_jsonl(text: str, name: str) -> ParseResult:
    result = ParseResult()
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            result.add_error(ParseError(name, number, f"not valid JSON: {exc.msg}"))
            continue
        if not isinstance(obj, dict):
            result.add_error(ParseError(name, number, "not a JSON object"))
            continue
        missing = [key for key in ("hash_type", "hash") if not isinstance(obj.get(key), str)]
        if missing:
            result.add_error(
                ParseError(name, number, f"missing or non-string field {', '.join(missing)}")
            )
            continue
        try:
            result.entries.append(
                make_entry(obj["hash_type"], obj["hash"], obj.get("label"), obj.get("category"))
            )
        except InvalidHash as exc:
            result.add_error(ParseError(name, number, str(exc)))
    return result


# ---------------------------------------------------------------------------------------
# Export


class UnsupportedExport(ValueError):
    """The chosen format cannot hold the list's entries (e.g. PDQ in VICS)."""


def exportable(entries: Iterable[Entry], format: str) -> Iterator[Entry]:
    """The entries a format can hold (VICS holds MD5 and SHA-1 only)."""
    for entry in entries:
        if format == "vics" and entry.hash_type not in ("md5", "sha1"):
            continue
        yield entry


UNVERIFIED_TAG = "unverified"


def write_entries(
    entries: Iterable[Entry], out: TextIO, format: str = "jsonl", *, verified: bool = True
) -> int:
    """Write entries in ``format``; returns the number written. Entries that the format
    cannot hold are left out (the caller compares counts); ``lines`` needs one hash type.

    Entries of an unverified list (``verified`` False: hashes nobody has confirmed, such as
    anonymous self-reports) say so in every record, so that a partner never mistakes them for
    confirmed material: ``"verified": false`` in jsonl, a ``verified`` column of ``false`` in
    csv, the tag ``unverified`` in tx-csv. The ``lines`` and ``vics`` formats have no place for
    the marking and are refused for such lists.
    """
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r} (expected one of {', '.join(FORMATS)})")
    if not verified and format in ("lines", "vics"):
        raise UnsupportedExport(
            f"this list is unverified and the {format} format cannot mark its entries as "
            "unverified; use --format jsonl, csv or tx-csv"
        )
    count = 0
    if format == "lines":
        kinds: set[str] = set()
        for entry in entries:
            kinds.add(entry.hash_type)
            if len(kinds) > 1:
                raise UnsupportedExport(
                    "the lines format holds one hash type and this list has "
                    f"{' and '.join(sorted(kinds))}; use --format csv or jsonl"
                )
            out.write(entry.hash + "\n")
            count += 1
    elif format == "csv":
        writer = csv.writer(out, lineterminator="\n")
        marked = [] if verified else ["false"]
        writer.writerow(
            ["hash_type", "hash", "label", "category"] + (["verified"] if marked else [])
        )
        for entry in entries:
            writer.writerow(
                [entry.hash_type, entry.hash, entry.label or "", entry.category or "", *marked]
            )
            count += 1
    elif format == "tx-csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["signal_type", "signal_str", "collab", "category", "tags"])
        for entry in entries:
            tags = " ".join(t for t in (entry.label, None if verified else UNVERIFIED_TAG) if t)
            writer.writerow([entry.hash_type, entry.hash, "", entry.category or "", tags])
            count += 1
    elif format == "jsonl":
        for entry in entries:
            record = entry.to_json() if verified else {**entry.to_json(), "verified": False}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    else:
        count = _write_vics(entries, out)
    return count


def _write_vics(entries: Iterable[Entry], out: TextIO) -> int:
    """VICS 2.0 Media records; one record per hash (MD5 and SHA-1 are not paired up)."""
    out.write('{"@odata.context": ' + json.dumps(VICS_CONTEXT) + ', "value": [')
    count = 0
    for entry in exportable(entries, "vics"):
        category: int | str | None = entry.category
        if entry.category is not None and entry.category.isdigit():
            category = int(entry.category)
        media = {
            "MediaID": count + 1,
            "Category": category,
            entry.hash_type.upper(): entry.hash.upper(),
        }
        out.write(("\n  " if count == 0 else ",\n  ") + json.dumps(media, ensure_ascii=False))
        count += 1
    out.write("\n]}\n")
    return count
