"""The page that corrects a person of a case, walked in Chromium 375 px wide in English and in
Chinese: reached by the person's "Edit" link on the case page, nothing wider than the screen,
no serious or critical axe-core finding, a bad birth date named at its field, then saved."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from test_intake_public_pages import _axe_source, _serious

from factories import browser_login, create_user
from opschub.accounts.permissions import Role, permissions_of
from opschub.accounts.principal import Principal
from opschub.cases import service
from opschub.cases.models import CasePerson
from opschub.db import Database
from opschub.orgunits import demo as orgunits_demo


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_a_person_is_corrected_on_a_narrow_screen(
    page: Any, live_server: tuple[str, Database], lang: str
) -> None:
    axe = _axe_source()
    base, database = live_server
    user, _password = create_user(database, Role.CASE_WORKER, totp=False)
    actor = Principal(
        kind="user",
        id=user.id,
        name=user.username,
        role=Role.CASE_WORKER,
        permissions=permissions_of(Role.CASE_WORKER),
    )
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

    def checked() -> None:
        page.wait_for_load_state()
        assert _serious(page, axe) == [], page.url
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, page.url

    page.goto(f"{base}/cases/{case_id}?lang={lang}")
    page.click(f"a[href*='/people/{person_id}/edit']")
    checked()
    page.fill("#pe-age", "")
    page.fill("#pe-bd", "2099-01-01")
    page.click("#person-form button[type=submit]")
    checked()
    expect(page.locator("#err-birth_date")).to_be_visible()
    expect(page.locator("#pe-bd")).to_have_attribute("aria-invalid", "true")
    page.fill("#pe-bd", "2012-04-01")
    page.click("#person-form button[type=submit]")
    page.wait_for_url(f"**/cases/{case_id}**")
    with database.read() as session:
        row = session.get(CasePerson, person_id)
        assert row is not None and row.birth_date is not None and row.estimated_age is None
