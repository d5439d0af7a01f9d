"""The numpy PDQ against a direct transcription of the reference algorithm's steps."""

from __future__ import annotations

import numpy as np
import pdqhash
import pytest

from opschub.matching import pdqfast


def box(data: np.ndarray, window: int, axis: int) -> np.ndarray:
    """Reference box filter along ``axis``: mean over [o - (w - half), o + half - 1], clipped."""
    half = (window + 2) // 2
    moved = np.moveaxis(data, axis, 0)
    n = moved.shape[0]
    sums = np.concatenate([np.zeros((1, *moved.shape[1:])), np.cumsum(moved, axis=0)])
    o = np.arange(n)
    lo, hi = np.maximum(0, o - (window - half)), np.minimum(n - 1, o + half - 1)
    counts = (hi - lo + 1).reshape(-1, *([1] * (moved.ndim - 1)))
    return np.moveaxis((sums[hi + 1] - sums[lo]) / counts, 0, axis)


def naive_downsample(image: np.ndarray) -> np.ndarray:
    rows, cols = image.shape
    along_rows = (cols + 127) // 128
    along_cols = (rows + 127) // 128
    data = image.astype(np.float64)
    for _ in range(2):
        data = box(data, along_rows, axis=1)
        data = box(data, along_cols, axis=0)
    r = (((np.arange(64) + 0.5) * rows) / 64).astype(int)
    c = (((np.arange(64) + 0.5) * cols) / 64).astype(int)
    return data[np.ix_(r, c)]


@pytest.mark.parametrize(
    "shape", [(64, 64), (37, 90), (300, 201), (257, 512), (5, 640), (700, 1001)]
)
def test_downsample_matches_the_reference_filter(shape: tuple[int, int]) -> None:
    image = np.random.default_rng(1).uniform(0, 255, shape)
    got = pdqfast.downsample_64(image.astype(np.float32))
    assert np.allclose(got, naive_downsample(image), atol=1e-3)


@pytest.mark.parametrize("scale", [2, 4, 8])
@pytest.mark.parametrize("offset", [(0, 0), (-3, 0), (0, -5)])
def test_reduced_input_gives_the_full_size_result_for_blocky_images(
    scale: int, offset: tuple[int, int]
) -> None:
    # When each block is flat, block means lose nothing: the reduced-size path must give
    # exactly the full-size 64 x 64 image, whatever the partial edge blocks.
    rows, cols = 1021, 777
    rng = np.random.default_rng(scale)
    decoded_shape = (-(-(rows - offset[0]) // scale), -(-(cols - offset[1]) // scale))
    decoded = rng.uniform(0, 255, decoded_shape).astype(np.float32)
    full = np.kron(decoded, np.ones((scale, scale), dtype=np.float32))
    full = full[-offset[0] : -offset[0] + rows, -offset[1] : -offset[1] + cols]
    expected = pdqfast.downsample_64(full)
    got = pdqfast.downsample_64(decoded, scale=scale, full_shape=(rows, cols), offset=offset)
    assert np.allclose(got, expected, atol=1e-2)


def test_hash_and_quality_match_pdqhash_bit_for_bit() -> None:
    rng = np.random.default_rng(7)
    # Smooth random image: strong, well separated DCT coefficients.
    small = rng.uniform(0, 255, (12, 16, 3))
    rgb = np.kron(small, np.ones((25, 25, 1))).astype(np.uint8)
    vectors, quality = pdqhash.compute_dihedral(rgb)
    grey = (rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114).astype(np.float32)
    ours = pdqfast.pdq_hashes(grey, dihedral=True)
    assert [name for name, _, _ in ours] == list(pdqfast.DIHEDRAL_TRANSFORMS)
    for (_, hex_, q), vector in zip(ours, vectors, strict=True):
        assert hex_ == pdqfast.vector_to_hex(vector)
        assert q == quality


def test_tiny_images_give_the_empty_hash_like_the_reference() -> None:
    assert pdqfast.pdq_hashes(np.ones((4, 100), dtype=np.float32)) == [("original", "0" * 64, 0)]
    vector, quality = pdqhash.compute(np.zeros((4, 100, 3), dtype=np.uint8))
    assert quality == 0 and not vector.any()


def test_hex_layout() -> None:
    bits = np.zeros(256, dtype=np.uint8)
    bits[255] = 1  # the highest bit is the first hex digit's top bit
    bits[0] = 1
    assert pdqfast.bits_to_hex(bits) == "8" + "0" * 62 + "1"
