"""Accessible charts as inline SVG: bar charts and line charts for staff pages and publications.

A chart is one ``<svg role="img">`` element whose ``<title>`` names it and whose ``<desc>`` is
its alt text: the caller's description followed by every value written out ("Country A 12 h,
Country B suppressed"), so a screen reader hears the figures, not "image". Nothing in it needs
script or an inline ``style`` attribute (the Content-Security-Policy forbids both): colours are
SVG presentation attributes plus classes that ``opschub.css`` may refine. A value of ``None`` is
a suppressed figure (disclosure control, too few cases): it is drawn as an outlined, hatched
placeholder labelled with ``suppressed_label``, never as zero.

Pure: no web or database imports. Callers translate the texts they pass in (``title``,
``description``, ``suppressed_label``, category labels) and may pass ``number_format`` to
write numbers the reader's way.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

__all__ = ["bar_chart", "format_number", "line_chart"]

NumberFormat = Callable[[float], str]

# Geometry of the drawing (user units; the SVG scales to its container's width).
WIDTH = 640
ROW = 28  # height of one bar's row
BAR = 18  # thickness of a bar
LABEL_W = 200  # room for category labels on the left of a bar chart
VALUE_W = 110  # room for the value text on the right of a bar
TOP = 8
LINE_H = 260
LINE_LEFT = 56
LINE_BOTTOM = 40

BAR_FILL = "#1f5f8b"
LINE_STROKE = "#1f5f8b"
AXIS = "#555555"
GRID = "#d0d0d0"
TEXT = "#1a1a1a"
SUPPRESSED = "#6b6b6b"


def format_number(value: float) -> str:
    """12 -> "12", 12.5 -> "12.5", 0.333 -> "0.33", 1234567 -> "1,234,567"."""
    if not math.isfinite(value):
        raise ValueError(f"cannot chart {value!r}")
    if float(value).is_integer():
        return f"{int(value):,}"
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return text


def _check(points: Sequence[tuple[str, float | None]], what: str) -> None:
    for index, (label, value) in enumerate(points, start=1):
        if not isinstance(label, str):
            raise TypeError(f"{what} {index}: the label must be text, not {type(label).__name__}")
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{what} {index} ({label}): the value must be a number or None")
            if not math.isfinite(value):
                raise ValueError(f"{what} {index} ({label}): the value {value!r} is not finite")


def _chart_id(kind: str, title: str, points: Sequence[tuple[str, float | None]]) -> str:
    """A stable id prefix, different for different charts on the same page."""
    digest = hashlib.sha256(repr((kind, title, list(points))).encode()).hexdigest()[:10]
    return f"chart-{kind}-{digest}"


def _value_text(value: float | None, unit: str, fmt: NumberFormat, suppressed: str) -> str:
    if value is None:
        return suppressed
    return f"{fmt(value)} {unit}".rstrip() if unit else fmt(value)


def _alt_text(
    description: str,
    points: Sequence[tuple[str, float | None]],
    unit: str,
    fmt: NumberFormat,
    suppressed: str,
    separator: str,
) -> str:
    values = separator.join(
        f"{label} {_value_text(value, unit, fmt, suppressed)}" for label, value in points
    )
    if not values:
        return description
    if not description:
        return values
    end = "" if description.rstrip()[-1:] in ".。!！?？" else "."
    return f"{description.rstrip()}{end} {values}"


def _nice_max(value: float) -> float:
    """A round number at or above ``value`` for the end of an axis (1, 2, 2.5, 5 times 10^n)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        candidate = step * 10**exponent
        if candidate >= value - 1e-12:
            return candidate
    return 10.0 ** (exponent + 1)  # pragma: no cover


def _hatch(prefix: str) -> Markup:
    return Markup(
        '<defs><pattern id="{0}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="{1}" '
        'stroke-width="2"/></pattern></defs>'
    ).format(prefix, SUPPRESSED)


