"""The public report as PDF (reportlab; Chinese with the built-in CID font STSong-Light, so no
font file is shipped). The same rows and words as the HTML report (:mod:`opschub.stats.report`);
the text is checked by the terminology checker before the file is made."""

from __future__ import annotations

import io
from typing import Any

from opschub import taxonomy
from opschub.stats import report
from opschub.terms import ensure_clean

CJK_FONT = "STSong-Light"


def _font(lang: str) -> str:
    if taxonomy.normalise_language(lang) != taxonomy.ZH_HANS:
        return "Helvetica"
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    return CJK_FONT


def render_pdf(pub: Any, gettext: report.Gettext, lang: str) -> bytes:
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    _ = gettext
    font = _font(lang)
    body = ParagraphStyle("body", fontName=font, fontSize=9.5, leading=13, wordWrap="CJK")
    heading = ParagraphStyle("h", parent=body, fontSize=13, leading=17, spaceBefore=10)
    title_style = ParagraphStyle("t", parent=body, fontSize=17, leading=22)
    texts: list[str] = []

    def para(text: str, style: ParagraphStyle = body) -> Paragraph:
        texts.append(text)
        return Paragraph(escape(text), style)

    story: list[Any] = [
        para(_("Statistics on the sale and sexual exploitation of children"), title_style),
        para(
            _("Period %(period)s, version %(version)s")
            % {"period": pub.period, "version": pub.version}
        ),
        para(report.coverage_text(getattr(pub, "region", None), pub.tables, _, lang)),
        Spacer(1, 6),
        para(_("How the figures were protected"), heading),
        para(report.method_text(pub.parameters, _)),
        para(_("Data digest %(digest)s") % {"digest": pub.input_digest[:16]}),
    ]
    for table in pub.tables:
        story.append(para(report.indicator_name(table, lang), heading))
        headers = [report.dimension_name(d, _) for d in table["dimensions"]]
        data = [[para(h) for h in headers] + [para(report.unit_label(table.get("unit", ""), _))]]
        for row in report.rows(table, _, lang):
            data.append([para(t) for t in row.labels] + [para(row.value)])
        grid = Table(data, repeatRows=1)
        grid.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story.append(grid)
    ensure_clean("\n".join(texts))
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=_("Statistics on the sale and sexual exploitation of children"),
        author="opschub",
        lang="zh-Hans" if font == CJK_FONT else "en",
    )
    doc.build(story)
    return buffer.getvalue()
