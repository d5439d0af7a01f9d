"""The first administrator's first login in Chromium: one-time password, TOTP set-up, new
password, logout. Runs the real forms, cookies, CSRF and Content-Security-Policy of a browser.

Skipped (with the reason) without python playwright or Chromium, unless OPSCHUB_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi import FastAPI

from opschub.accounts import service
from opschub.db import Database

pytestmark = pytest.mark.browser
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]


def _unavailable(reason: str) -> None:
    if os.environ.get("OPSCHUB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (OPSCHUB_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(reason)


def _chromium() -> str | None:
    configured = os.environ.get("OPSCHUB_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def live_server(app: FastAPI, database: Database) -> Iterator[str]:
    """The application on a free local port, in a background thread."""
    if database.engine.dialect.name != "sqlite":
        pytest.skip("the browser flow runs once, on SQLite")
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_first_administrator_login_in_chromium(live_server: str, database: Database) -> None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("python playwright is not installed")
    executable = _chromium()
    if executable is None:
        _unavailable("Chromium not found (set OPSCHUB_CHROMIUM or install chromium)")
    with database.transaction() as session:
        created = service.ensure_admin(session)
    assert created is not None
    one_time = created[1]
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()

            def console(message: Any) -> None:
                # Failed loads are checked by status below (the browser's own favicon request
                # is not ours); anything else, e.g. a CSP violation, is a problem.
                if message.type == "error" and "Failed to load resource" not in message.text:
                    problems.append(message.text)

            def response(answer: Any) -> None:
                if answer.status >= 400 and not answer.url.endswith("/favicon.ico"):
                    problems.append(f"{answer.status} {answer.url}")

            page.on("console", console)
            page.on("response", response)
            page.goto(f"{live_server}/login")
            page.fill("#username", "admin")
            page.fill("#password", one_time)
            page.click("main button[type=submit]")
            assert page.url == f"{live_server}/account/totp", page.locator("main").inner_text()

            secret = "".join(page.locator("p.mono.receipt").inner_text().split())
            page.fill("#code", pyotp.TOTP(secret).now())
            page.click("main button[type=submit]")
            assert page.url == f"{live_server}/account/password"

            page.fill("#current_password", one_time)
            page.fill("#new_password", "A much better password 2026")
            page.fill("#confirm_password", "A much better password 2026")
            page.click("main button[type=submit]")
            assert page.url == f"{live_server}/account?done=password"
            cookie = next(c for c in page.context.cookies() if c["name"] == "opschub_session")
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

            page.goto(f"{live_server}/admin/users")
            assert page.locator("h1").inner_text() == "Users"

            page.click("header button[type=submit]")  # log out
            assert page.url.startswith(f"{live_server}/login")
            assert not [c for c in page.context.cookies() if c["name"] == "opschub_session"]
        finally:
            browser.close()
    assert problems == []  # no failed request, nothing blocked by the Content-Security-Policy
