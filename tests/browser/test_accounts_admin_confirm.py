"""An administrator's destructive action and the TOTP set-up page in Chromium: the confirmation
page and the QR code work under the real Content-Security-Policy, with no serious or critical
axe-core finding, in both languages."""

from __future__ import annotations

from typing import Any

import pytest

from factories import create_user
from opschub.accounts import service
from opschub.accounts.permissions import Role
from opschub.db import Database
from opschub.web.auth import SESSION_COOKIE

AXE_RESULTS = (
    "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ("
    "{id: v.id, impact: v.impact, help: v.help,"
    " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)})))"
)


def _serious(page: Any, axe: str) -> list[dict[str, Any]]:
    page.evaluate(axe)
    violations: list[dict[str, Any]] = page.evaluate(AXE_RESULTS)
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def _axe() -> str:
    from test_intake_public_pages import _axe_source

    return _axe_source()


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_disabling_a_user_is_confirmed_on_its_own_page(
    live_server: tuple[str, Database], page: Any, lang: str
) -> None:
    axe = _axe()
    base, database = live_server
    admin, _ = create_user(database, Role.ADMIN)
    person, _ = create_user(database, Role.CASE_WORKER, username="browser-person")
    with database.transaction() as session:
        raw, _row = service.start_session(session, admin, totp_verified=True)
    page.context.add_cookies([{"name": SESSION_COOKIE, "value": raw, "url": base}])
    problems: list[str] = []

    def console(message: Any) -> None:
        # Failed loads are checked by status below (the browser's own favicon request is not
        # ours); anything else, e.g. a CSP violation, is a problem.
        if message.type == "error" and "Failed to load resource" not in message.text:
            problems.append(message.text)

    def response(answer: Any) -> None:
        if answer.status >= 400 and not answer.url.endswith("/favicon.ico"):
            problems.append(f"{answer.status} {answer.url}")

    page.on("console", console)
    page.on("response", response)

    page.goto(f"{base}/admin/users?lang={lang}")
    page.click(f"a[href^='/admin/users/{person.id}/disable']")
    page.wait_for_load_state()
    assert page.url.startswith(f"{base}/admin/users/{person.id}/disable")
    assert "browser-person" in page.locator("h1").inner_text()
    assert _serious(page, axe) == []
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert page.url.startswith(f"{base}/admin/users")
    with database.transaction() as session:
        assert service.get_user(session, person.id).disabled

    page.goto(f"{base}/account/totp?lang={lang}")
    qr = page.locator("svg.qr")
    assert qr.is_visible() and qr.bounding_box()["width"] >= 100  # type: ignore[index]
    assert _serious(page, axe) == []
    assert problems == []  # nothing blocked by the Content-Security-Policy
