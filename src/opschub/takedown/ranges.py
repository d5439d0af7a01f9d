"""IP range data an operator loads: parsing iptoasn TSV and RIR delegated-extended files, and
the on-disk range store that answers "which network holds this address" at millions of ranges.

The store keeps, per source (``iptoasn``, ``rir``) and per address family, three sorted numpy
arrays (range start, range end, record number) plus the distinct records (AS number,
country, AS name). A look-up is one binary search (``numpy.searchsorted``); the
arrays are memory-mapped, so opening a store with a million ranges costs milliseconds and the
pages are shared between worker processes; the records are arrays too, so nothing is read
up front. IPv4 addresses are ``uint32``; IPv6 addresses are
16 big-endian bytes (``S16``), whose byte order sorts like the numbers they stand for.

A load is all or nothing: every bad line is collected (file, line, field, reason) and nothing
changes unless the whole file is valid. A new generation is written into its own directory and
then published by atomically replacing a one-line pointer file, so readers never see half a
load. Nothing here touches the network.
"""

from __future__ import annotations

import bisect
import io
import os
import shutil
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np

from opschub.ids import new_id

Source = Literal["iptoasn", "rir"]
SOURCES: tuple[Source, ...] = ("iptoasn", "rir")
MAX_ERRORS_KEPT = 1000
_RIR_STATUSES = frozenset({"allocated", "assigned"})
RECORD_CACHE = 1_000_000  # built records kept per generation
POINTER_RECHECK = 1.0  # seconds a reader keeps a generation before looking for a newer one


@dataclass(frozen=True, slots=True)
class RangeError:
    """One bad line of a range file, named the way an operator fixes it."""

    file: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: line {self.line}: {self.field}: {self.reason}"

    def to_json(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "field": self.field, "reason": self.reason}


class RangeFileError(ValueError):
    """A range file has bad lines; nothing was loaded. ``errors`` holds the first
    MAX_ERRORS_KEPT, ``invalid`` counts them all."""

    def __init__(self, errors: list[RangeError], invalid: int) -> None:
        self.errors = errors
        self.invalid = invalid
        more = f" (and {invalid - 1} more)" if invalid > 1 else ""
        super().__init__(f"{errors[0]}{more}" if errors else "invalid range file")


@dataclass(frozen=True, slots=True)
class NetworkRecord:
    """What a range says about its addresses; any part may be unknown."""

    asn: int | None
    country: str | None
    as_name: str | None


@dataclass
class ParsedRanges:
    """Ranges read from one file, not yet sorted or checked for overlaps."""

    file: str
    v4: list[tuple[int, int, int, int]] = field(default_factory=list)  # start, end, rec, line
    v6: list[tuple[bytes, bytes, int, int]] = field(default_factory=list)
    records: list[NetworkRecord] = field(default_factory=list)
    errors: list[RangeError] = field(default_factory=list)
    invalid: int = 0
    skipped: int = 0  # valid lines that carry nothing to store (not routed, unassigned)
    _index: dict[NetworkRecord, int] = field(default_factory=dict)

    def error(self, line: int, field_name: str, reason: str) -> None:
        self.invalid += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(RangeError(self.file, line, field_name, reason))

    def record(self, rec: NetworkRecord) -> int:
        number = self._index.get(rec)
        if number is None:
            number = self._index[rec] = len(self.records)
            self.records.append(rec)
        return number


def _address(text: str) -> tuple[int, bytes] | None:
    """(family 4 or 6, packed big-endian bytes) of an address, or None if it is not one."""
    text = text.strip()
    for family, version in ((socket.AF_INET, 4), (socket.AF_INET6, 6)):
        try:
            return version, socket.inet_pton(family, text)
        except (OSError, ValueError):
            continue
    return None


def _country(text: str) -> str | None:
    code = text.strip().upper()
    if code in ("", "NONE", "ZZ", "--"):
        return None
    return code


def _add_range(
    parsed: ParsedRanges, line: int, start: bytes, end: bytes, version: int, rec: int
) -> None:
    if version == 4:
        parsed.v4.append((int.from_bytes(start, "big"), int.from_bytes(end, "big"), rec, line))
    else:
        parsed.v6.append((start, end, rec, line))


