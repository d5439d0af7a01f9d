"""Recall under edits, with and without the query options (dihedral hashes, border trimming).

The hash list is the PDQ of every corpus file (``benchmarks/corpus.py``). A sample of them is
edited (JPEG re-compression, resizing, small crops, padding, brightness, blur, a watermark
box in a corner, rotations, mirror image) and each edited copy is queried by brute-force
Hamming distance against the whole list with threshold 31:

* recall: the edited copy matches its own original, per edit and query mode
  (plain PDQ; + 8 dihedral hashes; + trimmed-border hashes; both);
* false matches: a query matching a list entry made from a different sample photo.

Entries and queries of quality < 50 are not matched (as in the store). Hashes are opschub's
fast path (what ``opschub hash`` and ``opschub match`` use).

    .venv/bin/python benchmarks/bench_recall.py [--corpus DIR] [--originals 300]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus

THRESHOLD = 31
MIN_QUALITY = 50
MAX_ORIGINAL_MP = 3.0  # keeps the edit-and-hash loop short

MODES = ("plain", "dihedral", "trim", "dihedral+trim")


def _edits() -> dict[str, Callable[..., object]]:
    from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

    def pad(img: Image.Image, top: float, side: float, colour: tuple[int, int, int]) -> Image.Image:
        w, h = img.size
        dy, dx = round(h * top), round(w * side)
        out = Image.new("RGB", (w + 2 * dx, h + 2 * dy), colour)
        out.paste(img, (dx, dy))
        return out

    def crop(img: Image.Image, share: float) -> Image.Image:
        w, h = img.size
        return img.crop(
            (round(w * share), round(h * share), round(w * (1 - share)), round(h * (1 - share)))
        )

    def watermark(img: Image.Image) -> Image.Image:
        w, h = img.size
        overlay = Image.new("RGBA", img.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        box = (round(w * 0.72), round(h * 0.88), round(w * 0.97), round(h * 0.96))
        draw.rectangle(box, fill=(255, 255, 255, 128))
        draw.text((box[0] + 8, box[1] + 4), "(c) opschub sample", fill=(0, 0, 0, 220))
        return Image.alpha_composite(img.convert("RGBA"), overlay).convert("RGB")

    def blur(img: Image.Image) -> Image.Image:
        return img.filter(ImageFilter.GaussianBlur(radius=max(1.0, min(img.size) / 300)))

    return {
        "jpeg q=50": lambda img: img,  # re-encoded below at quality 50
        "resize 50%": lambda img: img.resize(
            (img.width // 2, img.height // 2), Image.Resampling.LANCZOS
        ),
        "resize 25%": lambda img: img.resize(
            (img.width // 4, img.height // 4), Image.Resampling.LANCZOS
        ),
        "crop 2% each side": lambda img: crop(img, 0.02),
        "crop 5% each side": lambda img: crop(img, 0.05),
        "letterbox 15% black": lambda img: pad(img, 0.15, 0.0, (0, 0, 0)),
        "frame 10% white": lambda img: pad(img, 0.10, 0.10, (255, 255, 255)),
        "brightness +30%": lambda img: ImageEnhance.Brightness(img).enhance(1.3),
        "gaussian blur": blur,
        "watermark": watermark,
        "rotate 90": lambda img: img.transpose(Image.Transpose.ROTATE_90),
        "rotate 180": lambda img: img.transpose(Image.Transpose.ROTATE_180),
        "rotate 270": lambda img: img.transpose(Image.Transpose.ROTATE_270),
        "mirror": lambda img: img.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        "mirror + letterbox": lambda img: pad(
            img.transpose(Image.Transpose.FLIP_LEFT_RIGHT), 0.15, 0.0, (0, 0, 0)
        ),
    }


EDIT_NAMES = tuple(_edits())


def edit_and_hash(path: str) -> list[tuple[str, list[tuple[str, str, int]]]]:
    """Every edit of one original, hashed as a query with all variants."""
    from PIL import Image, ImageOps

    from opschub.matching.hashing import query_hashes_from_bytes

    with Image.open(path) as opened:
        upright = ImageOps.exif_transpose(opened).convert("RGB")
    out = []
    for name, edit in _edits().items():
        edited = edit(upright)
        buffer = io.BytesIO()
        edited.save(buffer, format="JPEG", quality=50 if name == "jpeg q=50" else 90)
        _, variants = query_hashes_from_bytes(buffer.getvalue(), name)
        out.append((name, [(v.transform, v.pdq, v.quality) for v in variants]))
    return out


def to_bits(hexes: list[str]) -> np.ndarray:
    codes = np.frombuffer(b"".join(bytes.fromhex(h) for h in hexes), dtype=np.uint8)
    return np.unpackbits(codes.reshape(-1, 32), axis=1).astype(np.float32)


def distances(queries: np.ndarray, entries: np.ndarray) -> np.ndarray:
    """Exact Hamming distances (brute force) via |q| + |e| - 2 q.e on 0/1 vectors."""
    dots = queries @ entries.T
    return np.rint(queries.sum(1)[:, None] + entries.sum(1)[None, :] - 2 * dots).astype(np.int32)


def in_mode(transform: str, mode: str) -> bool:
    trimmed = transform.startswith("trimmed+")
    base = transform.removeprefix("trimmed+")
    if trimmed and "trim" not in mode:
        return False
    return base == "original" or "dihedral" in mode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=corpus.DEFAULT_DIR)
    parser.add_argument("--count", type=int, default=2000, help="corpus size (generated once)")
    parser.add_argument("--originals", type=int, default=300, help="how many files to edit")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)

    from concurrent.futures import ProcessPoolExecutor

    from rich.progress import track

    from opschub.matching.hashing import hash_many

    specs = corpus.ensure_corpus(args.corpus, count=args.count)
    paths = [args.corpus / s.name for s in specs]
    by_path = {str(p): s for p, s in zip(paths, specs, strict=True)}
    entries: dict[str, tuple[str, int]] = {}
    for record, _ in track(
        hash_many(paths, workers=args.workers), total=len(paths), description="hashing the list"
    ):
        assert record.pdq is not None and record.quality is not None, record
        entries[record.path] = (record.pdq, record.quality)
    list_paths = [str(p) for p in paths]
    list_bits = to_bits([entries[p][0] for p in list_paths])
    list_quality = np.array([entries[p][1] for p in list_paths])
    list_source = np.array([by_path[p].source for p in list_paths])
    usable = list_quality >= MIN_QUALITY

    candidates = [
        str(p)
        for p, s in zip(paths, specs, strict=True)
        if s.megapixels <= MAX_ORIGINAL_MP and entries[str(p)][1] >= MIN_QUALITY
    ]
    step = max(1, len(candidates) // args.originals)
    originals = candidates[::step][: args.originals]
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        edited = list(
            track(
                pool.map(edit_and_hash, originals, chunksize=2),
                total=len(originals),
                description="editing and hashing queries",
            )
        )

    row_of = {p: i for i, p in enumerate(list_paths)}
    found = {(edit, mode): 0 for edit in EDIT_NAMES for mode in MODES}
    total = dict.fromkeys(EDIT_NAMES, 0)
    low_quality = dict.fromkeys(EDIT_NAMES, 0)
    false_queries = {mode: 0 for mode in MODES}
    false_pairs = {mode: 0 for mode in MODES}
    queries_total = 0
    for original, results in zip(originals, edited, strict=True):
        own = row_of[original]
        source = by_path[original].source
        other_photo = usable & (list_source != source)
        for edit, variants in results:
            total[edit] += 1
            queries_total += 1
            if variants[0][2] < MIN_QUALITY:
                low_quality[edit] += 1
            kept = [(t, h) for t, h, q in variants if q >= MIN_QUALITY]
            if not kept:
                continue
            dist = distances(to_bits([h for _, h in kept]), list_bits)
            for mode in MODES:
                rows = [i for i, (t, _) in enumerate(kept) if in_mode(t, mode)]
                if not rows:
                    continue
                best = dist[rows].min(axis=0)
                if best[own] <= THRESHOLD:
                    found[(edit, mode)] += 1
                false = (best <= THRESHOLD) & other_photo
                false_pairs[mode] += int(false.sum())
                false_queries[mode] += int(false.any())

    print()
    print(
        f"list: {len(list_paths)} corpus files ({int(usable.sum())} with quality >= {MIN_QUALITY}),"
        f" {len(originals)} originals edited ({len(set(by_path[o].source for o in originals))}"
        f" sample photos), threshold {THRESHOLD}"
    )
    print()
    print(
        f"{'recall (edited copy matches its original)':44s}" + "".join(f"{m:>15s}" for m in MODES)
    )
    for edit in EDIT_NAMES:
        cells = "".join(f"{found[(edit, m)] / total[edit]:15.3f}" for m in MODES)
        note = (
            f"   ({low_quality[edit]} queries quality < {MIN_QUALITY})" if low_quality[edit] else ""
        )
        print(f"{edit:44s}{cells}{note}")
    overall = "".join(
        f"{sum(found[(e, m)] for e in EDIT_NAMES) / sum(total.values()):15.3f}" for m in MODES
    )
    print(f"{'all edits':44s}{overall}")
    print()
    print(
        f"false matches (query vs entries from a different sample photo), {queries_total} queries"
    )
    for mode in MODES:
        print(
            f"  {mode:15s} queries with a false match: {false_queries[mode]:5d} "
            f"({false_queries[mode] / queries_total:.4f}); false pairs: {false_pairs[mode]}"
        )
    dist_list = distances(list_bits[usable], list_bits[usable])
    sources = list_source[usable]
    different = sources[:, None] != sources[None, :]
    upper = np.triu(np.ones_like(different), k=1)
    pairs = int(((dist_list <= THRESHOLD) & different & upper).sum())
    min_other = int(dist_list[different].min())
    print(
        f"  list vs list: {pairs} pairs of entries from different sample photos within "
        f"{THRESHOLD} (closest such pair: {min_other})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
