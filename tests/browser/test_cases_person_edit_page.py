"""The page that corrects a person of a case, walked in Chromium 375 px wide in English and in
Chinese: reached by the person's "Edit" link on the case page, nothing wider than the screen,
no serious or critical axe-core finding, a bad birth date named at its field, then saved."""

from __future__ import annotations

from typing import Any

import pytest
from browser_helpers import axe_source, checked
from playwright.sync_api import expect

from factories import browser_login, create_user, principal_of
from opschub.accounts.permissions import Role
from opschub.cases import service
from opschub.cases.models import CasePerson
from opschub.db import Database
from opschub.orgunits import demo as orgunits_demo


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_a_person_is_corrected_on_a_narrow_screen(
    page: Any, live_server: tuple[str, Database], lang: str
) -> None:
    axe = axe_source()
    base, database = live_server
    user, _password = create_user(database, Role.CASE_WORKER, totp=False)
    actor = principal_of(user)
    with database.transaction() as session:
        orgunits_demo.load(session)
        case = service.open_case(
            session,
            actor,
            service.CaseIn(title="Grooming in a game chat", org_unit="XA-01-01"),
        )
        person = service.add_person(
            session, actor, case.id, service.PersonIn(role="victim", estimated_age=12)
        )
        case_id, person_id = case.id, person.id
    browser_login(page, base, database, user)
    page.set_viewport_size({"width": 375, "height": 800})

    page.goto(f"{base}/cases/{case_id}?lang={lang}")
    page.click(f"a[href*='/people/{person_id}/edit']")
    checked(page, axe, width=375)
    page.fill("#pe-age", "")
    page.fill("#pe-bd", "2099-01-01")
    page.click("#person-form button[type=submit]")
    checked(page, axe, width=375)
    expect(page.locator("#err-birth_date")).to_be_visible()
    expect(page.locator("#pe-bd")).to_have_attribute("aria-invalid", "true")
    page.fill("#pe-bd", "2012-04-01")
    page.click("#person-form button[type=submit]")
    page.wait_for_url(f"**/cases/{case_id}**")
    with database.read() as session:
        row = session.get(CasePerson, person_id)
        assert row is not None and row.birth_date is not None and row.estimated_age is None
