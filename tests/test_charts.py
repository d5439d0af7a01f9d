"""opschub.charts: inline SVG that a screen reader can read and the CSP lets through."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from opschub.charts import bar_chart, format_number, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def _texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def test_bar_chart_tells_a_screen_reader_every_value_in_its_alt_text() -> None:
    svg = bar_chart(
        title="Median hours to removal",
        description="Hours from notice to removal by hosting country",
        bars=[("Country A", 12), ("Country B", 30.5), ("Country C", None)],
        unit="h",
    )
    root = _parse(svg)
    assert root.get("role") == "img"
    title = root.find(f"{SVG}title")
    desc = root.find(f"{SVG}desc")
    assert title is not None and title.text == "Median hours to removal"
    assert desc is not None and desc.text is not None
    assert desc.text.startswith("Hours from notice to removal by hosting country.")
    assert "Country A 12 h" in desc.text
    assert "Country B 30.5 h" in desc.text
    assert "Country C suppressed" in desc.text
    labelled = (root.get("aria-labelledby") or "").split()
    assert labelled == [title.get("id"), desc.get("id")]


def test_bar_lengths_follow_the_values_and_a_suppressed_value_is_not_drawn_as_zero() -> None:
    root = _parse(bar_chart(title="t", description="d", bars=[("a", 10), ("b", 5), ("c", None)]))
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "chart-bar"]
    assert len(bars) == 2
    a, b = (float(r.get("width") or 0) for r in bars)
    assert a == pytest.approx(2 * b)
    suppressed = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "chart-suppressed"]
    assert len(suppressed) == 1
    assert float(suppressed[0].get("width") or 0) > 0
    assert "url(#" in (suppressed[0].get("fill") or "")  # hatched, not a solid bar
    pattern_ids = {p.get("id") for p in root.iter(f"{SVG}pattern")}
    assert (suppressed[0].get("fill") or "")[5:-1] in pattern_ids
    assert "suppressed" in _texts(root)
    assert "10" in _texts(root) and "5" in _texts(root)


def test_charts_carry_no_script_no_style_and_no_event_handler() -> None:
    charts = [
        bar_chart(title="t", description="d", bars=[("a", 1), ("b", None)]),
        line_chart(title="t", description="d", points=[("2026-01", 1), ("2026-02", None)]),
    ]
    for chart in charts:
        root = _parse(chart)
        for element in root.iter():
            tag = element.tag.removeprefix(SVG)
            assert tag not in {"script", "style", "foreignObject"}
            assert "style" not in element.attrib
            assert not any(name.startswith("on") for name in element.attrib)
            assert not any("javascript:" in value for value in element.attrib.values())


def test_labels_and_titles_are_escaped_not_markup() -> None:
    evil = '<script>alert("x")</script>'
    svg = str(bar_chart(title=evil, description=evil, bars=[(evil, 1)]))
    assert "<script>" not in svg
    root = _parse(svg)
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == evil
    assert not list(root.iter(f"{SVG}script"))


def test_two_charts_on_one_page_do_not_share_ids() -> None:
    one = _parse(bar_chart(title="Removed within 24 h", description="d", bars=[("a", None)]))
    two = _parse(bar_chart(title="Removed within 72 h", description="d", bars=[("a", None)]))
    ids_one = {e.get("id") for e in one.iter() if e.get("id")}
    ids_two = {e.get("id") for e in two.iter() if e.get("id")}
    assert ids_one and ids_two and not ids_one & ids_two


def test_line_chart_breaks_the_line_at_a_suppressed_point() -> None:
    points: list[tuple[str, float | None]] = [
        ("Jan", 4),
        ("Feb", 8),
        ("Mar", None),
        ("Apr", 6),
        ("May", 2),
    ]
    root = _parse(line_chart(title="Notices", description="Notices per month", points=points))
    lines = [p.get("points") or "" for p in root.iter(f"{SVG}polyline")]
    assert [len(p.split()) for p in lines] == [2, 2]
    circles = list(root.iter(f"{SVG}circle"))
    assert len(circles) == 4
    ys = [float(c.get("cy") or 0) for c in circles]
    assert (
        ys[1] < ys[2] < ys[0] < ys[3]
    )  # 8 > 6 > 4 > 2: higher values are drawn higher up (smaller y)
    desc = root.find(f"{SVG}desc")
    assert desc is not None and desc.text is not None
    assert "Mar suppressed" in desc.text and "Feb 8" in desc.text
    suppressed = [
        g for g in root.iter(f"{SVG}g") if "chart-point-suppressed" in (g.get("class") or "")
    ]
    assert len(suppressed) == 1


def test_translated_words_and_number_format_are_the_callers() -> None:
    svg = bar_chart(
        title="中位数",
        description="按国家",
        bars=[("甲国", 1234.5), ("乙国", None)],
        unit="小时",
        suppressed_label="已隐藏",
        separator="，",
        number_format=lambda v: f"{v:.1f}",
    )
    desc = _parse(svg).find(f"{SVG}desc")
    assert desc is not None and desc.text == "按国家. 甲国 1234.5 小时，乙国 已隐藏"
    assert ":" not in desc.text and ";" not in desc.text


def test_bad_values_are_refused_with_the_bar_named() -> None:
    with pytest.raises(ValueError, match=r"bar 2 \(b\)"):
        bar_chart(title="t", description="d", bars=[("a", 1), ("b", math.nan)])
    with pytest.raises(ValueError, match=r"bar 1 \(a\).*< 0"):
        bar_chart(title="t", description="d", bars=[("a", -1)])
    with pytest.raises(TypeError, match=r"point 1"):
        line_chart(title="t", description="d", points=[("a", "3")])  # type: ignore[list-item]


def test_empty_and_all_suppressed_charts_still_render() -> None:
    for svg in (
        bar_chart(title="t", description="Nothing yet", bars=[]),
        bar_chart(title="t", description="d", bars=[("a", None)]),
        line_chart(title="t", description="d", points=[("a", None)]),
        line_chart(title="t", description="d", points=[("a", 3)]),
        line_chart(title="t", description="d", points=[("a", -3), ("b", 2)]),
    ):
        root = _parse(svg)
        assert root.get("role") == "img"


def test_format_number() -> None:
    assert format_number(12) == "12"
    assert format_number(12.5) == "12.5"
    assert format_number(1 / 3) == "0.33"
    assert format_number(1234567) == "1,234,567"