def parse_iptoasn(lines: Iterable[str], file: str) -> ParsedRanges:
    """iptoasn TSV: range start, range end, AS number, country code, AS description.

    Rows with AS number 0 ("Not routed") are valid and skipped: they name no network."""
    parsed = ParsedRanges(file)
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) < 5:
            parsed.error(number, "line", f"{len(cols)} tab-separated fields, expected 5")
            continue
        start, end = _address(cols[0]), _address(cols[1])
        ok = True
        if start is None:
            parsed.error(number, "range_start", f"{cols[0]!r} is not an IP address")
            ok = False
        if end is None:
            parsed.error(number, "range_end", f"{cols[1]!r} is not an IP address")
            ok = False
        asn_text = cols[2].strip()
        if not asn_text.isdigit() or int(asn_text) > 0xFFFFFFFF:
            parsed.error(number, "as_number", f"{cols[2]!r} is not an AS number")
            ok = False
        country = cols[3].strip()
        if _country(country) is not None and not (len(country) == 2 and country.isalpha()):
            parsed.error(number, "country_code", f"{country!r} is not a two-letter country code")
            ok = False
        if not ok:
            continue
        assert start is not None and end is not None
        if start[0] != end[0]:
            parsed.error(number, "range_end", "start and end are of different address families")
            continue
        if end[1] < start[1]:
            parsed.error(number, "range_end", f"{cols[1]} is before the start {cols[0]}")
            continue
        asn = int(asn_text)
        if asn == 0:
            parsed.skipped += 1
            continue
        rec = parsed.record(NetworkRecord(asn, _country(country), cols[4].strip() or None))
        _add_range(parsed, number, start[1], end[1], start[0], rec)
    return parsed


