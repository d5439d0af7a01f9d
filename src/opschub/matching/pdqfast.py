"""PDQ from a luminance plane, in numpy, including from JPEGs decoded at reduced size.

PDQ (Meta, 2017) downsamples luminance to 64 x 64 with a Jarosz filter (two passes of a box
filter of window ceil(n / 128) along each axis, then picking the pixel at each cell centre),
takes DCT coefficients 1..16 x 1..16, sets a bit where a coefficient exceeds their median and
derives a quality score from the gradients of the 64 x 64 image.

The filter and decimation are linear and separable, so the whole downsampling is
``Wr @ luma @ Wc.T`` with one 64 x n weight matrix per axis. The weights reproduce the reference
filter (window sizes, its half-pixel offset on even windows, shrinking windows at the edges and
the sample positions). For a JPEG decoded with DCT scaling by ``s`` each decoded pixel is the
mean of an s x s block, so its weight is the sum of the reference weights over that block: the
result approximates the full-decode hash far better than running PDQ on the small image would.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

HASH_SIZE = 64  # side of the downsampled image
MIN_HASHABLE_DIM = 5  # the reference gives an empty hash with quality 0 below this

DIHEDRAL_TRANSFORMS = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flipx",
    "flipy",
    "flip_plus_1",
    "flip_minus_1",
)

_EMPTY_HEX = "0" * 64


def pdq_hashes(
    pixels: np.ndarray,
    *,
    scale: int = 1,
    full_shape: tuple[int, int] | None = None,
    offset: tuple[int, int] = (0, 0),
    dihedral: bool = False,
) -> list[tuple[str, str, int]]:
    """PDQ of a luminance plane as ``[(transform, hex, quality), ...]``.

    ``pixels`` is float luminance (rows, cols). When it was decoded at 1/``scale`` size,
    ``full_shape`` is the (rows, cols) of the full image and ``offset`` says where the first
    decoded block starts (see :class:`opschub.matching.decode.Luma`); the hash then
    approximates the one of the full-size image. With ``dihedral`` all 8 rotations and mirror
    images are returned, in :data:`DIHEDRAL_TRANSFORMS` order; otherwise only "original".
    """
    if full_shape is None:
        full_shape = (pixels.shape[0] * scale, pixels.shape[1] * scale)
    rows, cols = full_shape
    names = DIHEDRAL_TRANSFORMS if dihedral else DIHEDRAL_TRANSFORMS[:1]
    if rows < MIN_HASHABLE_DIM or cols < MIN_HASHABLE_DIM:
        return [(name, _EMPTY_HEX, 0) for name in names]
    small = downsample_64(pixels, scale=scale, full_shape=(rows, cols), offset=offset)
    quality = quality_metric(small)
    coefficients = dct_16(small)
    if not dihedral:
        return [("original", bits_to_hex(threshold_bits(coefficients)), quality)]
    return [
        (name, bits_to_hex(threshold_bits(variant)), quality)
        for name, variant in zip(names, dihedral_coefficients(coefficients), strict=True)
    ]


def downsample_64(
    pixels: np.ndarray,
    *,
    scale: int = 1,
    full_shape: tuple[int, int] | None = None,
    offset: tuple[int, int] = (0, 0),
) -> np.ndarray:
    """The reference 64 x 64 Jarosz-filtered image (float64)."""
    rows, cols = full_shape or (pixels.shape[0] * scale, pixels.shape[1] * scale)
    row_index, row_weights = _band(rows, scale, pixels.shape[0], offset[0])
    col_index, col_weights = _band(cols, scale, pixels.shape[1], offset[1])
    data = np.asarray(pixels, dtype=np.float32)
    # Banded weights applied by gathering, not as dense matrix products: no BLAS call, so no
    # BLAS thread pool (which stalls badly on a busy machine) and no work on zero weights.
    across_rows = np.einsum("ik,ikj->ij", row_weights, data[row_index])
    out = np.einsum("jk,ijk->ij", col_weights, across_rows[:, col_index])
    return np.asarray(out, dtype=np.float64)


def quality_metric(small: np.ndarray) -> int:
    """Reference quality: count of significant gradients in the 64 x 64 image, 0..100."""
    a = small.astype(np.float32)
    down = np.trunc((a[:-1, :] - a[1:, :]) * np.float32(100) / np.float32(255))
    across = np.trunc((a[:, :-1] - a[:, 1:]) * np.float32(100) / np.float32(255))
    gradient_sum = int(np.abs(down).sum()) + int(np.abs(across).sum())
    return min(gradient_sum // 90, 100)


def dct_16(small: np.ndarray) -> np.ndarray:
    """DCT coefficients 1..16 along both axes of the 64 x 64 image (the DC term is left out)."""
    d = _dct_matrix()
    return np.asarray(d @ small @ d.T, dtype=np.float64)


def threshold_bits(coefficients: np.ndarray) -> np.ndarray:
    """256 bits, bit i*16+j set when coefficient (i, j) is above the (lower) median."""
    flat = coefficients.reshape(-1)
    median = np.partition(flat, 127)[127]
    return (flat > median).astype(np.uint8)


def bits_to_hex(bits: np.ndarray) -> str:
    """Hex of bits indexed by bit number, in the reference order (first digit: bits 255..252)."""
    return np.packbits(np.asarray(bits, dtype=np.uint8)[::-1]).tobytes().hex()


def vector_to_hex(vector: np.ndarray) -> str:
    """Hex of a ``pdqhash`` bit vector (already in display order, bit 255 first)."""
    return np.packbits(np.asarray(vector, dtype=np.uint8)).tobytes().hex()


def dihedral_coefficients(c: np.ndarray) -> list[np.ndarray]:
    """DCT coefficients of the 8 rotations/mirror images, in DIHEDRAL_TRANSFORMS order.

    Mirroring an axis multiplies coefficient k (1-based frequency k+1) by (-1)^(k+1); rotations
    are mirrorings combined with a transpose. No pixel work is needed.
    """
    odd = (np.arange(16) % 2).astype(np.float64)
    flip = np.where(odd == 1, 1.0, -1.0)  # sign of coefficient k under a mirror
    row_sign = flip[:, None]
    col_sign = flip[None, :]
    return [
        c,
        (c * col_sign).T,
        c * row_sign * col_sign,
        (c * row_sign).T,
        c * row_sign,
        c * col_sign,
        c.T,
        (c * row_sign * col_sign).T,
    ]


@lru_cache(maxsize=8)
def _dct_matrix() -> np.ndarray:
    i = np.arange(1, 17, dtype=np.float64)[:, None]
    j = np.arange(HASH_SIZE, dtype=np.float64)[None, :]
    return np.sqrt(2.0 / HASH_SIZE) * np.cos(np.pi / 2.0 / HASH_SIZE * i * (2.0 * j + 1.0))


@lru_cache(maxsize=256)
def _band(
    full_length: int, scale: int, decoded_length: int, offset: int
) -> tuple[np.ndarray, np.ndarray]:
    """Downsampling weights along one axis, as (64, K) decoded-pixel indices and weights.

    Row i holds the weights of the reference filter (decimate . box . box) for output i over
    the full-size axis of ``full_length`` pixels, summed over each decoded pixel's block
    ``[offset + k*scale, offset + (k+1)*scale)``. Only the non-zero band is kept.
    """
    n = full_length
    window = (n + 2 * HASH_SIZE - 1) // (2 * HASH_SIZE)
    half = (window + 2) // 2
    behind, ahead = window - half, half - 1  # box window of output o: [o - behind, o + ahead]
    centres = (((np.arange(HASH_SIZE) + 0.5) * n) / HASH_SIZE).astype(np.int64)

    # The sample at a centre is the mean of the first-pass outputs k in its edge-clipped
    # window, and each of those is the mean of its own edge-clipped window.
    k = centres[:, None] + np.arange(-behind, ahead + 1)[None, :]  # (64, window)
    k_valid = (k >= 0) & (k < n)
    k = np.clip(k, 0, n - 1)
    k_lo, k_hi = np.maximum(0, k - behind), np.minimum(n - 1, k + ahead)
    share = 1.0 / k_valid.sum(axis=1, keepdims=True)
    value = np.where(k_valid, share / (k_hi - k_lo + 1), 0.0)
    span = 2 * window - 1  # full-size pixels a sample can reach
    p = (centres - 2 * behind)[:, None] + np.arange(span)[None, :]  # (64, span)
    inside = (k_lo[:, :, None] <= p[:, None, :]) & (p[:, None, :] <= k_hi[:, :, None])
    full_weights = np.einsum("iw,iwt->it", value, inside)  # zero outside [0, n)

    # Sum the weights of the full-size pixels that make up each decoded pixel.
    decoded = (p - offset) // scale
    first = np.clip((np.maximum(p[:, 0], 0) - offset) // scale, 0, decoded_length - 1)
    last = np.clip((np.minimum(p[:, -1], n - 1) - offset) // scale, 0, decoded_length - 1)
    width = int((last - first).max()) + 1
    local = np.clip(decoded - first[:, None], 0, width - 1)
    flat = (np.arange(HASH_SIZE)[:, None] * width + local).ravel()
    summed = np.bincount(flat, weights=full_weights.ravel(), minlength=HASH_SIZE * width)
    weights = summed.reshape(HASH_SIZE, width).astype(np.float32)
    index = first[:, None] + np.arange(width)[None, :]
    weights[index > decoded_length - 1] = 0.0  # padding past the last pixel
    index = np.minimum(index, decoded_length - 1)
    index.setflags(write=False)
    weights.setflags(write=False)
    return index, weights
