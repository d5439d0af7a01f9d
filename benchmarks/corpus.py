"""Generate the hashing benchmark corpus: JPEG and PNG files of 0.3-12 megapixels.

Every file is a crop of one of scikit-image's bundled sample photos, resized to a size drawn
log-uniformly between 0.3 and 12 megapixels, with fine noise (sensor-like texture, so upscaled
photos do not compress unrealistically well), then saved as JPEG (quality 70-95, some
progressive, some 4:4:4, some with an EXIF orientation) or PNG. Deterministic from the seed;
the directory is reused when its manifest matches.

    .venv/bin/python benchmarks/corpus.py [DIR] [--count 2000] [--workers 2]
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

DEFAULT_DIR = Path("/tmp/opschub-bench/hash-corpus")
CORPUS_VERSION = 1
MIN_MP, MAX_MP = 0.3, 12.0
PNG_SHARE = 0.2

# Only the photos bundled with scikit-image (no download at run time).
SOURCES = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "retina",
    "hubble_deep_field",
    "immunohistochemistry",
    "camera",
    "moon",
    "brick",
    "grass",
    "gravel",
    "clock",
    "coins",
)


def load_source(name: str) -> np.ndarray:
    """A bundled sample photo as uint8 RGB."""
    from skimage import data

    loader: Callable[[], np.ndarray] = getattr(data, name)
    array = np.asarray(loader())
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    return np.ascontiguousarray(array[:, :, :3], dtype=np.uint8)


@dataclass(frozen=True)
class Spec:
    """Everything that defines one corpus file."""

    index: int
    source: str
    crop: tuple[float, float, float, float]  # share cut from top, bottom, left, right
    aspect_jitter: float
    megapixels: float
    noise: float
    format: str
    quality: int
    progressive: bool
    subsampling: int  # 0 = 4:4:4, 2 = 4:2:0
    orientation: int  # EXIF tag stored with the file

    @property
    def name(self) -> str:
        return f"{self.index:05d}_{self.source}.{'png' if self.format == 'PNG' else 'jpg'}"


def item_spec(index: int, seed: int = 0) -> Spec:
    """The deterministic description of corpus file ``index``."""
    rng = np.random.default_rng([seed, index])
    crop = rng.uniform(0.0, 0.25, 4)
    return Spec(
        index=index,
        source=SOURCES[index % len(SOURCES)],
        crop=(float(crop[0]), float(crop[1]), float(crop[2]), float(crop[3])),
        aspect_jitter=float(rng.uniform(0.8, 1.25)),
        megapixels=math.exp(rng.uniform(math.log(MIN_MP), math.log(MAX_MP))),
        noise=float(rng.uniform(1.0, 4.0)),
        format="PNG" if rng.random() < PNG_SHARE else "JPEG",
        quality=int(rng.integers(70, 96)),
        progressive=bool(rng.random() < 0.2),
        subsampling=0 if rng.random() < 0.25 else 2,
        orientation=int(rng.choice([1, 6, 8, 3])) if rng.random() < 0.1 else 1,
    )


def render(spec: Spec, seed: int = 0) -> bytes:
    """Encode the file described by ``spec``."""
    from PIL import Image

    source = load_source(spec.source)
    rows, cols = source.shape[:2]
    top, bottom, left, right = spec.crop
    crop = source[
        int(top * rows) : rows - int(bottom * rows), int(left * cols) : cols - int(right * cols)
    ]
    aspect = crop.shape[1] / crop.shape[0] * spec.aspect_jitter
    height = max(1, round(math.sqrt(spec.megapixels * 1e6 / aspect)))
    width = max(1, round(spec.megapixels * 1e6 / height))
    img = Image.fromarray(crop).resize((width, height), Image.Resampling.BICUBIC)
    # Sensor-like noise from a tiled 256 x 256 patch: cheap even at 12 MP.
    rng = np.random.default_rng([seed, spec.index, 1])
    patch = rng.normal(0.0, spec.noise, (256, 256, 3)).astype(np.int16)
    reps = (math.ceil(height / 256), math.ceil(width / 256), 1)
    noisy = np.asarray(img, dtype=np.int16) + np.tile(patch, reps)[:height, :width]
    img = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    if spec.orientation != 1:
        # Store the pixels as a camera would, with the tag that makes them upright again.
        stored_as = {
            3: Image.Transpose.ROTATE_180,
            6: Image.Transpose.ROTATE_90,
            8: Image.Transpose.ROTATE_270,
        }
        img = img.transpose(stored_as[spec.orientation])
    buffer = io.BytesIO()
    if spec.format == "PNG":
        img.save(buffer, format="PNG", compress_level=1)
    else:
        exif = Image.Exif()
        if spec.orientation != 1:
            exif[0x0112] = spec.orientation
        img.save(
            buffer,
            format="JPEG",
            quality=spec.quality,
            progressive=spec.progressive,
            subsampling=spec.subsampling,
            exif=exif,
        )
    return buffer.getvalue()


def _write(args: tuple[Spec, str, int]) -> str:
    spec, directory, seed = args
    path = Path(directory) / spec.name
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(render(spec, seed))
    tmp.replace(path)
    return str(path)


def ensure_corpus(
    directory: Path = DEFAULT_DIR, *, count: int = 2000, seed: int = 0, workers: int = 2
) -> list[Spec]:
    """Create (or reuse) the corpus and return the description of its files."""
    from rich.progress import Progress

    directory.mkdir(parents=True, exist_ok=True)
    manifest_path = directory / "manifest.json"
    specs = [item_spec(i, seed) for i in range(count)]
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        items = json.loads(json.dumps([asdict(s) for s in specs]))  # tuples as JSON lists
        same = manifest.get("version") == CORPUS_VERSION and manifest.get("items") == items
        if same and all((directory / s.name).is_file() for s in specs):
            return specs
    missing = [s for s in specs if not (directory / s.name).is_file()]
    with Progress() as progress, ProcessPoolExecutor(max_workers=workers) as pool:
        label = f"generating {len(missing)} files in {directory}"
        task = progress.add_task(label, total=len(missing))
        jobs = [(s, str(directory), seed) for s in missing]
        for _ in pool.map(_write, jobs, chunksize=4):
            progress.advance(task)
    items = [asdict(s) for s in specs]
    manifest_path.write_text(json.dumps({"version": CORPUS_VERSION, "items": items}))
    return specs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    specs = ensure_corpus(args.directory, count=args.count, seed=args.seed, workers=args.workers)
    sizes = [os.path.getsize(args.directory / s.name) for s in specs]
    jpeg = sum(s.format == "JPEG" for s in specs)
    print(
        f"{len(specs)} files ({jpeg} JPEG, {len(specs) - jpeg} PNG), "
        f"{sum(sizes) / 1e9:.2f} GB in {args.directory}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
