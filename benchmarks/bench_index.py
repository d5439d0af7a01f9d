"""Matching index benchmark: opschub's HammingIndex against faiss, side by side with ratios.

N random 256-bit codes plus planted neighbours (query i has one at distance i % 41), a batch of
queries, threshold 31. For each engine: queries per second on one core, recall and false
matches against an exhaustive ground truth, build time, memory, time to open a saved index and
time until one added code is matchable. Each engine runs in its own process (one thread), so
its memory figures are its own.

    .venv/bin/python benchmarks/bench_index.py                      # 1M and 10M, 10,000 queries
    .venv/bin/python benchmarks/bench_index.py --sizes 100k --queries 1000   # a quick run

faiss keeps range-search distances strictly below the radius, so it is asked for radius t + 1.
faiss's flat index is slow at 10M, so the peers run on the first ``--peer-queries`` queries.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ENGINES = ("opschub", "faiss-flat", "faiss-multihash")
LABELS = {
    "opschub": "opschub HammingIndex",
    "faiss-flat": "faiss IndexBinaryFlat",
    "faiss-multihash": "faiss IndexBinaryMultiHash(256,16,16) nflip=1",
}


def parse_size(text: str) -> int:
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def make_data(n: int, queries: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random codes and queries; query i has a neighbour at distance i % 41 planted in the codes."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    q = rng.integers(0, 256, size=(queries, 32), dtype=np.uint8)
    rows = rng.choice(n, size=min(queries, n), replace=False)
    bits = np.unpackbits(q[: rows.shape[0]], axis=1)
    order = np.argsort(rng.random(bits.shape), axis=1)
    for i in range(rows.shape[0]):
        flipped = bits[i].copy()
        flipped[order[i, : i % 41]] ^= 1
        codes[rows[i]] = np.packbits(flipped)
    return codes, q


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def timed(call: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    return result, time.perf_counter() - wall, time.process_time() - cpu


# -- ground truth: an independent exhaustive scan ---------------------------------------------


def truth_pairs(codes: np.ndarray, queries: np.ndarray, threshold: int) -> np.ndarray:
    """Every (query, row, distance) within ``threshold``, by scanning all codes (all cores)."""
    from numba import njit, prange

    @njit(inline="always")
    def swar_popcount(x: np.uint64) -> np.uint64:  # an implementation of its own, not POPCNT
        x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
        x = (x & np.uint64(0x3333333333333333)) + (
            (x >> np.uint64(2)) & np.uint64(0x3333333333333333)
        )
        x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
        return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)

    @njit(parallel=True, cache=False)
    def count_within(q: np.ndarray, c: np.ndarray, t: int, hits: np.ndarray) -> None:
        chunk, block = 256, 4096
        for ch in prange((q.shape[0] + chunk - 1) // chunk):
            dist = np.empty(block, dtype=np.uint64)
            for b0 in range(0, c.shape[1], block):
                b1 = min(c.shape[1], b0 + block)
                for i in range(ch * chunk, min(q.shape[0], (ch + 1) * chunk)):
                    q0, q1, q2, q3 = q[i, 0], q[i, 1], q[i, 2], q[i, 3]
                    for r in range(b0, b1):
                        dist[r - b0] = (
                            swar_popcount(q0 ^ c[0, r])
                            + swar_popcount(q1 ^ c[1, r])
                            + swar_popcount(q2 ^ c[2, r])
                            + swar_popcount(q3 ^ c[3, r])
                        )
                    for r in range(b0, b1):
                        d = dist[r - b0]
                        if d <= t and hits[i, 0] < hits.shape[1] - 1:
                            hits[i, 0] += 1
                            hits[i, hits[i, 0]] = r * 1000 + d

    words_q = queries.view("<u8").reshape(-1, 4)
    words_c = np.ascontiguousarray(codes.view("<u8").reshape(-1, 4).T)  # columns vectorize
    hits = np.zeros((queries.shape[0], 64), dtype=np.int64)
    count_within(words_q, words_c, threshold, hits)
    out = [
        (i, int(v) // 1000, int(v) % 1000)
        for i in range(hits.shape[0])
        for v in hits[i, 1 : hits[i, 0] + 1]
    ]
    return np.asarray(out, dtype=np.int64).reshape(-1, 3)


# -- engines (each in its own process) --------------------------------------------------------


def run_opschub(codes: np.ndarray, queries: np.ndarray, args: argparse.Namespace) -> dict:
    from opschub.matching.index import HammingIndex

    n = codes.shape[0]
    ids = np.arange(n, dtype=np.int64)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        directory = Path(tmp) / "pdq"
        before = rss_bytes()
        index, build_s, _ = timed(lambda: _build_opschub(directory, ids, codes, args.substrings))
        built_rss = rss_bytes() - before
        peak = peak_rss_bytes() - before
        index_bytes = _opschub_bytes(index)
        _, save_s, _ = timed(index.save)
        index.search(queries[:10], args.threshold)  # compiled kernels load from numba's cache
        result, wall, cpu = timed(lambda: index.search(queries, args.threshold))
        hits = np.stack([result.query_index, result.ids, result.distances], axis=1)
        index = None  # release it before reopening
        reopened, open_s, _ = timed(lambda: HammingIndex.open(directory))
        _, first_s, _ = timed(lambda: reopened.search(queries[:1], args.threshold))
        add_ms = _add_latency(
            lambda i, c: reopened.add(i, c),
            lambda q: reopened.search(q, args.threshold).ids,
            n,
        )
        sizes = [len(reopened.segment_sizes)]
    return {
        "engine": "opschub",
        "n": n,
        "queries": int(queries.shape[0]),
        "build_s": build_s,
        "save_s": save_s,
        "wall_s": wall,
        "cpu_s": cpu,
        "index_bytes": index_bytes,
        "rss_after_build": built_rss,
        "peak_rss_build": peak,
        "open_s": open_s,
        "first_query_after_open_s": first_s,
        "add_ms": add_ms,
        "segments": sizes,
        "hits": hits.tolist(),
    }


def _build_opschub(directory: Path, ids: np.ndarray, codes: np.ndarray, substrings: int | None):
    from opschub.matching.index import HammingIndex

    index = HammingIndex.create(directory, substrings=substrings)
    index.add(ids, codes)
    return index


def _opschub_bytes(index: Any) -> int:
    total = 0
    for segment in index._segments:
        for array in (segment.ids, segment.codes, segment.offsets, segment.records, segment.dead):
            total += 0 if array is None else int(array.nbytes)
    return total


def _add_latency(
    add: Callable[[np.ndarray, np.ndarray], Any], search: Callable[[np.ndarray], Any], n: int
) -> float:
    """Milliseconds from adding one code to a search that finds it (median of 5)."""
    rng = np.random.default_rng(99)
    times = []
    for k in range(5):
        query = rng.integers(0, 256, size=(1, 32), dtype=np.uint8)
        code = query.copy()
        code[0, :2] ^= 0x11  # 4 bits away
        start = time.perf_counter()
        add(np.array([n + k], dtype=np.int64), code)
        found = search(query)
        times.append((time.perf_counter() - start) * 1000)
        assert n + k in np.asarray(found).tolist(), "the added code was not found"
    return float(np.median(times))


def run_faiss(kind: str, codes: np.ndarray, queries: np.ndarray, args: argparse.Namespace) -> dict:
    import faiss

    faiss.omp_set_num_threads(1)
    n = codes.shape[0]
    peer_q = queries[: args.peer_queries]
    radius = args.threshold + 1  # faiss keeps distances strictly below the radius

    def build() -> Any:
        if kind == "faiss-flat":
            index = faiss.IndexBinaryFlat(256)
        else:
            index = faiss.IndexBinaryMultiHash(256, 16, 16)
            index.nflip = 1
        index.add(codes)
        return index

    before = rss_bytes()
    index, build_s, _ = timed(build)
    built_rss = rss_bytes() - before
    peak = peak_rss_bytes() - before
    (lims, dist, labels), wall, cpu = timed(lambda: index.range_search(peer_q, radius))
    query_index = np.repeat(np.arange(peer_q.shape[0]), np.diff(lims).astype(np.int64))
    labels = labels.astype(np.int64)
    dist = dist.astype(np.int64)
    hits = np.stack([query_index, labels, dist], axis=1)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        path = str(Path(tmp) / "index.faiss")
        _, save_s, _ = timed(lambda: faiss.write_index_binary(index, path))
        index = None  # release it before reopening
        reopened, open_s, _ = timed(lambda: faiss.read_index_binary(path))
        if kind == "faiss-multihash":
            reopened.nflip = 1

    def search(q: np.ndarray) -> np.ndarray:
        _, _, labels_ = reopened.range_search(q, radius)
        return labels_

    add_ms = _add_latency(lambda _i, c: reopened.add(c), search, n)
    return {
        "engine": kind,
        "n": n,
        "queries": int(peer_q.shape[0]),
        "build_s": build_s,
        "save_s": save_s,
        "wall_s": wall,
        "cpu_s": cpu,
        "index_bytes": built_rss,
        "rss_after_build": built_rss,
        "peak_rss_build": peak,
        "open_s": open_s,
        "first_query_after_open_s": None,
        "add_ms": add_ms,
        "hits": hits.tolist(),
    }


def worker(args: argparse.Namespace) -> None:
    codes, queries = make_data(args.n, args.queries, args.seed)
    if args.worker == "truth":
        pairs = truth_pairs(codes, queries[: args.truth_queries], args.threshold)
        result: dict = {"engine": "truth", "hits": pairs.tolist()}
    elif args.worker == "opschub":
        result = run_opschub(codes, queries, args)
    else:
        result = run_faiss(args.worker, codes, queries, args)
    Path(args.out).write_text(json.dumps(result))


# -- driver -----------------------------------------------------------------------------------


def spawn(role: str, n: int, args: argparse.Namespace, single_thread: bool) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", dir=args.workdir, delete=False) as fh:
        out = fh.name
    env = dict(os.environ)
    if single_thread:
        env.update(NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        role,
        "--n",
        str(n),
        "--out",
        out,
        "--queries",
        str(args.queries),
        "--peer-queries",
        str(args.peer_queries),
        "--truth-queries",
        str(args.truth_queries),
        "--threshold",
        str(args.threshold),
        "--seed",
        str(args.seed),
        "--workdir",
        args.workdir,
    ]
    if args.substrings:
        cmd += ["--substrings", str(args.substrings)]
    subprocess.run(cmd, check=True, env=env)
    try:
        return json.loads(Path(out).read_text())
    finally:
        os.unlink(out)


def score(hits: list, truth: set, query_limit: int) -> tuple[float, int, int]:
    """(recall, misses, false matches) over queries below ``query_limit``."""
    found = {tuple(h) for h in hits if h[0] < query_limit}
    expected = {t for t in truth if t[0] < query_limit}
    missed = len(expected - found)
    recall = 1.0 - missed / len(expected) if expected else 1.0
    return recall, missed, len(found - expected)


def fmt_bytes(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 2**30:.2f} GiB" if value >= 2**30 else f"{value / 2**20:.0f} MiB"


def report(n: int, results: dict[str, dict], truth: set, args: argparse.Namespace) -> None:
    from rich.console import Console
    from rich.table import Table

    ours = results["opschub"]
    ours_qps = ours["queries"] / ours["cpu_s"]
    table = Table(title=f"N = {n:,} codes, threshold {args.threshold}")
    table.add_column("figure")
    for name in results:
        table.add_column(LABELS[name], justify="right")
    rows: dict[str, list[str]] = {
        k: []
        for k in (
            "queries timed",
            "queries/s (one core, CPU time)",
            "queries/s (wall clock)",
            "opschub speed-up",
            "recall",
            "missed / false matches",
            "build",
            "index memory",
            "peak RSS during build",
            "open saved index",
            "first query after open",
            "add one code -> matchable",
        )
    }
    for name, res in results.items():
        qps = res["queries"] / res["cpu_s"]
        limit = min(res["queries"], args.truth_queries)
        recall, missed, false = score(res["hits"], truth, limit)
        rows["queries timed"].append(f"{res['queries']:,}")
        rows["queries/s (one core, CPU time)"].append(f"{qps:,.0f}")
        rows["queries/s (wall clock)"].append(f"{res['queries'] / res['wall_s']:,.0f}")
        rows["opschub speed-up"].append("1.0x" if name == "opschub" else f"{ours_qps / qps:,.1f}x")
        rows["recall"].append(f"{recall:.4f} (first {limit:,} queries)")
        rows["missed / false matches"].append(f"{missed} / {false}")
        rows["build"].append(f"{res['build_s']:.1f} s")
        rows["index memory"].append(fmt_bytes(res["index_bytes"]))
        rows["peak RSS during build"].append(fmt_bytes(res["peak_rss_build"]))
        rows["open saved index"].append(f"{res['open_s'] * 1000:,.1f} ms")
        first = res["first_query_after_open_s"]
        rows["first query after open"].append("-" if first is None else f"{first * 1000:,.1f} ms")
        rows["add one code -> matchable"].append(f"{res['add_ms']:.2f} ms")
    for label, cells in rows.items():
        table.add_row(label, *cells)
    Console(width=150).print(table)
    if "segments" in ours:
        print(f"opschub: {ours['segments']} segment(s); save took {ours['save_s']:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1M,10M", help="comma-separated, e.g. 100k,1M,10M")
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--peer-queries", type=int, default=200, help="queries timed for faiss")
    parser.add_argument("--truth-queries", type=int, default=10_000, help="queries brute-forced")
    parser.add_argument("--threshold", type=int, default=31)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--substrings", type=int, default=None, help="opschub MIH substrings")
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--workdir", default=None, help="where temporary indexes are written")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    args.workdir = args.workdir or tempfile.gettempdir()
    args.truth_queries = min(args.truth_queries, args.queries)
    engines = [e for e in args.engines.split(",") if e]
    if "opschub" not in engines:
        parser.error("--engines must include opschub (the ratios are against it)")
    print(f"load average at start: {os.getloadavg()}; cores: {os.cpu_count()}")
    for n in (parse_size(s) for s in args.sizes.split(",")):
        print(f"\n== N = {n:,}: ground truth by exhaustive scan of {args.truth_queries:,} queries")
        truth_result = spawn("truth", n, args, single_thread=False)
        truth = {tuple(h) for h in truth_result["hits"]}
        planted = sum(1 for i in range(args.truth_queries) if i % 41 <= args.threshold)
        print(
            f"   ground truth: {len(truth):,} pairs within {args.threshold} ({planted:,} planted)"
        )
        results = {}
        for engine in engines:
            print(f"   running {engine} ...", flush=True)
            results[engine] = spawn(engine, n, args, single_thread=True)
        report(n, results, truth, args)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
