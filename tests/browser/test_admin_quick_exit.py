"""The quick-exit button of the public pages, in Chromium: it leaves for a neutral site and the
Back button does not come back to the page that was open; Esc twice does the same; without
JavaScript it is a plain link to the neutral site. The neutral sites are answered by the test
(nothing leaves this machine)."""

from __future__ import annotations

from typing import Any

import pytest

from opschub.db import Database

NEUTRAL = {"en": "https://www.google.com/", "zh-Hans": "https://www.baidu.com/"}


def _answer_neutral_sites(context: Any) -> None:
    for url in NEUTRAL.values():
        context.route(
            url + "**",
            lambda route: route.fulfill(
                status=200, content_type="text/html", body="<title>neutral</title>"
            ),
        )


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_quick_exit_leaves_and_back_does_not_return(
    page: Any, live_server: tuple[str, Database], lang: str
) -> None:
    base, _database = live_server
    _answer_neutral_sites(page.context)
    page.goto(f"{base}/help?lang={lang}")
    page.goto(f"{base}/report?lang={lang}")
    page.click("[data-quick-exit]")
    page.wait_for_url(NEUTRAL[lang])
    page.go_back()
    page.wait_for_load_state()
    # The report page was replaced in the history: Back goes to the page before it.
    assert page.url == f"{base}/help?lang={lang}"


def test_escape_twice_leaves_the_page(page: Any, live_server: tuple[str, Database]) -> None:
    base, _database = live_server
    _answer_neutral_sites(page.context)
    page.goto(f"{base}/report/me?lang=en")
    assert page.is_visible(".quick-exit-hint")
    page.keyboard.press("Escape")
    assert page.url.startswith(base)  # one Esc (closing a pop-up) keeps the half-written report
    page.keyboard.press("Escape")
    page.wait_for_url(NEUTRAL["en"])


def test_quick_exit_without_javascript_is_a_plain_link(
    browser: Any, live_server: tuple[str, Database]
) -> None:
    base, _database = live_server
    context = browser.new_context(java_script_enabled=False)
    try:
        _answer_neutral_sites(context)
        page = context.new_page()
        for path in ("/report", "/report/me", "/report/status", "/help"):
            page.goto(f"{base}{path}?lang=zh-Hans")
            assert page.get_attribute("[data-quick-exit]", "href") == NEUTRAL["zh-Hans"]
        page.click("[data-quick-exit]")
        page.wait_for_url(NEUTRAL["zh-Hans"])
    finally:
        context.close()
