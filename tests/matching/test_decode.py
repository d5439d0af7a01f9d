"""Decoding: modes, EXIF orientation, animations, reduced JPEG geometry and hostile input."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from opschub.matching.decode import (
    MAX_PIXELS,
    DecodeError,
    decode_luma,
    decode_rgb,
    image_luma,
    image_rgb,
    open_image,
)
from opschub.matching.hashing import hash_file, hash_image_bytes


def distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def photo(size: tuple[int, int] = (256, 192)) -> Image.Image:
    from skimage import data

    return Image.fromarray(data.coffee()).resize(size)


def encoded(img: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def huge_png(width: int, height: int) -> bytes:
    """A tiny file declaring a huge 8-bit greyscale image (a decompression bomb's header)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 100_000, 9)  # the first rows; decoding would need 2.5 GB
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def upright_hash() -> str:
    result = hash_image_bytes(encoded(photo()), fast=False)
    assert result.pdq
    return result.pdq


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGBA", "CMYK", "RGB"])
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
def test_every_8bit_mode_hashes_like_the_rgb_image(
    mode: str, fast: bool, upright_hash: str
) -> None:
    data = encoded(photo().convert(mode), "TIFF" if mode == "CMYK" else "PNG")
    assert Image.open(io.BytesIO(data)).mode == mode
    result = hash_image_bytes(data, f"image.{mode}", fast=fast)
    assert result.error is None, result.error
    assert result.pdq
    assert distance(result.pdq, upright_hash) <= 16, mode


def test_palette_with_transparency_and_bilevel_files_hash() -> None:
    img = photo().convert("P")
    with_transparency = encoded(img, "PNG", transparency=0)
    assert "transparency" in Image.open(io.BytesIO(with_transparency)).info
    assert hash_image_bytes(with_transparency).pdq
    assert hash_image_bytes(encoded(photo().convert("1"), "PNG")).pdq


@pytest.mark.parametrize("mode", ["PA", "LA", "RGBA", "La", "RGBa", "YCbCr", "LAB", "HSV", "I"])
def test_image_helpers_accept_in_memory_modes(mode: str) -> None:
    # Modes no common file format stores directly but Pillow plugins can produce.
    source = photo()
    img = source.convert("P").convert("PA") if mode == "PA" else source.convert(mode)
    luma = image_luma(img)
    rgb = image_rgb(img)
    assert luma.shape == (192, 256) and luma.dtype == np.float32
    assert rgb.shape == (192, 256, 3) and rgb.dtype == np.uint8
    assert 20 < float(luma.mean()) < 235


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
def test_sixteen_bit_and_float_images_are_scaled_not_clipped(fast: bool, upright_hash: str) -> None:
    grey = np.asarray(photo().convert("L"), dtype=np.float64)
    sixteen = Image.fromarray((grey * 257).astype(np.uint16))
    assert sixteen.mode.startswith("I;16")
    as_float = Image.fromarray((grey / 255).astype(np.float32))
    assert as_float.mode == "F"
    for img, fmt in [(sixteen, "PNG"), (as_float, "TIFF")]:
        result = hash_image_bytes(encoded(img, fmt), fast=fast)
        assert result.pdq and result.error is None
        # Clipping at 255 would give a white image and quality 0.
        assert (result.quality or 0) > 50
        assert distance(result.pdq, upright_hash) <= 16


def exif_with_orientation(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


# Pillow transpose that turns an upright image into what a camera stores with this tag.
STORED_AS = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(orientation: int) -> None:
    # Blocks of random grey levels: any geometry error in the reduced-size path shows.
    rng = np.random.default_rng(orientation)
    blocks = rng.integers(0, 255, (25, 33), dtype=np.uint8)
    upright = Image.fromarray(np.kron(blocks, np.ones((41, 41), dtype=np.uint8))).convert("RGB")
    upright = upright.crop((0, 0, 1031, 797))  # not a multiple of any DCT block size
    method = STORED_AS[orientation]
    stored = upright if method is None else upright.transpose(method)
    data = encoded(stored, "JPEG", quality=95, exif=exif_with_orientation(orientation))

    rgb = decode_rgb(data)
    assert rgb.shape == (797, 1031, 3)
    assert np.abs(rgb[..., 0].astype(int) - np.asarray(upright)[..., 0]).mean() < 3

    luma = decode_luma(data)
    assert luma.scale == 4 and luma.full_shape == (797, 1031)
    # Each reduced pixel is the mean of its (clipped, possibly offset) block of the full image.
    full = np.asarray(upright.convert("L"), dtype=np.float64)
    rows, cols = luma.pixels.shape
    expected = np.zeros((rows, cols))
    for i in range(rows):
        r0 = max(0, luma.offset[0] + 4 * i)
        r1 = min(797, luma.offset[0] + 4 * i + 4)
        for j in range(0, cols, 7):
            c0 = max(0, luma.offset[1] + 4 * j)
            c1 = min(1031, luma.offset[1] + 4 * j + 4)
            expected[i, j] = full[r0:r1, c0:c1].mean()
    sampled = luma.pixels[:, ::7]
    assert np.abs(sampled - expected[:, ::7]).mean() < 4

    fast, reference = hash_image_bytes(data, fast=True), hash_image_bytes(data, fast=False)
    plain = hash_image_bytes(encoded(upright), fast=False)
    assert fast.pdq and reference.pdq and plain.pdq
    assert distance(fast.pdq, reference.pdq) <= 8
    assert distance(reference.pdq, plain.pdq) <= 8


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_greyscale_and_cmyk_jpegs_use_the_reduced_path(mode: str) -> None:
    img = photo((1600, 1200)).convert(mode)
    data = encoded(img, "JPEG", quality=92)
    luma = decode_luma(data)
    assert luma.scale > 1
    fast, full = hash_image_bytes(data, fast=True), hash_image_bytes(data, fast=False)
    assert fast.pdq and full.pdq
    assert distance(fast.pdq, full.pdq) <= 8


def test_malformed_exif_does_not_stop_hashing() -> None:
    img = photo()
    data = encoded(img, "JPEG", exif=b"Exif\x00\x00garbage-not-tiff")
    assert hash_image_bytes(data).error is None


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP"])
def test_animations_hash_their_first_frame(fmt: str) -> None:
    first = photo()
    second = first.transpose(Image.Transpose.ROTATE_180)
    data = encoded(first, fmt, save_all=True, append_images=[second], duration=100, loop=0)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 2
    animated = hash_image_bytes(data)
    still = hash_image_bytes(encoded(first, fmt))
    assert animated.pdq and still.pdq
    assert distance(animated.pdq, still.pdq) <= 4


def test_other_formats_pillow_reads() -> None:
    img = photo()
    reference = hash_image_bytes(encoded(img, "PNG"))
    assert reference.pdq
    for fmt in ["BMP", "TIFF", "WEBP", "PPM", "TGA", "JPEG2000"]:
        result = hash_image_bytes(encoded(img, fmt), f"x.{fmt}")
        assert result.pdq, (fmt, result.error)
        assert distance(result.pdq, reference.pdq) <= 12, fmt


def test_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    data = huge_png(50_000, 50_000)
    assert len(data) < 10_000
    with pytest.raises(DecodeError, match=r"2,500,000,000 pixels, above the limit"):
        open_image(data)
    # Our own check names the size; it fires below Pillow's hard limit too.
    with pytest.raises(DecodeError, match=r"12000x12500 = 150,000,000 pixels.*limit"):
        open_image(huge_png(12_000, 12_500), max_pixels=149_999_999)
    path = tmp_path / "bomb.png"
    path.write_bytes(data)
    for fast in (True, False):
        result = hash_file(path, fast=fast)
        assert result.pdq is None and result.error
        assert "2,500,000,000 pixels" in result.error and "limit" in result.error
        assert result.sha256  # the file is still fingerprinted


def test_pixel_limit_is_configurable_and_applies_to_all_formats() -> None:
    data = encoded(photo((200, 100)), "JPEG")
    with pytest.raises(DecodeError, match="limit"):
        decode_luma(data, max_pixels=19_999)
    assert decode_luma(data, max_pixels=20_000).full_shape == (100, 200)
    assert MAX_PIXELS >= 12_000_000 * 10  # large camera photos still pass


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP", "TIFF"])
def test_truncated_pixel_data_is_an_error_not_a_crash(fmt: str) -> None:
    good = encoded(photo(), fmt)
    broken = good[: len(good) // 2]
    for fast in (True, False):
        result = hash_image_bytes(broken, f"broken.{fmt}", fast=fast)
        assert result.pdq is None and result.error, (fmt, fast)
        assert result.path == f"broken.{fmt}"
