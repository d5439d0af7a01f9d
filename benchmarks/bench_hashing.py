"""Hashing throughput and fidelity: opschub against a plain Pillow full decode + pdqhash.

On one core (the process is pinned to one CPU and timed by its CPU time, so that other load
on a shared machine does not count), end to end per file (read, decode, hash):

* ``pillow+pdqhash``: Image.open, EXIF orientation, convert("RGB"), pdqhash.compute;
* ``opschub pdq``: opschub's fast path (JPEG luminance decoded at reduced size + numpy PDQ);
* ``opschub record``: ``hash_file``, i.e. the fast PDQ plus SHA-256, MD5 and SHA-1 of the bytes.

It prints files per second for JPEG and PNG with ratios, and the distribution of the Hamming
distance between the fast PDQ and the full-decode PDQ (quality >= 80). Optionally (``--pool``)
also the throughput of ``hash_many`` on all cores.

    .venv/bin/python benchmarks/bench_hashing.py [--corpus DIR] [--count 2000] [--pool]
"""

from __future__ import annotations

import os

# One thread per library: the figures are per core.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402


def baseline_pdq(path: Path) -> tuple[str, int]:
    import pdqhash
    from PIL import Image, ImageOps

    with Image.open(path) as img:
        upright = ImageOps.exif_transpose(img)
        rgb = np.asarray(upright.convert("RGB"))
    vector, quality = pdqhash.compute(rgb)
    return np.packbits(vector.astype(np.uint8)).tobytes().hex(), int(quality)


def opschub_pdq(path: Path) -> tuple[str, int]:
    from opschub.matching import pdqfast
    from opschub.matching.decode import decode_luma

    luma = decode_luma(path.read_bytes())
    ((_, hex_, quality),) = pdqfast.pdq_hashes(
        luma.pixels, scale=luma.scale, full_shape=luma.full_shape, offset=luma.offset
    )
    return hex_, quality


def opschub_record(path: Path) -> tuple[str, int]:
    from opschub.matching.hashing import hash_file

    result = hash_file(path)
    if result.pdq is None or result.quality is None:
        raise RuntimeError(f"{path}: {result.error}")
    return result.pdq, result.quality


