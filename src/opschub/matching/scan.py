"""Batch scans: hash and match a large tree, resumable, locally or on a Dask cluster.

Results go to a JSON Lines file, one record per file (the ``opschub hash`` fields plus
``matches``), flushed as they come. A second run reads the file first and skips every path
already recorded, so an interrupted scan continues where it stopped. With a Dask scheduler the
workers only hash (they need to read the files, not the store); matching happens here.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opschub.matching.matcher import BATCH, QueryResult, match_hashed
from opschub.matching.store import DEFAULT_THRESHOLD, HashListStore

if TYPE_CHECKING:
    from opschub.matching.hashing import FileHashes, QueryHash

DASK_CHUNK = 16  # files per Dask task: big enough to amortise scheduling


@dataclass
class ScanSummary:
    out: str
    files: int = 0  # image files found under the given paths
    already_done: int = 0  # skipped: recorded in the results file by an earlier run
    scanned: int = 0
    errors: int = 0
    matched_files: int = 0
    matches: int = 0
    seconds: float = 0.0
    error_examples: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "out": self.out,
            "files": self.files,
            "already_done": self.already_done,
            "scanned": self.scanned,
            "errors": self.errors,
            "matched_files": self.matched_files,
            "matches": self.matches,
            "seconds": round(self.seconds, 3),
        }


def completed_paths(out: Path) -> set[str]:
    """Paths recorded in a results file. A torn last line (killed mid-write) is cut off so
    that appending goes on cleanly."""
    done: set[str] = set()
    if not out.exists():
        return done
    good_end = 0
    with open(out, "rb") as handle:
        for raw in handle:
            if not raw.endswith(b"\n"):
                break
            try:
                record = json.loads(raw)
            except json.JSONDecodeError:
                break
            if isinstance(record, dict) and isinstance(record.get("path"), str):
                done.add(record["path"])
            good_end += len(raw)
    if good_end != out.stat().st_size:
        with open(out, "r+b") as handle:
            handle.truncate(good_end)
    return done


def _hash_chunk(paths: list[str]) -> list[tuple[FileHashes, list[QueryHash]]]:
    """A Dask task: hash files with all query variants (runs on a worker)."""
    from opschub.matching.hashing import query_hashes

    return [query_hashes(path) for path in paths]


def _dask_results(
    files: Sequence[str], scheduler: Any, window: int = 64
) -> Iterator[tuple[FileHashes, list[QueryHash]]]:
    """Hash on a Dask cluster; at most ``window`` tasks in flight (memory stays flat)."""
    from distributed import Client, as_completed

    chunks = [list(files[i : i + DASK_CHUNK]) for i in range(0, len(files), DASK_CHUNK)]
    with Client(scheduler) as client:
        pending = iter(chunks)
        first = [client.submit(_hash_chunk, next(pending), pure=False) for _ in chunks[:window]]
        running = as_completed(first)
        for future in running:
            yield from future.result()
            future.release()
            following = next(pending, None)
            if following is not None:
                running.add(client.submit(_hash_chunk, following, pure=False))


def run_scan(
    store: HashListStore,
    paths: Sequence[str | Path],
    *,
    lists: Sequence[str],
    out: Path,
    workers: int | None = None,
    scheduler: Any = None,
    threshold: int = DEFAULT_THRESHOLD,
    dihedral: bool = True,
    trim_borders: bool = True,
    on_start: Callable[[int], None] | None = None,
    on_result: Callable[[QueryResult], None] | None = None,
) -> ScanSummary:
    """Scan ``paths`` against ``lists``, appending to ``out``. ``scheduler`` is a Dask
    scheduler address (or Cluster); None hashes in a local process pool."""
    from opschub.matching.hashing import hash_many, iter_image_files

    started = time.perf_counter()
    for name in lists:
        store.info(name)  # unknown list: fail before any work
    summary = ScanSummary(out=str(out))
    files = [str(Path(p).absolute()) for p in iter_image_files(paths)]
    summary.files = len(files)
    done = completed_paths(out)
    todo = [f for f in files if f not in done]
    summary.already_done = len(files) - len(todo)
    if on_start is not None:
        on_start(len(todo))
    if scheduler is not None:
        results: Iterator[tuple[FileHashes, list[QueryHash]]] = _dask_results(todo, scheduler)
    else:
        results = hash_many([Path(f) for f in todo], workers=workers, query_variants=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "a", encoding="utf-8") as handle:
        batch: list[tuple[FileHashes, list[QueryHash]]] = []

        def flush() -> None:
            found = match_hashed(
                store,
                batch,
                lists=lists,
                threshold=threshold,
                dihedral=dihedral,
                trim_borders=trim_borders,
            )
            for result in found:
                fields = result.to_json()
                record = {"path": fields.pop("query"), **fields}
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                summary.scanned += 1
                if result.error:
                    summary.errors += 1
                    if len(summary.error_examples) < 10:
                        summary.error_examples.append(f"{result.query}: {result.error}")
                if result.matches:
                    summary.matched_files += 1
                    summary.matches += len(result.matches)
                if on_result is not None:
                    on_result(result)
            handle.flush()
            os.fsync(handle.fileno())
            batch.clear()

        for item in results:
            batch.append(item)
            if len(batch) >= BATCH // 4:
                flush()
        if batch:
            flush()
    summary.seconds = time.perf_counter() - started
    return summary
