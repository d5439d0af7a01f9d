"""Uniform border detection for query images."""

from __future__ import annotations

import numpy as np
import pytest

from opschub.matching.borders import find_uniform_borders


def content(rows: int = 120, cols: int = 160, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    blocks = rng.integers(30, 225, (rows // 8, cols // 8)).astype(np.float32)
    return np.kron(blocks, np.ones((8, 8), dtype=np.float32))


def padded(
    inner: np.ndarray, top: int, bottom: int, left: int, right: int, value: float
) -> np.ndarray:
    return np.pad(inner, ((top, bottom), (left, right)), constant_values=value)


@pytest.mark.parametrize(
    ("sides", "value"),
    [
        ((40, 40, 0, 0), 0.0),  # letterbox
        ((0, 0, 30, 30), 255.0),  # pillarbox
        ((10, 25, 7, 5), 128.0),  # uneven frame
        ((0, 50, 0, 0), 0.0),  # one side only
    ],
)
def test_borders_are_found_exactly(sides: tuple[int, int, int, int], value: float) -> None:
    inner = content()
    top, bottom, left, right = sides
    image = padded(inner, top, bottom, left, right, value)
    box = find_uniform_borders(image)
    assert box == (top, top + inner.shape[0], left, left + inner.shape[1])


def test_noisy_jpeg_like_borders_are_found() -> None:
    inner = content()
    image = padded(inner, 30, 30, 0, 0, 0.0)
    noise = np.random.default_rng(1).normal(0, 2, image.shape).astype(np.float32)
    box = find_uniform_borders(np.clip(image + noise, 0, 255))
    assert box is not None
    assert abs(box[0] - 30) <= 1 and abs(box[1] - 150) <= 1


def test_different_colours_per_side() -> None:
    inner = content()
    image = padded(inner, 20, 0, 0, 0, 0.0)
    image = padded(image, 0, 0, 0, 25, 255.0)
    assert find_uniform_borders(image) == (20, 140, 0, 160)


@pytest.mark.parametrize(
    "image",
    [
        content(),  # no border
        np.full((100, 100), 77.0, dtype=np.float32),  # uniform as a whole
        padded(content(), 1, 1, 1, 1, 0.0),  # a hairline frame is not worth a second hash
        padded(content(16, 16), 100, 100, 100, 100, 0.0),  # almost nothing left inside
        np.zeros((5, 5), dtype=np.float32),  # too small
    ],
)
def test_no_trim_when_nothing_worth_trimming(image: np.ndarray) -> None:
    assert find_uniform_borders(image) is None


def test_photo_with_dark_sky_edge_is_not_cut_into() -> None:
    # A content row that is dark but not uniform must stop the scan.
    inner = content()
    inner[:10] = np.linspace(0, 60, inner.shape[1], dtype=np.float32)[None, :]
    image = padded(inner, 20, 20, 0, 0, 0.0)
    box = find_uniform_borders(image)
    assert box is not None and box[0] <= 21


def test_uniform_part_of_the_picture_next_to_padding_is_kept() -> None:
    # A clear sky (uniform, but not the padding's colour) under black letterboxing: only the
    # black bars are borders.
    inner = content()
    inner[:30] = 200.0
    image = padded(inner, 40, 40, 0, 0, 0.0)
    assert find_uniform_borders(image) == (40, 160, 0, 160)
