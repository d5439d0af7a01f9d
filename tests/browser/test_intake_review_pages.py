"""The retry page of a busy database and the page that rejects self-reported fingerprints, in
Chromium with axe-core (no serious or critical violations), in both languages."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from browser_helpers import axe_source, serious, submitted
from sqlalchemy import event

from factories import browser_login, create_user
from opschub.accounts.permissions import Role
from opschub.db import Database
from opschub.intake import service


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_public_form_while_the_database_is_locked_shows_an_accessible_retry_page(
    page: Any, live_server: tuple[str, Database], lang: str
) -> None:
    axe = axe_source()
    base, database = live_server
    page.goto(f"{base}/report?lang={lang}")
    page.fill("#urls", "https://example.org/demo/busy")

    def _short(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=50")

    event.listen(database.engine, "connect", _short)
    database.engine.dispose()
    path = database.engine.url.database
    assert path is not None
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        submitted(page, "button[type=submit].big-button")
        assert page.locator("h1").inner_text() in ("Please try again in a moment", "请稍后再试")
        assert serious(page, axe) == []
    finally:
        holder.rollback()
        holder.close()
        event.remove(database.engine, "connect", _short)


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_rejecting_self_reported_fingerprints_page_is_accessible(
    page: Any, live_server: tuple[str, Database], lang: str
) -> None:
    axe = axe_source()
    base, database = live_server
    with database.transaction() as session:
        report = service.submit_report(
            session,
            service.ReportIn(
                channel="self_report", fingerprints=[service.FingerprintIn("md5", "c3" * 16)]
            ),
        )
    user, _password = create_user(database, Role.SENIOR_ANALYST)
    browser_login(page, base, database, user)
    page.goto(f"{base}/queue/{report.id}/reject-fingerprints?lang={lang}")
    assert "/reject-fingerprints" in page.url, page.url
    assert serious(page, axe) == []
    page.check("#fp-1")
    page.fill("#reason", "browser test")
    submitted(page, "main button[type=submit]")
    assert page.locator("[role=status]").count() == 1
    assert serious(page, axe) == []
