"""Generated pictures for the tests: photo-like, never real material. Shared by the evidence,
takedown and browser tests (``from pictures import photo``)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def photo(seed: int = 1, size: int = 256, fmt: str = "PNG") -> bytes:
    """A generated photo-like picture, ``size`` pixels square, encoded as ``fmt`` (smooth
    gradients and shapes, so PDQ quality is high); each seed gives another picture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size]
    base = np.stack(
        [
            (x * rng.uniform(0.3, 1.0) + y * rng.uniform(0, 0.5)) % 256,
            (y * rng.uniform(0.3, 1.0) + 40 * np.sin(x / rng.uniform(5, 30))) % 256,
            ((x - y) * rng.uniform(0.2, 0.8) + 128) % 256,
        ],
        axis=-1,
    ).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(base).save(out, format=fmt)
    return out.getvalue()
