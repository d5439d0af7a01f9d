"""A case walked in Chromium from a report to compensation paid, in English and in Chinese: the
case opened from the report, the child and the suspect added, the child referred to a one-stop
centre with the guardian's consent, every step of the proceedings recorded through the form
(which checks each step as it is chosen), the child told, and the dashboard clear at the end.
Every page is checked with axe-core (no serious or critical violation) and for script errors."""

from __future__ import annotations

from typing import Any

import pytest
from browser_helpers import axe_source, checked
from playwright.sync_api import expect

from factories import browser_login, create_user
from opschub.accounts.permissions import Role
from opschub.cases import informing, proceedings, referrals
from opschub.clock import utcnow
from opschub.db import Database
from opschub.intake import service as intake
from opschub.orgunits import demo as orgunits_demo

STEPS = [
    ("investigation_opened", None),
    ("charged", None),
    ("prosecution", None),
    ("hearing", None),
    ("conviction", None),
    ("sentence", None),
    ("compensation_ordered", "2500"),
    ("compensation_paid", "2500"),
]


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_a_case_from_a_report_to_compensation_paid(
    page: Any, live_server: tuple[str, Database], lang: str
) -> None:
    axe = axe_source()
    base, database = live_server
    with database.transaction() as session:
        orgunits_demo.load(session)
        (report,) = intake.submit_reports(
            session, [intake.ReportIn(channel="partner", urls=["https://example.org/chat-room"])]
        )
    user, _password = create_user(database, Role.CASE_WORKER, totp=False)
    browser_login(page, base, database, user)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    today = utcnow().date().isoformat()

    # The case, opened from the report.
    page.goto(f"{base}/cases/new?lang={lang}")
    checked(page, axe)
    page.fill("#c-title", "Grooming in a game chat")
    page.select_option("#c-unit", "XA-01-01")
    page.check("input[name=forms][value=grooming]")
    page.fill("#c-reports", report.id)
    page.locator("form:has(#c-title) button[type=submit]").click()
    page.wait_for_url(f"{base}/cases/*")
    case_id = page.url.split("/cases/")[1].split("?")[0].split("#")[0]
    checked(page, axe)

    # The child (born on 29 February) and the suspect.
    page.select_option("#p-role", "victim")
    page.fill("#p-bd", "2012-02-29")
    page.locator("form:has(#p-role) button[type=submit]").click()
    page.wait_for_load_state()
    page.select_option("#p-role", "suspect")
    page.fill("#p-age", "35")
    if page.locator("#p-cat").is_visible():
        page.select_option("#p-cat", "adult")
    page.locator("form:has(#p-role) button[type=submit]").click()
    page.wait_for_load_state()

    # A service in the directory.
    page.goto(f"{base}/cases/services?lang={lang}")
    checked(page, axe)
    page.select_option("#svc-unit", "XA-01")
    page.select_option("#svc-kind", "one_stop_centre")
    page.fill("#svc-name", "Children's House North")
    page.fill("#svc-langs", "zh, en")
    page.locator("form:has(#svc-name) button[type=submit]").click()
    page.wait_for_load_state()
    checked(page, axe)

    # The follow-up: referral with the guardian's consent.
    page.goto(f"{base}/cases/{case_id}/follow-up?lang={lang}")
    checked(page, axe)
    page.select_option("#ref-consent", "guardian")
    page.locator("form:has(#ref-consent) button[type=submit]").click()
    page.wait_for_load_state()
    checked(page, axe)

    # A sentence before a conviction: the form says so as it is chosen.
    page.select_option("#step-kind", "sentence")
    page.fill("#step-on", today)
    expect(page.locator("#step-check")).to_contain_text(
        "earlier step" if lang == "en" else "前一个步骤"
    )

    for kind, amount in STEPS:
        page.select_option("#step-kind", kind)
        page.fill("#step-on", today)
        page.fill("#step-amount", amount or "")
        # Wait for the answer to this step's post before the next one is chosen: a bare
        # wait_for_load_state can return on the old page and the next post then races it.
        with page.expect_navigation():
            page.locator("#step-form button[type=submit]").click()
        page.wait_for_load_state()
        assert page.locator("#proceedings-errors").count() == 0, kind
    checked(page, axe)

    # The child and the guardian are told.
    assert page.locator("#inform-reminders").count() == 1
    page.fill("#inf-lang", "zh")
    page.fill("#inf-what", "What the court decided and that the compensation was paid.")
    page.locator("form:has(#inf-what) button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#inform-reminders").count() == 0
    checked(page, axe)

    page.goto(f"{base}/cases/dashboard?lang={lang}")
    checked(page, axe)
    assert page.locator("#no-reminders").count() == 1

    with database.read() as session:
        kinds = [s.kind for s in proceedings.steps_of(session, case_id)]
        (referral,) = referrals.referrals_of(session, case_id)
        (told,) = informing.log_of(session, case_id)
    assert kinds[-1] == "compensation_paid" and len(kinds) == len(STEPS)
    assert referral.consent_by == "guardian" and told.who == "child"
    assert errors == []
