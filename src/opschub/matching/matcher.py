"""Match images and hashes against the stored lists.

An image query is searched with every PDQ variant that hashing gives (the 8 rotations and
mirror images, and the same for the image with uniform borders trimmed) plus its exact
SHA-256, MD5 and SHA-1. Each list entry is reported once per query, with the smallest
distance and the transform that reached it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from opschub.matching.formats import (
    HEX_DIGITS,
    Entry,
    InvalidHash,
    ParseError,
    ParseResult,
    make_entry,
    normalize_hash,
)
from opschub.matching.store import DEFAULT_THRESHOLD, HashListStore, Match, PdqQuery

if TYPE_CHECKING:
    from opschub.matching.hashing import FileHashes, QueryHash

ORIGINAL = "original"
TRIMMED_PREFIX = "trimmed+"
BATCH = 256


@dataclass(frozen=True, slots=True)
class HashQuery:
    """A PDQ query given as a hash (with its quality when known)."""

    transform: str
    pdq: str
    quality: int


@dataclass
class QueryResult:
    """The answer for one query: an image path or a hash."""

    query: str
    matches: list[Match] = field(default_factory=list)
    hashes: FileHashes | None = None
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"query": self.query}
        if self.hashes is not None:
            out.update({k: v for k, v in self.hashes.to_json().items() if k != "path"})
        elif self.error is not None:
            out["error"] = self.error
        out["matches"] = [m.to_json() for m in self.matches]
        return out


def best_per_entry(matches: Iterable[Match]) -> list[Match]:
    """One match per list entry. The untransformed image's match wins when there is one, so
    its distance is what a plain PDQ comparison gives; otherwise the closest variant."""
    best: dict[tuple[str, str, str], Match] = {}
    for match in matches:
        key = (match.list, match.hash_type, match.hash)
        current = best.get(key)
        if current is None or _rank(match) < _rank(current):
            best[key] = match
    return sorted(best.values(), key=lambda m: (m.distance, m.list, m.hash_type, m.hash))


def _rank(match: Match) -> tuple[bool, int, bool, bool]:
    transform = match.transform or ORIGINAL
    return (
        transform != ORIGINAL,
        match.distance,
        transform.startswith(TRIMMED_PREFIX),
        transform.removeprefix(TRIMMED_PREFIX) != ORIGINAL,
    )


def select_variants(
    variants: Sequence[QueryHash], *, dihedral: bool = True, trim_borders: bool = True
) -> list[QueryHash]:
    """The variants the options ask for (hashing computes them all for scans)."""
    out = []
    for variant in variants:
        trimmed = variant.transform.startswith(TRIMMED_PREFIX)
        base = variant.transform.removeprefix(TRIMMED_PREFIX)
        if trimmed and not trim_borders:
            continue
        if base != ORIGINAL and not dihedral:
            continue
        out.append(variant)
    return out


def match_hashed(
    store: HashListStore,
    items: Sequence[tuple[FileHashes, Sequence[QueryHash]]],
    *,
    lists: Sequence[str] | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    dihedral: bool = True,
    trim_borders: bool = True,
) -> list[QueryResult]:
    """Match hashed files (as hashing.hash_many yields them) in one batch."""
    queries: list[Entry | PdqQuery] = []
    owners: list[int] = []
    for position, (hashes, variants) in enumerate(items):
        chosen: list[Entry | PdqQuery] = list(
            select_variants(variants, dihedral=dihedral, trim_borders=trim_borders)
        )
        if not chosen and hashes.pdq is not None and hashes.quality is not None:
            chosen.append(HashQuery(ORIGINAL, hashes.pdq, hashes.quality))
        for kind in ("sha256", "md5", "sha1"):
            value = getattr(hashes, kind)
            if value:
                chosen.append(Entry(kind, value))
        queries.extend(chosen)
        owners.extend([position] * len(chosen))
    found = store.match(queries, lists=lists, threshold=threshold)
    per_item: list[list[Match]] = [[] for _ in items]
    for owner, matches in zip(owners, found, strict=True):
        per_item[owner].extend(matches)
    return [
        QueryResult(hashes.path, best_per_entry(matches), hashes, hashes.error)
        for (hashes, _), matches in zip(items, per_item, strict=True)
    ]


def match_paths(
    store: HashListStore,
    paths: Iterable[str | Path],
    *,
    lists: Sequence[str] | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    dihedral: bool = True,
    trim_borders: bool = True,
    workers: int | None = None,
) -> Iterator[QueryResult]:
    """Hash image files (folders recursively) and match them, in the order of the files."""
    from opschub.matching.hashing import hash_many, iter_image_files

    files = list(iter_image_files(paths))
    hashed = hash_many(files, workers=workers, query_variants=dihedral or trim_borders)
    batch: list[tuple[FileHashes, list[QueryHash]]] = []
    for item in in_input_order([str(f) for f in files], hashed):
        batch.append(item)
        if len(batch) >= BATCH:
            yield from match_hashed(
                store,
                batch,
                lists=lists,
                threshold=threshold,
                dihedral=dihedral,
                trim_borders=trim_borders,
            )
            batch = []
    if batch:
        yield from match_hashed(
            store,
            batch,
            lists=lists,
            threshold=threshold,
            dihedral=dihedral,
            trim_borders=trim_borders,
        )


def in_input_order(
    order: Sequence[str], items: Iterable[tuple[FileHashes, list[QueryHash]]]
) -> Iterator[tuple[FileHashes, list[QueryHash]]]:
    """Results of a process pool (completion order) put back in the order of ``order``;
    only results that arrive early are held back."""
    waiting: dict[str, list[tuple[FileHashes, list[QueryHash]]]] = {}
    position = 0
    for item in items:
        waiting.setdefault(item[0].path, []).append(item)
        while position < len(order) and waiting.get(order[position]):
            ready = waiting[order[position]]
            yield ready.pop(0)
            if not ready:
                del waiting[order[position]]
            position += 1
    for rest in waiting.values():  # paths the pool reported under another name, if any
        yield from rest


def read_hash_queries(
    path: str | Path, *, hash_type: str = "pdq"
) -> tuple[list[tuple[str, list[Entry | PdqQuery]]], ParseResult]:
    """Queries from a file: one hex hash a line (type by length: 32 md5, 40 sha1, 64 the
    ``hash_type`` option), or JSON Lines holding ``hash_type``/``hash`` (optional
    ``quality``) or the records ``opschub hash`` prints. Returns (query text, hashes) pairs
    and the lines that could not be read (``.errors``, counted in ``.invalid``)."""
    name = str(path)
    queries: list[tuple[str, list[Entry | PdqQuery]]] = []
    errors = ParseResult()  # only its error list and count are used
    by_length = {32: "md5", 40: "sha1", 64: hash_type}
    with open(path, encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, 1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            try:
                if text.startswith("{"):
                    queries.append(_json_query(text, hash_type))
                    continue
                kind = by_length.get(len(text))
                if kind is None:
                    normalize_hash("pdq", text)  # names a malformed digit first
                    raise InvalidHash(
                        f"wrong length: {len(text)} hex digits "
                        "(expected 32 md5, 40 sha1 or 64 pdq/sha256)"
                    )
                entry = make_entry(kind, text)
                queries.append((entry.hash, [entry]))
            except (InvalidHash, ValueError) as exc:
                errors.add_error(ParseError(name, number, str(exc)))
    return queries, errors


def _json_query(text: str, hash_type: str) -> tuple[str, list[Entry | PdqQuery]]:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidHash(f"not valid JSON: {exc.msg}") from None
    if not isinstance(obj, dict):
        raise InvalidHash("not a JSON object")
    if "hash" in obj:
        entry = make_entry(str(obj.get("hash_type") or hash_type), str(obj["hash"]))
        quality = obj.get("quality")
        if entry.hash_type == "pdq" and isinstance(quality, int):
            return entry.hash, [HashQuery(ORIGINAL, entry.hash, quality)]
        return entry.hash, [entry]
    hashes: list[Entry | PdqQuery] = []
    for kind in ("sha256", "md5", "sha1"):
        if obj.get(kind):
            hashes.append(make_entry(kind, str(obj[kind])))
    if obj.get("pdq"):
        pdq = normalize_hash("pdq", str(obj["pdq"]))
        quality = obj.get("quality")
        hashes.append(HashQuery(ORIGINAL, pdq, quality if isinstance(quality, int) else 100))
    if not hashes:
        raise InvalidHash(f"no hash in the object (expected one of hash, {', '.join(HEX_DIGITS)})")
    query = obj.get("path") or obj.get("pdq") or obj.get("sha256") or ""
    return str(query), hashes


def match_queries(
    store: HashListStore,
    queries: Sequence[tuple[str, Sequence[Entry | PdqQuery]]],
    *,
    lists: Sequence[str] | None = None,
    threshold: int = DEFAULT_THRESHOLD,
) -> list[QueryResult]:
    """Match (query text, hashes) pairs as read by :func:`read_hash_queries`."""
    flat: list[Entry | PdqQuery] = []
    owners: list[int] = []
    for position, (_, hashes) in enumerate(queries):
        flat.extend(hashes)
        owners.extend([position] * len(hashes))
    found = store.match(flat, lists=lists, threshold=threshold)
    per_query: list[list[Match]] = [[] for _ in queries]
    for owner, matches in zip(owners, found, strict=True):
        per_query[owner].extend(matches)
    return [
        QueryResult(text, best_per_entry(matches))
        for (text, _), matches in zip(queries, per_query, strict=True)
    ]
