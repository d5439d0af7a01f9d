"""An administrator's destructive action and the TOTP set-up page in Chromium: the confirmation
page and the QR code work under the real Content-Security-Policy, with no serious or critical
axe-core finding, in both languages."""

from __future__ import annotations

from typing import Any

import pytest
from browser_helpers import axe_source, problems_of, serious

from factories import browser_login, create_user
from opschub.accounts import service
from opschub.accounts.permissions import Role
from opschub.db import Database


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_disabling_a_user_is_confirmed_on_its_own_page(
    live_server: tuple[str, Database], page: Any, lang: str
) -> None:
    axe = axe_source()
    base, database = live_server
    admin, _ = create_user(database, Role.ADMIN)
    person, _ = create_user(database, Role.CASE_WORKER, username="browser-person")
    browser_login(page, base, database, admin)
    problems = problems_of(page)

    page.goto(f"{base}/admin/users?lang={lang}")
    page.click(f"a[href^='/admin/users/{person.id}/disable']")
    page.wait_for_load_state()
    assert page.url.startswith(f"{base}/admin/users/{person.id}/disable")
    assert "browser-person" in page.locator("h1").inner_text()
    assert serious(page, axe) == []
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert page.url.startswith(f"{base}/admin/users")
    with database.transaction() as session:
        assert service.get_user(session, person.id).disabled

    page.goto(f"{base}/account/totp?lang={lang}")
    qr = page.locator("svg.qr")
    assert qr.is_visible() and qr.bounding_box()["width"] >= 100  # type: ignore[index]
    assert serious(page, axe) == []
    assert problems == []  # nothing blocked by the Content-Security-Policy
