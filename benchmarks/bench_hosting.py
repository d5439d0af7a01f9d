"""Hosting look-up benchmark: opschub's range store against a MaxMind .mmdb and a plain bisect.

Data: N non-overlapping IPv4 networks (CIDR-aligned, /16 to /24, so the .mmdb holds exactly
the same ranges), written as an iptoasn TSV and as an .mmdb (mmdb-writer). Queries: 1M IPv4
addresses, 80% inside a range and 20% anywhere. Engines, each in its own process (one thread),
each parsing the same address strings:

- ``opschub``: ``RangeStore.lookup`` one address at a time (memory-mapped sorted numpy arrays);
- ``opschub-batch``: ``RangeStore.lookup_many`` on batches of 10,000 (one ``searchsorted``);
- ``mmdb``: ``maxminddb`` ``Reader.get`` (its C extension when installed);
- ``bisect`` (the peer): Python lists of starts/ends/records from the TSV and ``bisect_right``.

Every engine's AS numbers are checked against the bisect answers. Rates are per CPU second of
the engine's process (the machine is shared, so wall-clock time is printed too). Memory is
the process's resident growth after opening the data, and after the run (which includes the
1M answers the engine returned: dicts for maxminddb).

    .venv/bin/python benchmarks/bench_hosting.py                   # 300k ranges, 1M look-ups
    .venv/bin/python benchmarks/bench_hosting.py --ranges 50000 --queries 100000   # quick
"""

from __future__ import annotations

import argparse
import bisect
import ipaddress
import json
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ENGINES = ("opschub", "opschub-batch", "mmdb", "bisect")
LABELS = {
    "opschub": "opschub RangeStore.lookup",
    "opschub-batch": "opschub RangeStore.lookup_many",
    "mmdb": "maxminddb Reader.get",
    "bisect": "plain bisect (peer)",
}


