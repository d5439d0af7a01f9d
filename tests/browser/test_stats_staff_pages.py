"""The statistics staff pages in Chromium, in zh-Hans and en, at 375 px: the indicators page
(dashboard), an indicator's table, the regional upload page (also with every problem of a bad
file listed) and the publications page. No horizontal overflow, no axe-core serious or critical
finding; the upload's progress box and errors work with the page's script."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_helpers import axe_source, serious

from factories import browser_login, create_user
from opschub.accounts.permissions import Role
from opschub.clock import utcnow
from opschub.db import Database

BAD = (
    "indicator,period,org_unit,dimension,category,value\n"
    "victims,2023,XA-01-02,total,total,12\n"
    "victims,2023,XA-01-02,sex,female,seven\n"
    "victims,2023,XA-99,total,total,3\n"
)
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"
# What sticks out (named in a failure): the elements whose right edge passes the viewport.
WIDE = """() => Array.from(document.querySelectorAll('body *'))
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + (e.id || '') + ' '
                 + Math.round(e.getBoundingClientRect().right))"""


@pytest.fixture
def statistician(live_server: tuple[str, Database], page: Any) -> str:
    from opschub.stats import demo

    base, database = live_server
    with database.transaction() as session:
        demo.load(session)
    user, _password = create_user(database, Role.STATISTICIAN, username="stella")
    browser_login(page, base, database, user)
    page.set_viewport_size({"width": 375, "height": 800})
    return base


def _check(page: Any, where: str) -> None:
    assert page.evaluate(OVERFLOW) <= 0, f"{where}: wider than 375 px: {page.evaluate(WIDE)}"
    assert serious(page, axe_source()) == [], where


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_stats_staff_pages_at_375_px(
    page: Any, statistician: str, lang: str, tmp_path: Path
) -> None:
    base = statistician
    year = utcnow().year - 1
    for path in (
        f"/stats?period={year}&lang={lang}",
        f"/stats/tables/victims?period={year}&by=region&by=sex&lang={lang}",
        f"/stats/upload?lang={lang}",
        f"/stats/publications?lang={lang}",
        f"/stats/submissions?lang={lang}",
    ):
        page.goto(base + path)
        assert page.locator("html").get_attribute("lang") == lang
        _check(page, path)
    # A bad file: sent with the page's script, the problems replace the form's page in place.
    page.goto(f"{base}/stats/upload?lang={lang}")
    bad = tmp_path / "north.csv"
    bad.write_text(BAD, encoding="utf-8")
    page.set_input_files("#file", str(bad))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#file-errors")
    errors = page.inner_text("#file-errors")
    assert "north.csv" in errors
    assert ("第 3 行" in errors) if lang == "zh-Hans" else ("row 3" in errors)
    # The shared upload script (web/static/upload.js) put the answer in place and focused it.
    assert page.evaluate("document.activeElement.id") == "file-errors"
    _check(page, "upload errors")
