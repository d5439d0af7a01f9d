"""The case dashboard with a national-size spread of cases (the large demo generator, a few
hundred cases), in zh-Hans and en at 1280 and 375 px: every list a page at a time with its count,
cases named by their reference, no axe-core finding, no overflow, no raw code."""

from __future__ import annotations

from typing import Any

import pytest
from browser_helpers import at_every_width, axe_source

from factories import browser_login, create_user
from opschub.accounts.permissions import Role
from opschub.cases import demo_large, service
from opschub.db import Database


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_the_dashboard_pages_every_list_and_names_cases_by_reference(
    page: Any, live_server: tuple[str, Database], lang: str
) -> None:
    axe = axe_source()
    base, database = live_server
    demo_large.load_large(database, cases=400)
    user, _password = create_user(database, Role.CASE_WORKER, username="cw", display_name="Cw")
    with database.transaction() as session:
        service.set_scope(session, service.Importer(name="test admin"), user.id, scope="all")
    browser_login(page, base, database, user)
    page.goto(f"{base}/cases/dashboard?lang={lang}")
    at_every_width(page, axe, lang)
    for name in ("alarms", "reminders", "overdue"):
        assert page.locator(f"#{name}-count").count() == 1, name
        assert page.locator(f"#{name}-more").count() == 1, name  # more than one page
    first_case = page.locator("#overdue ~ table a").first.inner_text()
    assert first_case.startswith("C-") and len(first_case) == len("C-XXXX-XXXX")
    page.click("#overdue-more")
    page.wait_for_load_state()
    assert "overdue_from=50" in page.url
    at_every_width(page, axe, lang)
    assert (
        page.locator("#overdue-count")
        .inner_text()
        .startswith("Showing 51 to" if lang == "en" else "第 51 至")
    )