def make_data(folder: Path, ranges: int, queries: int, seed: int) -> None:
    """Random CIDR networks in 1.0.0.0-223.255.255.255, the TSV, the .mmdb and the queries."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    rng = random.Random(seed)
    blocks: set[int] = set()  # /24 numbers already used
    nets: list[tuple[int, int, int]] = []
    while len(nets) < ranges:
        prefix = rng.choice((16, 20, 22, 23, 24, 24, 24, 24))
        size = 1 << (32 - prefix)
        start = rng.randrange(1 << 24, 224 << 24) // size * size
        first, count = start >> 8, size >> 8
        if any(b in blocks for b in range(first, first + count)):
            continue
        blocks.update(range(first, first + count))
        nets.append((start, prefix, len(nets) + 1))
    nets.sort()
    with (folder / "ranges.tsv").open("w") as out:
        for start, prefix, asn in nets:
            end = start + (1 << (32 - prefix)) - 1
            out.write(
                f"{ipaddress.IPv4Address(start)}\t{ipaddress.IPv4Address(end)}\t{asn}\tZZ\tNET{asn}\n"
            )
    writer = MMDBWriter(ip_version=4, database_type="Bench-ASN")
    for start, prefix, asn in nets:
        writer.insert_network(
            IPSet([f"{ipaddress.IPv4Address(start)}/{prefix}"]),
            {"autonomous_system_number": asn, "autonomous_system_organization": f"NET{asn}"},
        )
    writer.to_db_file(str(folder / "ranges.mmdb"))
    addresses = []
    for _ in range(queries):
        if rng.random() < 0.8:
            start, prefix, _asn = nets[rng.randrange(len(nets))]
            value = start + rng.randrange(1 << (32 - prefix))
        else:
            value = rng.randrange(1 << 32)
        addresses.append(str(ipaddress.IPv4Address(value)))
    (folder / "queries.txt").write_text("\n".join(addresses) + "\n")


def rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def run_engine(engine: str, folder: Path) -> dict[str, Any]:
    queries = (folder / "queries.txt").read_text().split()
    if engine == "mmdb":
        import maxminddb
    elif engine != "bisect":
        from opschub.takedown.ranges import RangeStore
    base = rss()  # after the imports: open time and memory are the data's own
    t0 = time.perf_counter()
    answers: list[int | None]
    if engine in ("opschub", "opschub-batch"):
        store = RangeStore(folder / "store")
        store.lookup("1.1.1.1", "iptoasn")  # opens the memory maps
        opened = time.perf_counter() - t0
        memory_open = rss() - base
        c0, w0 = time.process_time(), time.perf_counter()
        if engine == "opschub":
            records = [store.lookup(q, "iptoasn") for q in queries]
        else:
            records = []
            for i in range(0, len(queries), 10_000):
                records.extend(store.lookup_many(queries[i : i + 10_000], "iptoasn"))
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        answers = [r.asn if r else None for r in records]
    elif engine == "mmdb":
        reader = maxminddb.open_database(str(folder / "ranges.mmdb"))
        opened = time.perf_counter() - t0
        memory_open = rss() - base
        c0, w0 = time.process_time(), time.perf_counter()
        found = [reader.get(q) for q in queries]
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        answers = [f["autonomous_system_number"] if f else None for f in found]  # type: ignore[index]
        engine_detail = type(reader).__module__
    else:
        starts: list[int] = []
        ends: list[int] = []
        recs: list[tuple[int, str, str]] = []
        with (folder / "ranges.tsv").open() as handle:
            for line in handle:
                a, b, asn, cc, name = line.rstrip("\n").split("\t")
                starts.append(int.from_bytes(socket.inet_aton(a), "big"))
                ends.append(int.from_bytes(socket.inet_aton(b), "big"))
                recs.append((int(asn), cc, name))
        opened = time.perf_counter() - t0
        memory_open = rss() - base
        c0, w0 = time.process_time(), time.perf_counter()
        answers = []
        for q in queries:
            x = int.from_bytes(socket.inet_pton(socket.AF_INET, q), "big")
            i = bisect.bisect_right(starts, x) - 1
            answers.append(recs[i][0] if i >= 0 and ends[i] >= x else None)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    result = {
        "engine": engine,
        "queries": len(queries),
        "cpu": cpu,
        "wall": wall,
        "open": opened,
        "memory_open": memory_open,
        "memory": rss() - base,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "answers_digest": hash(tuple(answers)),
        "hits": sum(a is not None for a in answers),
    }
    if engine == "mmdb":
        result["detail"] = engine_detail
    (folder / f"answers-{engine}.json").write_text(json.dumps(answers))
    return result


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ranges", type=int, default=300_000)
    parser.add_argument("--queries", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:
        print(json.dumps(run_engine(args.engine, Path(args.folder))))
        return

    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="bench-hosting-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        make_data(folder, args.ranges, args.queries, args.seed)
        made = time.perf_counter() - t0
        print(f"data: {args.ranges:,} ranges, {args.queries:,} queries ({made:.1f} s)")
        from opschub.takedown.ranges import RangeStore

        t0 = time.perf_counter()
        RangeStore(folder / "store").load_file(folder / "ranges.tsv", "iptoasn")
        load_seconds = time.perf_counter() - t0
        results = {}
        for engine in ENGINES:
            out = subprocess.run(
                [sys.executable, __file__, "--engine", engine, "--folder", str(folder)],
                check=True,
                capture_output=True,
                text=True,
                env=env,
            )
            results[engine] = json.loads(out.stdout.strip().splitlines()[-1])
        sizes = {
            "tsv": (folder / "ranges.tsv").stat().st_size,
            "mmdb": (folder / "ranges.mmdb").stat().st_size,
            "store": sum(p.stat().st_size for p in (folder / "store").rglob("*") if p.is_file()),
        }
        truth = json.loads((folder / "answers-bisect.json").read_text())
        for engine in ENGINES:
            answers = json.loads((folder / f"answers-{engine}.json").read_text())
            results[engine]["agree"] = sum(a == b for a, b in zip(answers, truth, strict=True))
    peer = results["bisect"]["queries"] / results["bisect"]["cpu"]
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"opschub hosting load of the TSV: {load_seconds:.1f} s")
    print(f"mmdb reader: {results['mmdb'].get('detail')}")
    print(
        "on disk: TSV "
        + fmt_bytes(sizes["tsv"])
        + ", opschub store "
        + fmt_bytes(sizes["store"])
        + ", .mmdb "
        + fmt_bytes(sizes["mmdb"])
    )
    header = ("figure", *(LABELS[e] for e in ENGINES))
    rows = [
        ("look-ups/s (CPU)", *(f"{r['queries'] / r['cpu']:,.0f}" for r in results.values())),
        ("look-ups/s (wall)", *(f"{r['queries'] / r['wall']:,.0f}" for r in results.values())),
        ("vs plain bisect", *(f"{r['queries'] / r['cpu'] / peer:.2f}x" for r in results.values())),
        ("agree with bisect", *(f"{r['agree']:,}/{r['queries']:,}" for r in results.values())),
        ("hits", *(f"{r['hits']:,}" for r in results.values())),
        ("open", *(f"{r['open'] * 1000:.1f} ms" for r in results.values())),
        ("memory after open", *(fmt_bytes(r["memory_open"]) for r in results.values())),
        ("memory after the run", *(fmt_bytes(r["memory"]) for r in results.values())),
    ]
    print("| " + " | ".join(header) + " |")
    print("| --- |" + " ---: |" * len(ENGINES))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
