"""The public statistics report in Chromium, in English and Chinese: charts with alt text, the
disclosure-control method stated, withheld cells shown as such, no serious or critical axe-core
finding; and its PDF opens (pypdf)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from browser_helpers import axe_source, serious
from pypdf import PdfReader

from opschub.clock import utcnow
from opschub.db import Database


@pytest.fixture
def published(live_server: tuple[str, Database]) -> str:
    from opschub.stats import demo, service

    base, database = live_server
    with database.transaction() as session:
        demo.load(session)
        service.publish(
            session,
            None,
            str(utcnow().year - 1),
            contents=[
                {"indicator": "victims", "by": ["region", "sex"]},
                {"indicator": "suspects", "by": ["offender_category"]},
                {"indicator": "convictions", "by": ["region"]},
            ],
        )
    return base


@pytest.mark.parametrize(
    ("lang", "title", "victims"),
    [("en", "Statistics on the sale", "Child victims"), ("zh-Hans", "关于买卖儿童", "儿童被害人")],
)
def test_public_report_in_both_languages(
    page: Any, published: str, lang: str, title: str, victims: str
) -> None:
    page.goto(f"{published}/statistics?lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang
    assert title in page.inner_text("h1")
    assert page.locator("#method").inner_text().strip()  # the method is stated
    assert victims in page.inner_text("#t-victims")
    # Charts: an image with a title and a description (the alt text).
    charts = page.locator("svg[role=img]")
    assert charts.count() >= 3
    assert charts.first.locator("title").count() == 1 and charts.first.locator("desc").count() == 1
    # Small district counts are withheld, and say so.
    assert page.locator("#table-victims [data-status=suppressed]").count() > 0
    assert serious(page, axe_source()) == []
    page.goto(f"{published}/statistics/1/annex?lang={lang}")
    assert serious(page, axe_source()) == []


def test_report_pdf_opens_in_both_languages(page: Any, published: str) -> None:
    for lang, text in (("en", "Child victims"), ("zh-Hans", None)):
        response = page.request.get(f"{published}/statistics/1/report.pdf?lang={lang}")
        assert response.status == 200 and response.headers["content-type"] == "application/pdf"
        reader = PdfReader(io.BytesIO(response.body()))
        assert len(reader.pages) >= 1
        fonts = str(reader.pages[0]["/Resources"]["/Font"].get_object())
        if text:
            assert text in "".join(p.extract_text() for p in reader.pages)
        else:
            assert "STSong-Light" in str(
                [
                    f.get_object()["/BaseFont"]
                    for f in reader.pages[0]["/Resources"]["/Font"].get_object().values()
                ]
            ), fonts
