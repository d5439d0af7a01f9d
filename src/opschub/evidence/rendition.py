"""Safe renditions for viewing, made on the server: the full image never reaches a browser
unless a person deliberately asks for it (and that request is a custody event)."""

from __future__ import annotations

import base64
import io

from PIL import Image, ImageFilter, ImageOps

PREVIEW_EDGE = 480  # blurred previews are small: enough to orient, too little to see detail
FULL_EDGE = 2048
BLUR_RADIUS = 14


class NoRendition(Exception):
    """The item cannot be shown as an image (not an image, or not decodable)."""


def _open(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception as exc:  # Pillow raises many kinds for undecodable input
        raise NoRendition(str(exc)) from None
    return ImageOps.exif_transpose(image) or image


def blurred(data: bytes) -> bytes:
    """A small, greyscale, heavily blurred JPEG of an image."""
    image = _open(data).convert("L")
    image.thumbnail((PREVIEW_EDGE, PREVIEW_EDGE))
    image = image.filter(ImageFilter.GaussianBlur(BLUR_RADIUS))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=70)
    return out.getvalue()


def full(data: bytes) -> bytes:
    """The image in colour, re-encoded (no metadata carried over), at most FULL_EDGE wide."""
    image = _open(data).convert("RGB")
    image.thumbnail((FULL_EDGE, FULL_EDGE))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


SHEET_FRAMES = 9  # a 3 x 3 contact sheet
SHEET_TILE = 160
VIDEO_MAX_BYTES = 256 * 1024 * 1024  # decoded in memory (never written in clear); larger: no sheet


def contact_sheet(data: bytes) -> bytes:
    """A blurred greyscale 3 x 3 sheet of key frames spread over the video (PyAV decodes only
    key frames, so a long video costs little)."""
    import av

    try:
        container = av.open(io.BytesIO(data), mode="r")
    except (av.FFmpegError, ValueError) as exc:
        raise NoRendition(str(exc)) from None
    with container:
        if not container.streams.video:
            raise NoRendition("no video stream")
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        frames: list[Image.Image] = []
        try:
            for frame in container.decode(stream):
                image = frame.to_image().convert("L")
                image.thumbnail((SHEET_TILE, SHEET_TILE))
                frames.append(image)
        except av.FFmpegError as exc:
            if not frames:
                raise NoRendition(str(exc)) from None
    if not frames:
        raise NoRendition("no key frames")
    step = max(len(frames) / SHEET_FRAMES, 1)
    chosen = [frames[int(i * step)] for i in range(min(SHEET_FRAMES, len(frames)))]
    sheet = Image.new("L", (3 * SHEET_TILE, ((len(chosen) + 2) // 3) * SHEET_TILE), 0)
    for index, image in enumerate(chosen):
        sheet.paste(image, ((index % 3) * SHEET_TILE, (index // 3) * SHEET_TILE))
    sheet = sheet.filter(ImageFilter.GaussianBlur(BLUR_RADIUS // 2))
    out = io.BytesIO()
    sheet.save(out, format="JPEG", quality=70)
    return out.getvalue()


def data_uri(jpeg: bytes) -> str:
    """Inline in a no-store page: never a URL of its own that a browser could cache."""
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()