def parse_rir(lines: Iterable[str], file: str) -> ParsedRanges:
    """RIR delegated(-extended) statistics: ``registry|cc|type|start|value|date|status[|...]``.

    For ``ipv4`` the value is a number of addresses, for ``ipv6`` a prefix length. Only
    allocated and assigned blocks are stored (they carry the country); the version line,
    summary lines, ``asn`` lines and available/reserved blocks are skipped."""
    parsed = ParsedRanges(file)
    seen_version = False
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        cols = line.split("|")
        if not seen_version and cols[0][:1].isdigit():
            seen_version = True  # "2|ripencc|20240101|..." header
            continue
        if len(cols) >= 6 and cols[-1] == "summary":
            continue
        if len(cols) < 7:
            parsed.error(number, "line", f"{len(cols)} |-separated fields, expected at least 7")
            continue
        kind, status = cols[2].strip(), cols[6].strip().lower()
        if kind == "asn" or status not in _RIR_STATUSES:
            parsed.skipped += 1
            continue
        if kind not in ("ipv4", "ipv6"):
            parsed.error(number, "type", f"{kind!r} is not ipv4, ipv6 or asn")
            continue
        start = _address(cols[3])
        if start is None or start[0] != int(kind[-1]):
            parsed.error(number, "start", f"{cols[3]!r} is not an {kind} address")
            continue
        value = cols[4].strip()
        if not value.isdigit():
            parsed.error(number, "value", f"{cols[4]!r} is not a number")
            continue
        begin = int.from_bytes(start[1], "big")
        bits = 32 if kind == "ipv4" else 128
        if kind == "ipv4":
            count = int(value)
            if count < 1 or begin + count > 1 << 32:
                parsed.error(number, "value", f"{count} addresses from {cols[3]} run past the end")
                continue
            last = begin + count - 1
        else:
            prefix = int(value)
            if not 0 <= prefix <= 128:
                parsed.error(number, "value", f"prefix length {prefix} is not 0-128")
                continue
            last = begin | ((1 << (128 - prefix)) - 1)
        country = _country(cols[1])
        if country is not None and not (len(country) == 2 and country.isalpha()):
            parsed.error(number, "cc", f"{cols[1]!r} is not a two-letter country code")
            continue
        rec = parsed.record(NetworkRecord(None, country, None))
        _add_range(parsed, number, start[1], last.to_bytes(bits // 8, "big"), start[0], rec)
    return parsed


PARSERS: dict[str, Callable[[Iterable[str], str], ParsedRanges]] = {
    "iptoasn": parse_iptoasn,
    "rir": parse_rir,
}


@dataclass(frozen=True)
class LoadSummary:
    source: str
    file: str
    v4: int
    v6: int
    records: int
    skipped: int
    generation: str

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "file": self.file,
            "ipv4_ranges": self.v4,
            "ipv6_ranges": self.v6,
            "networks": self.records,
            "skipped": self.skipped,
            "generation": self.generation,
        }


def _sorted_arrays(
    parsed: ParsedRanges, rows: Sequence[tuple[Any, Any, int, int]], dtype: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sort by start and refuse overlapping ranges (a look-up must have one answer)."""
    starts = np.array([r[0] for r in rows], dtype=dtype)
    ends = np.array([r[1] for r in rows], dtype=dtype)
    recs = np.array([r[2] for r in rows], dtype=np.uint32)
    order = np.argsort(starts, kind="stable")
    starts, ends, recs = starts[order], ends[order], recs[order]
    if len(starts) > 1:
        overlaps = np.flatnonzero(starts[1:] <= ends[:-1])
        for i in overlaps[:MAX_ERRORS_KEPT].tolist():
            first, second = rows[int(order[i])][3], rows[int(order[i + 1])][3]
            parsed.error(second, "range_start", f"overlaps the range on line {first}")
        parsed.invalid += max(0, len(overlaps) - MAX_ERRORS_KEPT)
    return starts, ends, recs


class RangeStore:
    """The loaded ranges under ``directory`` (normally ``$OPSCHUB_DATA_DIR/hosting``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._open: dict[str, tuple[str, _Generation, float]] = {}

    # -- loading ----------------------------------------------------------------------------

    def load_file(
        self,
        path: Path,
        source: Source,
        *,
        on_progress: Callable[[int], None] | None = None,
    ) -> LoadSummary:
        """Parse ``path`` whole; raise RangeFileError (nothing changed) or publish it as the
        new generation of ``source``, replacing the previous one."""
        with path.open("r", encoding="utf-8", errors="strict", newline="") as handle:
            lines = _counting(handle, on_progress)
            try:
                parsed = PARSERS[source](lines, str(path))
            except UnicodeDecodeError as exc:
                raise RangeFileError(
                    [RangeError(str(path), 0, "file", f"not UTF-8 text ({exc.reason})")], 1
                ) from None
        v4 = _sorted_arrays(parsed, parsed.v4, "uint32")
        v6 = _sorted_arrays(parsed, parsed.v6, "S16")
        if parsed.invalid:
            raise RangeFileError(sorted(parsed.errors, key=lambda e: e.line), parsed.invalid)
        if not parsed.v4 and not parsed.v6:
            raise RangeFileError(
                [RangeError(str(path), 0, "file", f"no {source} ranges in the file")], 1
            )
        generation = self._write(source, v4, v6, parsed.records)
        return LoadSummary(
            source,
            str(path),
            len(parsed.v4),
            len(parsed.v6),
            len(parsed.records),
            parsed.skipped,
            generation,
        )

    def _write(
        self,
        source: str,
        v4: tuple[np.ndarray, np.ndarray, np.ndarray],
        v6: tuple[np.ndarray, np.ndarray, np.ndarray],
        records: list[NetworkRecord],
    ) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        generation = f"{source}-{new_id()}"
        target = self.directory / generation
        target.mkdir()
        for family, arrays in (("v4", v4), ("v6", v6)):
            for name, array in zip(("start", "end", "rec"), arrays, strict=True):
                np.save(target / f"{family}_{name}.npy", array)
        # Records as arrays too, so that opening a generation reads nothing up front:
        # AS numbers (0 = unknown), two-letter countries and AS names in one UTF-8 blob.
        names = [(r.as_name or "").encode() for r in records]
        np.save(target / "rec_asn.npy", np.array([r.asn or 0 for r in records], dtype=np.uint32))
        np.save(
            target / "rec_country.npy",
            np.array([(r.country or "").encode() for r in records], dtype="S2"),
        )
        offsets = np.zeros(len(names) + 1, dtype=np.uint64)
        np.cumsum([len(n) for n in names], out=offsets[1:])
        np.save(target / "rec_name_offsets.npy", offsets)
        np.save(target / "rec_names.npy", np.frombuffer(b"".join(names) or b"\0", dtype=np.uint8))
        pointer = self.directory / f"{source}.current"
        previous = pointer.read_text().strip() if pointer.exists() else None
        tmp = self.directory / f".{source}.current.{generation}"
        tmp.write_text(generation + "\n")
        os.replace(tmp, pointer)  # the moment the new data becomes visible
        self._open.pop(source, None)
        if previous and previous != generation:
            # A reader that opened the old generation keeps its memory maps; on POSIX the
            # files stay readable until they are closed.
            shutil.rmtree(self.directory / previous, ignore_errors=True)
        return generation

    # -- reading ----------------------------------------------------------------------------

    def sources(self) -> list[str]:
        return [s for s in SOURCES if (self.directory / f"{s}.current").exists()]

    def _generation(self, source: str) -> _Generation | None:
        """The published generation, re-reading the pointer file at most every
        POINTER_RECHECK seconds: a look-up must not cost a file read."""
        now = time.monotonic()
        cached = self._open.get(source)
        if cached and now - cached[2] < POINTER_RECHECK:
            return cached[1]
        pointer = self.directory / f"{source}.current"
        try:
            name = pointer.read_text().strip()
        except FileNotFoundError:
            self._open.pop(source, None)
            return None
        if cached and cached[0] == name:
            self._open[source] = (name, cached[1], now)
            return cached[1]
        generation = _Generation(self.directory / name)
        self._open[source] = (name, generation, now)
        return generation

    def lookup(self, address: str | bytes, source: str) -> NetworkRecord | None:
        """The record of the range of ``source`` that holds ``address`` (text or packed)."""
        generation = self._generation(source)
        if generation is None:
            return None
        packed = address if isinstance(address, bytes) else _packed(address)
        return generation.lookup(packed)

    def lookup_many(self, addresses: Sequence[str], source: str) -> list[NetworkRecord | None]:
        """Vectorised look-up: one ``searchsorted`` per address family for the whole batch."""
        generation = self._generation(source)
        if generation is None:
            return [None] * len(addresses)
        return generation.lookup_many([_packed(a) for a in addresses])


def _packed(address: str) -> bytes:
    found = _address(address)
    if found is None:
        raise ValueError(f"{address!r} is not an IP address")
    return found[1]


class _Generation:
    """One published generation, memory-mapped."""

    def __init__(self, path: Path) -> None:
        def arr(name: str) -> np.ndarray:
            return np.load(path / f"{name}.npy", mmap_mode="r")

        self.v4 = (arr("v4_start"), arr("v4_end"), arr("v4_rec"))
        # Single IPv4 look-ups bisect memoryviews of the same maps: each item is a plain int,
        # which is several times faster than a numpy call per address.
        self.v4_views = (_view(self.v4[0], "I"), _view(self.v4[1], "I"), _view(self.v4[2], "I"))
        self.v6 = (arr("v6_start"), arr("v6_end"), arr("v6_rec"))
        # memoryviews of the record arrays: indexing them gives plain ints and bytes.
        self._asn = _view(arr("rec_asn"), "I")
        self._country = _view(arr("rec_country").view(np.uint8), "B")
        self._offsets = _view(arr("rec_name_offsets"), "Q")
        self._names = _view(arr("rec_names"), "B")
        self._cache: dict[int, NetworkRecord] = {}

    def record(self, number: int) -> NetworkRecord:
        """Record ``number``, built on first use (a generation may hold millions)."""
        found = self._cache.get(number)
        if found is None:
            country = bytes(self._country[2 * number : 2 * number + 2]).rstrip(b"\0").decode()
            name = bytes(self._names[self._offsets[number] : self._offsets[number + 1]]).decode()
            found = NetworkRecord(self._asn[number] or None, country or None, name or None)
            if len(self._cache) < RECORD_CACHE:
                self._cache[number] = found
        return found

    def lookup(self, packed: bytes) -> NetworkRecord | None:
        if len(packed) == 4:
            v_starts, v_ends, v_recs = self.v4_views
            x = int.from_bytes(packed, "big")
            j = bisect.bisect_right(v_starts, x) - 1
            if j < 0 or v_ends[j] < x:
                return None
            return self.record(v_recs[j])
        starts, ends, recs = self.v6
        # numpy drops trailing NUL bytes from S16 items; dropping them from the key too keeps
        # the comparison below exact (and the order is unchanged).
        key = np.bytes_(packed.rstrip(b"\0"))
        i = int(np.searchsorted(starts, key, side="right")) - 1
        if i < 0 or ends[i] < key:
            return None
        return self.record(int(recs[i]))

    def lookup_many(self, packed: Sequence[bytes]) -> list[NetworkRecord | None]:
        out: list[NetworkRecord | None] = [None] * len(packed)
        for width, (starts, ends, recs) in ((4, self.v4), (16, self.v6)):
            positions = [i for i, p in enumerate(packed) if len(p) == width]
            if not positions or not len(starts):
                continue
            if width == 4:
                keys = np.frombuffer(b"".join(packed[i] for i in positions), dtype=">u4")
                keys = keys.astype(np.uint32)
            else:
                keys = np.array([packed[i] for i in positions], dtype="S16")
            idx = np.searchsorted(starts, keys, side="right") - 1
            safe = np.maximum(idx, 0)
            hit = (idx >= 0) & (ends[safe] >= keys)
            rec_numbers = recs[safe]
            for j in np.flatnonzero(hit).tolist():
                out[positions[j]] = self.record(int(rec_numbers[j]))
        return out


def _view(array: np.ndarray, fmt: str) -> memoryview:
    """A memoryview of a (memory-mapped) array; an empty one for an empty array."""
    if not len(array):
        return memoryview(b"").cast(fmt)  # type: ignore[call-overload]
    return memoryview(cast(Any, array))


def _counting(handle: io.TextIOBase, on_progress: Callable[[int], None] | None) -> Iterator[str]:
    """Lines of ``handle``, reporting characters read (about bytes) every 64k lines."""
    done = 0
    for count, line in enumerate(handle, start=1):
        done += len(line)
        if on_progress is not None and count % 65536 == 0:
            on_progress(done)
        yield line
    if on_progress is not None:
        on_progress(done)
