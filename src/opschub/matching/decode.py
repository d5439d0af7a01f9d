"""Image decoding for hashing: any format and mode Pillow reads, safely.

Every decoder here applies the EXIF orientation, takes the first frame of animations and refuses
images above a pixel limit before any pixel is decoded (decompression bombs). Failures raise
:class:`DecodeError` with a one-line reason; callers turn it into an error record.

Two outputs:

* :func:`decode_rgb` - full-size 8-bit RGB, the input of the reference ``pdqhash`` path;
* :func:`decode_luma` - float32 luminance, for the fast path. For JPEG it asks libjpeg for the
  luminance channel only, scaled down in the DCT domain (1/2, 1/4 or 1/8) when the image is large
  enough, which skips most of the decoding work.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import ExifTags, Image

# Declared width x height above this is refused before decoding. It sits below Pillow's own hard
# limit (2 x Image.MAX_IMAGE_PIXELS, about 179 million by default) so that our check, with its
# clearer message, normally fires first. 150 MP of RGB is 450 MB; camera photos are <= 200 MP
# only in rare phones, and 12-50 MP typically.
MAX_PIXELS = 150_000_000

# The reduced JPEG keeps at least this many pixels on its shorter side (3 per PDQ cell). On the
# benchmark corpus 128 gave a 95th-percentile distance of 10 to the full-decode hash, 192 gives 4
# at nearly the same speed (entropy decoding, the same at every scale, dominates).
MIN_REDUCED_SIDE = 192

# PDQ's (and JPEG's, ITU-R BT.601) luminance weights; pdqhash uses the same.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)

_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
_WIDE_MODES = _SIXTEEN_BIT_MODES | {"I", "F"}
_LUMA_STRIPE_ROWS = 256
# Premultiplied-alpha modes Pillow converts to RGB only through their straight-alpha twin.
_PREMULTIPLIED = {"La": "LA", "RGBa": "RGBA"}

# Orientation -> (source axis of upright rows, mirrored?, source axis of upright cols, mirrored?)
_ORIENTATION_AXES = {
    1: ("rows", False, "cols", False),
    2: ("rows", False, "cols", True),
    3: ("rows", True, "cols", True),
    4: ("rows", True, "cols", False),
    5: ("cols", False, "rows", False),
    6: ("cols", False, "rows", True),
    7: ("cols", True, "rows", True),
    8: ("cols", True, "rows", False),
}


class DecodeError(Exception):
    """The bytes are not an image this module can decode; the message is the reason."""


@dataclass(frozen=True, slots=True)
class Luma:
    """Luminance plane (float32, 0..255 for 8-bit sources) of an upright image.

    After JPEG DCT scaling ``scale`` > 1 and pixel (i, j) is the mean of the full image's block
    of rows ``offset[0] + i*scale`` .. ``+ scale`` and the same for columns (clipped to the
    image, whose upright size is ``full_shape``). The offsets are <= 0: they are non-zero on
    axes that were mirrored, where the partial edge block comes first.
    """

    pixels: np.ndarray
    full_shape: tuple[int, int] = (0, 0)
    scale: int = 1
    offset: tuple[int, int] = (0, 0)

    def crop(self, top: int, bottom: int, left: int, right: int) -> Luma:
        """The luminance of pixels[top:bottom, left:right], with full-image geometry."""
        s = self.scale
        row_start = max(0, self.offset[0] + top * s)
        row_end = min(self.full_shape[0], self.offset[0] + bottom * s)
        col_start = max(0, self.offset[1] + left * s)
        col_end = min(self.full_shape[1], self.offset[1] + right * s)
        return Luma(
            self.pixels[top:bottom, left:right],
            (row_end - row_start, col_end - col_start),
            s,
            (self.offset[0] + top * s - row_start, self.offset[1] + left * s - col_start),
        )


def open_image(data: bytes, *, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Identify ``data`` and check its declared size; no pixels are decoded yet."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        # Pillow's own limit (2 x Image.MAX_IMAGE_PIXELS) fired before ours could.
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(found.group(1)):,} pixels" if found else "too many pixels"
        raise DecodeError(
            f"image is {size}, above the limit of {max_pixels:,} (possible decompression bomb)"
        ) from exc
    except Image.UnidentifiedImageError as exc:
        raise DecodeError("not an image Pillow can identify (unknown or corrupt format)") from exc
    except Exception as exc:  # Pillow raises many types for malformed headers
        raise DecodeError(f"cannot read image header: {_reason(exc)}") from exc
    width, height = img.size
    if width <= 0 or height <= 0:
        raise DecodeError(f"image has an empty size {width}x{height}")
    if width * height > max_pixels:
        raise DecodeError(
            f"image is {width}x{height} = {width * height:,} pixels, "
            f"above the limit of {max_pixels:,} (possible decompression bomb)"
        )
    return img


def decode_rgb(data: bytes, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Full decode to an upright uint8 array of shape (rows, cols, 3)."""
    img = open_image(data, max_pixels=max_pixels)
    orientation = _orientation(img)
    _load(img)
    return _apply_orientation_array(image_rgb(img), orientation)


