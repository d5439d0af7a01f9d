"""The first administrator's first login in Chromium: one-time password, TOTP set-up, new
password, logout. Runs the real forms, cookies, CSRF and Content-Security-Policy of a browser.
"""

from __future__ import annotations

from typing import Any

import pyotp
from browser_helpers import problems_of

from opschub.accounts import service
from opschub.db import Database


def test_first_administrator_login_in_chromium(
    live_server: tuple[str, Database], page: Any
) -> None:
    base, database = live_server
    with database.transaction() as session:
        created = service.ensure_admin(session)
    assert created is not None
    one_time = created[1]
    problems = problems_of(page)
    page.goto(f"{base}/login")
    page.fill("#username", "admin")
    page.fill("#password", one_time)
    page.click("main button[type=submit]")
    assert page.url == f"{base}/account/totp", page.locator("main").inner_text()

    secret = "".join(page.locator("p.mono.receipt").inner_text().split())
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("main button[type=submit]")
    assert page.url == f"{base}/account/password"

    page.fill("#current_password", one_time)
    page.fill("#new_password", "A much better password 2026")
    page.fill("#confirm_password", "A much better password 2026")
    page.click("main button[type=submit]")
    assert page.url == f"{base}/account?done=password"
    cookie = next(c for c in page.context.cookies() if c["name"] == "opschub_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    page.goto(f"{base}/admin/users")
    assert page.locator("h1").inner_text() == "Users"

    page.click("header button[type=submit]")  # log out
    assert page.url.startswith(f"{base}/login")
    assert not [c for c in page.context.cookies() if c["name"] == "opschub_session"]
    assert problems == []  # no failed request, nothing blocked by the Content-Security-Policy
