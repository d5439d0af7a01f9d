"""Each staff role's main path in Chromium, in zh-Hans and en, at 1280 and 375 px.

Every page is checked at both widths after one load (the viewport is resized, not reloaded):
no axe-core serious or critical violation, no horizontal overflow
(``document.documentElement.scrollWidth <= innerWidth``) and no raw code (``action_taken``) in
what a person reads. The data is benign: URLs on example domains, fingerprints of nothing.

Set ``OPSCHUB_DOC_SCREENSHOTS=<dir>`` to also save the screenshots docs/analysts.md shows.
"""

from __future__ import annotations

from typing import Any

import pytest
from browser_helpers import at_every_width, axe_source

from factories import browser_login, create_user
from opschub.accounts.permissions import Role
from opschub.db import Database
from opschub.intake import service


def _seed(database: Database) -> None:
    """A small benign queue: URL reports, a group of self-reports of one "image", a partner one."""
    reports = [
        service.ReportIn(channel="public", urls=["https://example.org/gallery/item-17"]),
        service.ReportIn(
            channel="public",
            urls=["https://video.example.net/live/room-4"],
            incident_types=["live_streaming"],
        ),
        service.ReportIn(
            channel="partner",
            urls=["https://forum.example.com/thread/9931?page=2"],
            partner_reference="ticket-4711",
        ),
    ]
    reports += [
        service.ReportIn(
            channel="self_report",
            fingerprints=[service.FingerprintIn("sha256", "5e" * 32)],
            stated_age_band="13-14",
            media_kind="image",
        )
        for _ in range(3)
    ]
    with database.transaction() as session:
        service.submit_reports(session, reports)


def _login(page: Any, base: str, database: Database, role: Role, name: str) -> None:
    user, _password = create_user(database, role, username=name, display_name=name.title())
    browser_login(page, base, database, user)


def _staff_shell(page: Any) -> None:
    assert page.locator("header.staff-header").count() == 1
    assert page.locator("header a[href^='/report']").count() == 0  # no public links


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_analyst_works_the_queue(page: Any, live_server: tuple[str, Database], lang: str) -> None:
    axe = axe_source()
    base, database = live_server
    _seed(database)
    _login(page, base, database, Role.ANALYST, "ana")
    page.goto(f"{base}/?lang={lang}")  # staff land on their start page
    assert page.url.startswith(f"{base}/queue")
    _staff_shell(page)
    rows = page.locator("table.queue tbody tr[data-href]")
    assert rows.count() == 4  # three self-reports of one image are one group row
    at_every_width(page, axe, lang, shot="queue")

    page.keyboard.press("?")
    assert page.locator("#kbd-help").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("#kbd-help").is_visible()
    page.keyboard.press("j")
    assert "selected" in (rows.first.get_attribute("class") or "")
    # A new urgent report while the page is open: the next poll says so (asked now, not in 30 s).
    with database.transaction() as session:
        service.submit_report(
            session,
            service.ReportIn(
                channel="self_report", fingerprints=[service.FingerprintIn("md5", "7a" * 16)]
            ),
        )
    page.evaluate("document.getElementById('queue-notice').pollNow()")
    page.wait_for_selector("#queue-notice p.flash a")
    assert "R-" in page.locator("#queue-notice").inner_text()
    with page.expect_navigation():
        page.keyboard.press("c")  # claim the selected report
    assert page.locator(".flash").count() == 1
    assert page.locator("table.queue .badge.claimed-me").count() == 1

    page.locator("table.queue a.ref").first.click()
    page.wait_for_selector("#change-status")
    _staff_shell(page)
    at_every_width(page, axe, lang, shot="report")
    page.select_option("#new-status", "assessing")
    with page.expect_navigation():
        page.click("#save-next")
    assert page.locator(".flash").count() == 1  # the next report, with "status changed"


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_administrator_and_auditor_pages(
    page: Any, live_server: tuple[str, Database], lang: str
) -> None:
    axe = axe_source()
    base, database = live_server
    _seed(database)
    _login(page, base, database, Role.ADMIN, "root-admin")
    page.goto(f"{base}/?lang={lang}")
    assert page.url.startswith(f"{base}/admin/users")
    _staff_shell(page)
    at_every_width(page, axe, lang)
    for path in ("/admin/tokens", "/account", "/admin/jobs", "/hashlists", "/audit"):
        page.goto(f"{base}{path}?lang={lang}")
        _staff_shell(page)
        at_every_width(page, axe, lang)
    page.goto(f"{base}/audit/verify?lang={lang}")
    at_every_width(page, axe, lang)


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
@pytest.mark.parametrize(
    ("role", "start"),
    [
        (Role.SENIOR_ANALYST, "/queue"),
        (Role.POLICE_LIAISON, "/queue"),
        (Role.AUDITOR, "/audit"),
        (Role.CASE_WORKER, "/staff"),
        (Role.CASE_SUPERVISOR, "/staff"),
        (Role.STATISTICIAN, "/staff"),
    ],
)
def test_every_other_role_starts_on_its_own_page(
    page: Any, live_server: tuple[str, Database], lang: str, role: Role, start: str
) -> None:
    axe = axe_source()
    base, database = live_server
    if start == "/queue":
        _seed(database)
    _login(page, base, database, role, "someone")
    page.goto(f"{base}/?lang={lang}")
    assert page.url.startswith(f"{base}{start}")
    _staff_shell(page)
    at_every_width(page, axe, lang)
    # Each role's other main page: hash lists for senior analysts, the vault for police.
    other = {Role.SENIOR_ANALYST: "/hashlists", Role.POLICE_LIAISON: "/evidence"}.get(role)
    if other is not None:
        page.goto(f"{base}{other}?lang={lang}")
        _staff_shell(page)
        at_every_width(page, axe, lang)
        page.goto(f"{base}/?lang={lang}")
    if role is Role.POLICE_LIAISON:  # reads the queue, cannot act on it
        assert page.locator("#bulk fieldset.toolbar").count() == 0