def decode_luma(data: bytes, *, reduce: bool = True, max_pixels: int = MAX_PIXELS) -> Luma:
    """Upright float32 luminance; JPEGs are decoded at reduced size when ``reduce`` is set."""
    img = open_image(data, max_pixels=max_pixels)
    orientation = _orientation(img)
    full_cols, full_rows = img.size
    scale = 1
    if img.format in ("JPEG", "MPO"):  # MPO: camera JPEGs with a multi-picture index
        scale = _jpeg_scale(img.size) if reduce else 1
        # Ask for luminance only; with a scale > 1 libjpeg also skips most of the inverse DCT.
        drafted = img.draft("L", (full_cols // scale, full_rows // scale))
        # Pillow may refuse (e.g. progressive multi-tile files): then it decodes at full size.
        scale = round(full_cols / drafted[1][2]) if drafted else 1
    _load(img)
    pixels = _apply_orientation_array(image_luma(img), orientation)
    # Where the partial edge block lands after the orientation fix (see Luma.offset).
    row_pad = full_rows - img.size[1] * scale
    col_pad = full_cols - img.size[0] * scale
    source_rows, row_flipped, source_cols, col_flipped = _ORIENTATION_AXES[orientation]
    full = {"rows": full_rows, "cols": full_cols}
    pad = {"rows": row_pad, "cols": col_pad}
    return Luma(
        np.ascontiguousarray(pixels, dtype=np.float32),
        (full[source_rows], full[source_cols]),
        scale,
        (pad[source_rows] if row_flipped else 0, pad[source_cols] if col_flipped else 0),
    )


def image_rgb(img: Image.Image) -> np.ndarray:
    """Pixels of a decoded image of any mode as uint8 (rows, cols, 3); alpha is dropped."""
    if img.mode in _WIDE_MODES:
        grey = np.clip(np.rint(_wide_gray(img)), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    return np.asarray(_to_rgb(img))


def image_luma(img: Image.Image) -> np.ndarray:
    """Luminance of a decoded image of any mode as float32 (rows, cols)."""
    if img.mode in _WIDE_MODES:
        return _wide_gray(img)
    if img.mode in ("L", "LA"):
        return np.asarray(img.getchannel(0), dtype=np.float32)
    rgb = np.asarray(_to_rgb(img))
    out = np.empty(rgb.shape[:2], dtype=np.float32)
    r, g, b = (np.float32(w) for w in LUMA_WEIGHTS)
    # In stripes: a float copy of a whole large RGB image would cost 12 bytes a pixel.
    for start in range(0, rgb.shape[0], _LUMA_STRIPE_ROWS):
        stripe = rgb[start : start + _LUMA_STRIPE_ROWS]
        target = out[start : start + _LUMA_STRIPE_ROWS]
        np.multiply(stripe[:, :, 0], r, out=target)
        target += stripe[:, :, 1] * g
        target += stripe[:, :, 2] * b
    return out


def _jpeg_scale(size: tuple[int, int]) -> int:
    shorter = min(size)
    for scale in (8, 4, 2):
        if shorter // scale >= MIN_REDUCED_SIDE:
            return scale
    return 1


def _load(img: Image.Image) -> None:
    """Decode the pixels of the first frame."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img.load()
    except Exception as exc:
        raise DecodeError(f"cannot decode image data: {_reason(exc)}") from exc


def _to_rgb(img: Image.Image) -> Image.Image:
    # Alpha is dropped, as in pdqhash/HMA usage (transparent pixels keep their colour values).
    if img.mode == "RGB":
        return img
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # palette-with-transparency notices
            if img.mode in _PREMULTIPLIED:
                img = img.convert(_PREMULTIPLIED[img.mode])
            return img.convert("RGB")
    except Exception as exc:
        raise DecodeError(f"cannot convert mode {img.mode} to RGB: {_reason(exc)}") from exc


def _wide_gray(img: Image.Image) -> np.ndarray:
    """Map 16-bit, 32-bit integer and float images to 0..255 floats without clipping detail.

    Pillow's own conversion of these modes to L clips at 255, which would turn most 16-bit
    images white. PDQ ignores the mean (the DC term is not hashed), so a linear map is safe.
    """
    arr = np.asarray(img, dtype=np.float32)
    if img.mode in _SIXTEEN_BIT_MODES:
        return arr / 257.0
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        return np.zeros(arr.shape, dtype=np.float32)
    low, high = float(finite.min()), float(finite.max())
    arr = np.nan_to_num(arr, nan=low, posinf=high, neginf=low)
    if img.mode == "F" and low >= 0.0 and high <= 1.0:
        return arr * 255.0
    if low >= 0.0 and high <= 255.0:
        return arr
    if low >= 0.0 and high <= 65535.0:
        return arr / 257.0
    span = high - low
    return (arr - low) * (255.0 / span) if span > 0 else np.zeros_like(arr)


def _orientation(img: Image.Image) -> int:
    """EXIF orientation (1..8); a malformed EXIF block means 'upright', not an error."""
    try:
        value = img.getexif().get(ExifTags.Base.Orientation, 1)
        return int(value) if int(value) in _ORIENTATION_AXES else 1
    except Exception:
        return 1


def _apply_orientation_array(arr: np.ndarray, orientation: int) -> np.ndarray:
    if orientation == 2:
        return arr[:, ::-1]
    if orientation == 3:
        return arr[::-1, ::-1]
    if orientation == 4:
        return arr[::-1]
    if orientation == 5:
        return arr.swapaxes(0, 1)
    if orientation == 6:
        return np.rot90(arr, -1)
    if orientation == 7:
        return np.rot90(arr, 2).swapaxes(0, 1)
    if orientation == 8:
        return np.rot90(arr, 1)
    return arr


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
