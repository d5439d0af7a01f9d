"""Image hashing and hash-list matching: a pure library (no web or database imports).

The names below are what the rest of opschub uses; they are imported on first use so that
importing the package (as the command line does) stays cheap::

    from opschub.matching import Entry, HashListStore, hash_file, query_hashes

    store = HashListStore(settings.data_dir / "matching")
    hashes, variants = query_hashes(path)
    matches = store.match(variants, lists=["known"])
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Entry": "opschub.matching.formats",
    "ParseError": "opschub.matching.formats",
    "ListFormatError": "opschub.matching.formats",
    "HASH_TYPES": "opschub.matching.formats",
    "FORMATS": "opschub.matching.formats",
    "HashListStore": "opschub.matching.store",
    "ListInfo": "opschub.matching.store",
    "ImportSummary": "opschub.matching.store",
    "Match": "opschub.matching.store",
    "StoreError": "opschub.matching.store",
    "UnknownList": "opschub.matching.store",
    "QueryResult": "opschub.matching.matcher",
    "match_hashed": "opschub.matching.matcher",
    "match_paths": "opschub.matching.matcher",
    "FileHashes": "opschub.matching.hashing",
    "QueryHash": "opschub.matching.hashing",
    "hash_file": "opschub.matching.hashing",
    "hash_image_bytes": "opschub.matching.hashing",
    "query_hashes": "opschub.matching.hashing",
    "query_hashes_from_bytes": "opschub.matching.hashing",
    "hash_many": "opschub.matching.hashing",
    "iter_image_files": "opschub.matching.hashing",
}

__all__ = [
    "FORMATS",
    "HASH_TYPES",
    "Entry",
    "FileHashes",
    "HashListStore",
    "ImportSummary",
    "ListFormatError",
    "ListInfo",
    "Match",
    "ParseError",
    "QueryHash",
    "QueryResult",
    "StoreError",
    "UnknownList",
    "hash_file",
    "hash_image_bytes",
    "hash_many",
    "iter_image_files",
    "match_hashed",
    "match_paths",
    "query_hashes",
    "query_hashes_from_bytes",
]

if TYPE_CHECKING:
    from opschub.matching.formats import (
        FORMATS,
        HASH_TYPES,
        Entry,
        ListFormatError,
        ParseError,
    )
    from opschub.matching.hashing import (
        FileHashes,
        QueryHash,
        hash_file,
        hash_image_bytes,
        hash_many,
        iter_image_files,
        query_hashes,
        query_hashes_from_bytes,
    )
    from opschub.matching.matcher import QueryResult, match_hashed, match_paths
    from opschub.matching.store import (
        HashListStore,
        ImportSummary,
        ListInfo,
        Match,
        StoreError,
        UnknownList,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'opschub.matching' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