METHODS: dict[str, Callable[[Path], tuple[str, int]]] = {
    "pillow+pdqhash": baseline_pdq,
    "opschub pdq": opschub_pdq,
    "opschub record": opschub_record,
}


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=corpus.DEFAULT_DIR)
    parser.add_argument("--count", type=int, default=2000, help="corpus size (generated once)")
    parser.add_argument("--cpu", type=int, default=0, help="CPU to pin the timed process to")
    parser.add_argument("--pool", action="store_true", help="also time hash_many on all cores")
    args = parser.parse_args(argv)

    from rich.progress import track

    from opschub.matching import pdqfast

    specs = corpus.ensure_corpus(args.corpus, count=args.count)
    paths = [args.corpus / s.name for s in specs]
    kinds = [s.format for s in specs]
    megapixels = [s.megapixels for s in specs]
    for path in paths:  # warm the page cache: every method then reads from memory
        path.read_bytes()
    for method in METHODS.values():  # imports and first-call set-up are not per-file costs
        method(paths[0])

    cpu_count = os.cpu_count() or 1
    os.sched_setaffinity(0, {args.cpu})
    # CPU time of this (single-threaded) process: on a shared, busy machine wall time mostly
    # measures the other processes. Wall time is reported too.
    seconds = {name: np.zeros(len(paths)) for name in METHODS}
    wall = {name: np.zeros(len(paths)) for name in METHODS}
    hashes: dict[str, list[tuple[str, int]]] = {name: [] for name in METHODS}
    # Interleaved per file so that load from other processes hits every method alike.
    for index, path in enumerate(track(paths, description="hashing on one core")):
        for name, method in METHODS.items():
            # Photo sizes rarely repeat in real collections: pay the per-size set-up each time.
            pdqfast._band.cache_clear()
            start, start_wall = time.process_time(), time.perf_counter()
            hashes[name].append(method(path))
            seconds[name][index] = time.process_time() - start
            wall[name][index] = time.perf_counter() - start_wall
    os.sched_setaffinity(0, set(range(cpu_count)))

    load = os.getloadavg()
    print()
    print(f"corpus: {args.corpus} ({len(paths)} files, {sum(k == 'JPEG' for k in kinds)} JPEG)")
    print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}, {cpu_count} cores")
    print()
    base = "pillow+pdqhash"
    print(
        f"{'files/s on one core':28s}"
        + "".join(f"{n:>18s}" for n in METHODS)
        + "   ratios vs baseline"
    )
    for kind in ("JPEG", "PNG", "all"):
        mask = np.array([kind in ("all", k) for k in kinds])
        rates = {n: mask.sum() / seconds[n][mask].sum() for n in METHODS}
        ratios = "  ".join(f"{n}: {rates[n] / rates[base]:.1f}x" for n in METHODS if n != base)
        row = f"{kind + f' ({mask.sum()} files)':28s}" + "".join(
            f"{rates[n]:18.1f}" for n in METHODS
        )
        print(row + "   " + ratios)
    wall_rates = {n: len(paths) / wall[n].sum() for n in METHODS}
    print(
        "wall clock, all files (inflated by other processes): "
        + ", ".join(f"{n} {wall_rates[n]:.1f}/s" for n in METHODS)
        + f"; opschub pdq {wall_rates['opschub pdq'] / wall_rates[base]:.1f}x"
    )
    mp = np.array(megapixels)
    for low, high in ((0.3, 1.0), (1.0, 4.0), (4.0, 12.0)):
        mask = (mp >= low) & (mp < high) & np.array([k == "JPEG" for k in kinds])
        if mask.any():
            rates = {n: mask.sum() / seconds[n][mask].sum() for n in METHODS}
            print(
                f"JPEG {low:g}-{high:g} MP ({mask.sum()}): "
                + ", ".join(f"{n} {rates[n]:.1f}/s" for n in METHODS)
                + f"; opschub pdq {rates['opschub pdq'] / rates[base]:.1f}x"
            )

    print()
    print("Hamming distance, opschub fast PDQ vs full-decode pdqhash")
    for kind in ("JPEG", "PNG", "all"):
        pairs = [
            (hamming(f[0], b[0]), b[1], f[1])
            for f, b, k in zip(hashes["opschub pdq"], hashes[base], kinds, strict=True)
            if kind in ("all", k)
        ]
        good = np.array([d for d, bq, _ in pairs if bq >= 80])
        every = np.array([d for d, _, _ in pairs])
        quality_gap = np.array([abs(bq - fq) for _, bq, fq in pairs])
        print(
            f"  {kind:4s} quality>=80 ({good.size}): median {np.median(good):.0f}, "
            f"p95 {np.percentile(good, 95):.0f}, p99 {np.percentile(good, 99):.0f}, "
            f"max {good.max()}, share <=10 {np.mean(good <= 10):.3f}, "
            f"<=31 {np.mean(good <= 31):.4f}"
            f" | all qualities ({every.size}): median {np.median(every):.0f}, "
            f"p95 {np.percentile(every, 95):.0f} | quality gap median {np.median(quality_gap):.0f}"
            f", max {quality_gap.max()}"
        )
    jpeg_good = [
        hamming(f[0], b[0])
        for f, b, k in zip(hashes["opschub pdq"], hashes[base], kinds, strict=True)
        if k == "JPEG" and b[1] >= 80
    ]
    histogram = np.bincount(np.array(jpeg_good), minlength=1)
    print(
        "  JPEG histogram (distance: files): "
        + ", ".join(f"{d}: {c}" for d, c in enumerate(histogram) if c)
    )
    records_agree = all(
        a == b for a, b in zip(hashes["opschub pdq"], hashes["opschub record"], strict=True)
    )
    print(f"  opschub record PDQ identical to opschub pdq: {records_agree}")

    if args.pool:
        from opschub.matching.hashing import hash_many

        start = time.perf_counter()
        done = sum(1 for _ in hash_many(paths))
        elapsed = time.perf_counter() - start
        print()
        print(
            f"hash_many on {cpu_count} cores (process pool, records incl. digests): "
            f"{done / elapsed:.1f} files/s wall for {done} files"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
