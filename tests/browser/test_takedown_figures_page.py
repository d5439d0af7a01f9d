"""The removal figures page in Chromium at phone width: charts and cards fit 375 px, axe-core
finds nothing serious in English or Chinese, and the CSP blocks nothing (the charts need no
script or inline style)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from browser_helpers import axe_source, serious

from factories import browser_login, create_user
from opschub.accounts.permissions import Role
from opschub.db import Database
from opschub.ids import new_id
from opschub.takedown.models import Target

START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _targets(database: Database) -> None:
    hour = timedelta(hours=1)
    plan = [
        ("DE", "Example Hosting GmbH", 2, 10),
        ("DE", "Example Hosting GmbH", 3, 30),
        ("NL", "A provider with a rather long name B.V.", 1, None),
        (None, None, None, None),
    ]
    with database.transaction() as session:
        for number, (country, provider, to_notice, to_removal) in enumerate(plan):
            notice = START + to_notice * hour if to_notice else None
            removed = notice + to_removal * hour if notice and to_removal else None
            session.add(
                Target(
                    id=new_id(),
                    url=f"https://site{number}.example/page",
                    url_hash=hashlib.sha256(str(number).encode()).hexdigest(),
                    host=f"site{number}.example",
                    state="removed" if removed else ("notified" if notice else "captured"),
                    reported_at=START,
                    first_notice_at=notice,
                    removed_at=removed,
                    country=country,
                    provider=provider,
                    hosting={},
                    capture={},
                )
            )


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_removal_figures_fit_a_phone_and_pass_axe(
    page: Any, live_server: tuple[str, Database], lang: str
) -> None:
    axe = axe_source()
    base, database = live_server
    _targets(database)
    user, _password = create_user(database, Role.ANALYST)
    browser_login(page, base, database, user)
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(m.text) if m.type == "error" else None,
    )
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{base}/takedown/figures?lang={lang}&start=2026-11-01&end=2026-11-30")
    charts = page.locator("svg.chart[role=img]")
    assert charts.count() == 3
    for index in range(3):
        box = charts.nth(index).bounding_box()
        assert box is not None and box["width"] <= 375
    # The tables are cards: nothing makes the page scroll sideways.
    too_wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > 376)
            .map(e => e.tagName + '.' + e.className + '#' + e.id + ' '
                 + Math.round(e.getBoundingClientRect().right))"""
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, too_wide
    assert serious(page, axe) == []
    assert problems == []  # no CSP violation, no script error
    # The CSV link keeps the period.
    href = page.locator("a[download]").get_attribute("href") or ""
    assert "start=2026-11-01" in href and "end=2026-11-30" in href