def _open(kind: str, prefix: str, height: int, title: str, alt: str) -> Markup:
    return Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{0}" role="img" '
        'viewBox="0 0 {1} {2}" width="100%" preserveAspectRatio="xMinYMin meet" '
        'aria-labelledby="{3}-title {3}-desc" focusable="false">'
        '<title id="{3}-title">{4}</title><desc id="{3}-desc">{5}</desc>'
    ).format(kind, WIDTH, height, prefix, title, alt)


def bar_chart(
    *,
    title: str,
    description: str,
    bars: Sequence[tuple[str, float | None]],
    unit: str = "",
    suppressed_label: str = "suppressed",
    number_format: NumberFormat = format_number,
    separator: str = ", ",
) -> Markup:
    """A horizontal bar chart: one row per ``(label, value)``; ``None`` is drawn as suppressed.

    Negative values are not drawn as bars (the axis starts at zero); they raise ``ValueError``.
    """
    bars = list(bars)
    _check(bars, "bar")
    for index, (label, value) in enumerate(bars, start=1):
        if value is not None and value < 0:
            raise ValueError(f"bar {index} ({label}): a bar chart cannot show {value!r} (< 0)")
    prefix = _chart_id("bar", title, bars)
    alt = _alt_text(description, bars, unit, number_format, suppressed_label, separator)
    height = TOP * 2 + max(len(bars), 1) * ROW
    present = [v for _, v in bars if v is not None]
    top = _nice_max(max(present)) if present else 1.0
    span = WIDTH - LABEL_W - VALUE_W
    parts = [_open("bar", prefix, height, title, alt), _hatch(prefix)]
    parts.append(
        Markup(
            '<line class="chart-axis" x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="{3}"/>'
        ).format(LABEL_W, TOP, height - TOP, AXIS)
    )
    for row, (label, value) in enumerate(bars):
        y = TOP + row * ROW
        middle = y + ROW / 2
        parts.append(
            Markup(
                '<g class="chart-row"><text class="chart-label" x="{0}" y="{1}" '
                'text-anchor="end" dominant-baseline="middle" fill="{2}">{3}</text>'
            ).format(LABEL_W - 6, _n(middle), TEXT, _short(label))
        )
        bar_y = y + (ROW - BAR) / 2
        if value is None:
            width = span * 0.25
            parts.append(
                Markup(
                    '<rect class="chart-suppressed" x="{0}" y="{1}" width="{2}" height="{3}" '
                    'fill="url(#{4}-hatch)" stroke="{5}" stroke-dasharray="3 2"/>'
                ).format(LABEL_W, _n(bar_y), _n(width), BAR, prefix, SUPPRESSED)
            )
            text_x, css, colour = (
                LABEL_W + width + 6,
                "chart-value chart-value-suppressed",
                SUPPRESSED,
            )
        else:
            width = span * value / top
            parts.append(
                Markup(
                    '<rect class="chart-bar" x="{0}" y="{1}" width="{2}" height="{3}" fill="{4}"/>'
                ).format(LABEL_W, _n(bar_y), _n(width), BAR, BAR_FILL)
            )
            text_x, css, colour = LABEL_W + width + 6, "chart-value", TEXT
        parts.append(
            Markup(
                '<text class="{0}" x="{1}" y="{2}" dominant-baseline="middle" fill="{3}">{4}'
                "</text></g>"
            ).format(
                css,
                _n(text_x),
                _n(middle),
                colour,
                _value_text(value, unit, number_format, suppressed_label),
            )
        )
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def line_chart(
    *,
    title: str,
    description: str,
    points: Sequence[tuple[str, float | None]],
    unit: str = "",
    suppressed_label: str = "suppressed",
    number_format: NumberFormat = format_number,
    separator: str = ", ",
) -> Markup:
    """A line chart over ordered categories (periods): ``(label, value)`` per point.

    A ``None`` value breaks the line and is marked at the baseline as suppressed; the axis runs
    from zero (or the lowest negative value) to a round number above the highest value.
    """
    points = list(points)
    _check(points, "point")
    prefix = _chart_id("line", title, points)
    alt = _alt_text(description, points, unit, number_format, suppressed_label, separator)
    present = [v for _, v in points if v is not None]
    high = _nice_max(max(present)) if present and max(present) > 0 else 1.0
    low = -_nice_max(-min(present)) if present and min(present) < 0 else 0.0
    plot_top, plot_bottom = TOP + 12, LINE_H - LINE_BOTTOM
    left, right = LINE_LEFT, WIDTH - 16

    def y_of(value: float) -> float:
        return plot_bottom - (value - low) / (high - low) * (plot_bottom - plot_top)

    count = len(points)
    step = (right - left) / (count - 1) if count > 1 else 0.0

    def x_of(index: int) -> float:
        return left + index * step if count > 1 else (left + right) / 2

    parts = [_open("line", prefix, LINE_H, title, alt), _hatch(prefix)]
    for tick in (low, (low + high) / 2, high):
        parts.append(
            Markup(
                '<line class="chart-grid" x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="{3}"/>'
                '<text class="chart-tick" x="{4}" y="{1}" text-anchor="end" '
                'dominant-baseline="middle" fill="{5}">{6}</text>'
            ).format(left, _n(y_of(tick)), right, GRID, left - 6, AXIS, number_format(tick))
        )
    parts.append(
        Markup(
            '<line class="chart-axis" x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="{3}"/>'
        ).format(left, _n(y_of(max(low, 0.0))), right, AXIS)
    )
    # The line: one polyline per run of present values, so a suppressed point leaves a gap.
    run: list[str] = []
    runs: list[list[str]] = []
    for index, (_, value) in enumerate(points):
        if value is None:
            if run:
                runs.append(run)
            run = []
        else:
            run.append(f"{_n(x_of(index))},{_n(y_of(value))}")
    if run:
        runs.append(run)
    for segment in runs:
        if len(segment) > 1:
            parts.append(
                Markup(
                    '<polyline class="chart-line" points="{0}" fill="none" stroke="{1}" '
                    'stroke-width="2.5"/>'
                ).format(" ".join(segment), LINE_STROKE)
            )
    label_every = max(1, math.ceil(count / 8))  # at most about 8 axis labels at any width
    for index, (label, value) in enumerate(points):
        x = x_of(index)
        text = _value_text(value, unit, number_format, suppressed_label)
        if value is None:
            parts.append(
                Markup(
                    '<g class="chart-point chart-point-suppressed"><rect x="{0}" y="{1}" '
                    'width="10" height="10" fill="url(#{2}-hatch)" stroke="{3}" '
                    'stroke-dasharray="2 2"/><title>{4} {5}</title></g>'
                ).format(_n(x - 5), _n(y_of(max(low, 0.0)) - 10), prefix, SUPPRESSED, label, text)
            )
        else:
            parts.append(
                Markup(
                    '<g class="chart-point"><circle cx="{0}" cy="{1}" r="4" fill="{2}"/>'
                    "<title>{3} {4}</title></g>"
                ).format(_n(x), _n(y_of(value)), LINE_STROKE, label, text)
            )
        if index % label_every == 0 or index == count - 1:
            parts.append(
                Markup(
                    '<text class="chart-label" x="{0}" y="{1}" text-anchor="middle" '
                    'fill="{2}">{3}</text>'
                ).format(_n(x), LINE_H - LINE_BOTTOM + 18, TEXT, _short(label, 14))
            )
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def _n(value: float) -> str:
    """Coordinates with at most one decimal, without a trailing ".0"."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _short(label: str, limit: int = 28) -> Markup:
    """A label cut to fit beside its bar; the full label stays in the alt text."""
    return escape(label if len(label) <= limit else label[: limit - 1] + "…")
