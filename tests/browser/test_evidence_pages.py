"""The evidence pages in Chromium: a police liaison views an item blurred, then in full; both
languages checked with axe-core (no serious or critical violation) and nothing blocked by the
Content-Security-Policy; the material never travels at a URL of its own."""

from __future__ import annotations

import io
from typing import Any

import pytest
from browser_helpers import axe_source, serious

from factories import create_user
from opschub.accounts import service as accounts
from opschub.accounts.permissions import Role
from opschub.db import Database
from opschub.evidence import service
from opschub.evidence.vault import vault_from_settings
from opschub.web.auth import SESSION_COOKIE
from pictures import photo


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_police_liaison_views_evidence_blurred_then_full(
    page: Any, live_server: tuple[str, Database], lang: str
) -> None:
    axe = axe_source()
    base, database = live_server
    user, _password = create_user(database, Role.POLICE_LIAISON)
    with database.transaction() as session:
        raw, _row = accounts.start_session(session, user, totp_verified=True)
        item = service.put(
            session, vault_from_settings(), io.BytesIO(photo(size=320)), source_kind="upload",
            actor=service.Operator("officer"), purpose="intake", original_name="capture.png",
        ).item  # fmt: skip
    page.context.add_cookies([{"name": SESSION_COOKIE, "value": raw, "url": base}])
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and "Failed to load resource" not in m.text
            else None
        ),
    )
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))

    page.goto(f"{base}/evidence?lang={lang}")
    assert serious(page, axe) == []
    page.click(f"a[href*='/evidence/{item.id}']")
    page.wait_for_load_state()
    assert page.locator("#rendition").count() == 0
    assert serious(page, axe) == []
    page.select_option("#purpose", "investigation")
    page.click("button[value=blurred]")
    page.wait_for_selector("#rendition")
    assert serious(page, axe) == []
    page.select_option("#purpose", "investigation")
    page.click("button[value=full]")
    page.wait_for_selector("#rendition")
    assert page.locator("figcaption").count() == 1
    assert serious(page, axe) == []
    with database.read() as session:
        views = [e.details for e in service.custody(session, item.id) if e.action == "view"]
    assert views == [{"rendition": "blurred"}, {"rendition": "full"}]
    assert not [u for u in requests if "image" in u or u.endswith((".png", ".jpg"))]
    assert problems == []
