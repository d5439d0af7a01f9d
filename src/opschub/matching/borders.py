"""Uniform border detection (letterboxing, padding, frames) for query images.

Padding an image changes its PDQ hash a lot; hashing the image with the padding trimmed off
recovers the original. Each side is scanned inwards while rows/columns stay uniform and close
to that side's outermost colour, so sides may have different colours (e.g. black bars top and
bottom, nothing left and right).
"""

from __future__ import annotations

import numpy as np

# A line belongs to the border when this share of its pixels is within TOLERANCE grey levels
# of the border colour. JPEG artefacts make exact uniformity too strict; a wider tolerance
# (16 was tried) takes plain parts of photos, such as a wall, for padding and loses recall.
TOLERANCE = 8.0
UNIFORM_SHARE = 0.98
# Ignore trims thinner than this share of the side (noise-level edges, e.g. a 1-px frame).
MIN_TRIM_SHARE = 0.02
# The part left after trimming must keep at least this share of each side.
MIN_KEEP_SHARE = 0.2


def find_uniform_borders(luma: np.ndarray) -> tuple[int, int, int, int] | None:
    """``(top, bottom, left, right)`` of the content inside uniform borders, or None.

    The box is in array indices, ``luma[top:bottom, left:right]`` is the content. None when
    there is no border worth trimming or the image is uniform as a whole.
    """
    rows, cols = luma.shape
    if rows < 8 or cols < 8:
        return None
    data = np.asarray(luma, dtype=np.float32)
    top, bottom, left, right = 0, rows, 0, cols
    # Each side's border colour is that of its outermost line, fixed once: later rounds must not
    # take a uniform part of the picture (a clear sky) for a border of another colour.
    colours = (
        float(np.median(data[0])),
        float(np.median(data[-1])),
        float(np.median(data[:, 0])),
        float(np.median(data[:, -1])),
    )
    # Repeat: a bar on one side hides the bars on the sides next to it (its corners differ).
    for _ in range(4):
        inside = data[top:bottom, left:right]
        height, width = inside.shape
        if height < 8 or width < 8:
            return None
        depths = (
            _border_depth(inside, height // 2, colours[0]),
            _border_depth(inside[::-1], height // 2, colours[1]),
            _border_depth(inside.T, width // 2, colours[2]),
            _border_depth(inside.T[::-1], width // 2, colours[3]),
        )
        if not any(depths):
            break
        top, bottom = top + depths[0], bottom - depths[1]
        left, right = left + depths[2], right - depths[3]
    # Trims too thin to matter are undone (noise-level edges, e.g. a hairline frame).
    if top < MIN_TRIM_SHARE * rows:
        top = 0
    if rows - bottom < MIN_TRIM_SHARE * rows:
        bottom = rows
    if left < MIN_TRIM_SHARE * cols:
        left = 0
    if cols - right < MIN_TRIM_SHARE * cols:
        right = cols
    if (top, bottom, left, right) == (0, rows, 0, cols):
        return None
    if bottom - top < MIN_KEEP_SHARE * rows or right - left < MIN_KEEP_SHARE * cols:
        return None
    return top, bottom, left, right


def _border_depth(lines: np.ndarray, limit: int, colour: float) -> int:
    """How many leading rows of ``lines`` (at most ``limit``) are uniform in ``colour``."""
    head = lines[:limit]
    close = np.abs(head - colour) <= TOLERANCE
    uniform = close.mean(axis=1) >= UNIFORM_SHARE
    if uniform.all():
        return limit
    return int(np.argmin(uniform))  # index of the first non-uniform line
