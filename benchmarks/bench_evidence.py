"""Evidence ingest benchmark: the vault's encrypted put against plain copy and `openssl enc`.

For each file size, the same files are ingested three ways on the same disk, each in its own
process pinned to one core (taskset, when available) with one thread:

* opschub: ``evidence.service.put`` (SHA-256, MD5 and SHA-1 of the plaintext, AES-256-GCM in
  1 MiB segments, fsync, rename, a SQLite record and custody event per file);
* plain copy: read and write the bytes, fsync (the disk's physical limit for this workload);
* openssl: ``openssl enc -aes-256-ctr`` per file, then fsync (encryption only, no hashing,
  no record; OpenSSL's enc tool does not offer GCM), if ``openssl`` is installed.

MB/s is input bytes over wall time. The opschub process also reports its peak RSS above the
baseline after start-up: it must stay flat however large the file.

    .venv/bin/python benchmarks/bench_evidence.py                        # 1 KB, 1 MB, 500 MB
    .venv/bin/python benchmarks/bench_evidence.py --sizes 1k,1m --dir /var/tmp   # quick
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

COUNTS = {1_000: 2000, 1_000_000: 100}  # files per size; larger sizes: one file
CHUNK = 1024 * 1024


def parse_size(text: str) -> int:
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000, "g": 1_000_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("kmg")) * scale)


def label(size: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if size >= scale:
            return f"{size // scale} {unit}"
    return f"{size} B"


def make_files(directory: Path, size: int) -> list[Path]:
    count = COUNTS.get(size, 1)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = directory / f"f{i:05d}.bin"
        with open(path, "wb") as handle:
            left = size
            while left:
                step = min(left, CHUNK)
                handle.write(os.urandom(step))
                left -= step
        paths.append(path)
    return paths


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def current_rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# -- the engines, each run in a child process ----------------------------------------------------


def run_opschub(files: list[Path], work: Path) -> dict[str, Any]:
    os.environ["OPSCHUB_DATA_DIR"] = str(work / "var")
    os.environ["OPSCHUB_SECRET_KEY"] = "benchmark-secret-key-0123456789abcdef0123456789"
    from opschub.db import Database
    from opschub.evidence import service
    from opschub.evidence.vault import vault_from_settings

    database = Database(f"sqlite:///{work / 'bench.sqlite3'}")
    database.create_all()
    vault = vault_from_settings()
    actor = service.Operator("benchmark")
    vault.keys.check(create=True)
    baseline = current_rss()
    start, cpu = time.perf_counter(), time.process_time()
    for path in files:
        with database.transaction() as session, open(path, "rb") as handle:
            service.put(
                session, vault, handle, source_kind="upload", actor=actor, purpose="intake",
                media_type="application/octet-stream",
            )  # fmt: skip
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_rss_above_start": max(peak_rss() - baseline, 0),
    }


def run_copy(files: list[Path], work: Path) -> dict[str, Any]:
    target = work / "copy"
    target.mkdir()
    start = time.perf_counter()
    for path in files:
        out = target / path.name
        with open(path, "rb") as src, open(out, "wb") as dst:
            while chunk := src.read(CHUNK):
                dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
    return {"seconds": time.perf_counter() - start}


def run_openssl(files: list[Path], work: Path) -> dict[str, Any]:
    target = work / "openssl"
    target.mkdir()
    key, iv = os.urandom(32).hex(), os.urandom(16).hex()
    start = time.perf_counter()
    for path in files:
        out = target / path.name
        subprocess.run(
            ["openssl", "enc", "-aes-256-ctr", "-K", key, "-iv", iv, "-in", str(path),
             "-out", str(out)],
            check=True,
        )  # fmt: skip
        fd = os.open(out, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
    return {"seconds": time.perf_counter() - start}


ENGINES = {"opschub": run_opschub, "plain copy": run_copy, "openssl enc": run_openssl}


def child(engine: str, listing: str, work: str) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    files = [Path(line) for line in Path(listing).read_text().splitlines()]
    print(json.dumps(ENGINES[engine](files, Path(work))))


def run_engine(engine: str, files: list[Path], root: Path) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(dir=root, prefix=engine.replace(" ", "-") + "-"))
    listing = work / "files.txt"
    listing.write_text("\n".join(map(str, files)))
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    answer = subprocess.run(
        [*pin, sys.executable, __file__, "--child", engine, str(listing), str(work)],
        check=True, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")},
    )  # fmt: skip
    shutil.rmtree(work, ignore_errors=True)
    result: dict[str, Any] = json.loads(answer.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1k,1m,500m")
    parser.add_argument("--dir", default=None, help="where to write (the disk under test)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    root = Path(tempfile.mkdtemp(dir=args.dir, prefix="bench-evidence-"))
    engines = [e for e in ENGINES if e != "openssl enc" or shutil.which("openssl")]
    print(f"# {' '.join(sys.argv)}")
    print(f"# {platform.platform()}, {os.cpu_count()} CPUs, load {os.getloadavg()}, dir {root}")
    print(f"| file size | files | {' | '.join(e + ' (MB/s)' for e in engines)} | "
          "opschub / copy | opschub files/s | opschub MB per CPU-second | "
          "opschub peak RSS above start |")  # fmt: skip
    print("|---|---|" + "---|" * len(engines) + "---|---|---|---|")
    try:
        for size in (parse_size(s) for s in args.sizes.split(",")):
            files = make_files(root / f"in-{size}", size)
            total = size * len(files)
            results = {engine: run_engine(engine, files, root) for engine in engines}
            speeds = {e: total / r["seconds"] / 1e6 for e, r in results.items()}
            ours = results["opschub"]
            rss = ours["peak_rss_above_start"] / 2**20
            print(
                f"| {label(size)} | {len(files)} | "
                + " | ".join(f"{speeds[e]:.2f}" for e in engines)
                + f" | {speeds['opschub'] / speeds['plain copy']:.2f}"
                + f" | {len(files) / ours['seconds']:.1f}"
                + f" | {total / ours['cpu_seconds'] / 1e6:.1f} | {rss:.1f} MiB |"
            )
            shutil.rmtree(root / f"in-{size}", ignore_errors=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
