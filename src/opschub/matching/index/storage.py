"""On-disk layout shared by the indexes: immutable array files plus an atomic manifest.

An index directory holds ``manifest.json`` and array files (``.npy``). Array files are written
once under a fresh name and never changed; the manifest names the files that make up the
current index and is replaced atomically (temp file, fsync, ``os.replace``), so a reader sees
either the old or the new index, never a half-written one. Files no longer named by the manifest
are deleted after the replace (a process that still has them memory-mapped keeps its view).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

import numpy as np

MANIFEST = "manifest.json"


def new_name(prefix: str) -> str:
    """A fresh file-name stem that no other save will pick."""
    return f"{prefix}-{secrets.token_hex(6)}"


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # some platforms cannot open directories
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_array(directory: Path, stem: str, array: np.ndarray) -> str:
    """Write ``array`` as ``stem.npy`` atomically; return the file name."""
    name = f"{stem}.npy"
    tmp = directory / f".{name}.tmp"
    with open(tmp, "wb") as fh:
        np.save(fh, np.ascontiguousarray(array), allow_pickle=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, directory / name)
    return name


def read_array(directory: Path, name: str, *, mmap: bool = True) -> np.ndarray:
    """An array file, memory-mapped read-only (small files are read into memory)."""
    path = directory / name
    if mmap and path.stat().st_size > 1 << 16:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    return np.load(path, allow_pickle=False)


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    """Replace the manifest atomically, then delete array files it no longer names."""
    tmp = directory / f".{MANIFEST}.{secrets.token_hex(4)}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, directory / MANIFEST)
    _fsync_dir(directory)
    keep = set(_named_files(manifest))
    for path in directory.glob("*.npy"):
        if path.name not in keep:
            path.unlink(missing_ok=True)


def _named_files(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.endswith(".npy") else []
    if isinstance(value, dict):
        return [name for item in value.values() for name in _named_files(item)]
    if isinstance(value, list):
        return [name for item in value for name in _named_files(item)]
    return []


def read_manifest(directory: Path, kind: str, version: int) -> dict[str, Any]:
    """The manifest of an index directory; ValueError naming the problem."""
    path = directory / MANIFEST
    if not path.is_file():
        raise ValueError(f"{directory}: not an index directory (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: unreadable manifest: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != kind:
        raise ValueError(f"{path}: not a {kind} index")
    if manifest.get("version") != version:
        raise ValueError(f"{path}: unsupported {kind} format version {manifest.get('version')!r}")
    return manifest
