"""Relationships on the person edit page, walked in Chromium 375 px wide in English and in
Chinese: the list shows the other person by alias and role with the kind's label, the kind is
changed, a second relationship for the same pair is refused at its field, one is added and one
removed; nothing wider than the screen and no serious or critical axe-core finding on the way."""

from __future__ import annotations

from typing import Any

import pytest
from browser_helpers import axe_source, serious
from playwright.sync_api import expect
from sqlalchemy import select

from factories import browser_login, create_user
from opschub.accounts.permissions import Role, permissions_of
from opschub.accounts.principal import Principal
from opschub.cases import service
from opschub.cases.models import CaseRelationship
from opschub.db import Database
from opschub.orgunits import demo as orgunits_demo

LABELS = {
    "en": {"family": "family member", "suspect": "suspect"},
    "zh-Hans": {"family": "家庭成员", "suspect": "嫌疑人"},
}


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_a_relationship_is_edited_on_a_narrow_screen(
    page: Any, live_server: tuple[str, Database], lang: str
) -> None:
    axe = axe_source()
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
            session, actor, service.CaseIn(title="Grooming in a game chat", org_unit="XA-01-01")
        )

        def add(role: str, age: int, name: str | None = None) -> str:
            data = service.PersonIn(role=role, estimated_age=age, real_name=name)
            return service.add_person(session, actor, case.id, data).id

        victim = add("victim", 12)
        suspect = add("suspect", 40, "Example Two")
        guardian = add("guardian", 38)
        rid = service.add_relationship(session, actor, case.id, suspect, victim, "stranger").id
        case_id = case.id
    browser_login(page, base, database, user)
    page.set_viewport_size({"width": 375, "height": 800})

    def checked() -> None:
        page.wait_for_load_state()
        assert serious(page, axe) == [], page.url
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, page.url

    page.goto(f"{base}/cases/{case_id}/people/{victim}/edit?lang={lang}")
    checked()
    row = page.locator(f"#rel-{rid}")
    expect(row).to_contain_text("S1")
    expect(row).to_contain_text(LABELS[lang]["suspect"])
    expect(page.locator("body")).not_to_contain_text("Example Two")
    expect(page.locator("#rel-other")).to_have_attribute("accesskey", "r")
    # change the kind
    page.select_option(f"#rel-kind-{rid}", "family")
    row.locator("button[type=submit]").first.click()
    page.wait_for_url("**done=changed**")
    checked()
    expect(page.locator("#rel-done")).to_be_visible()
    expect(page.locator(f"#rel-{rid}")).to_contain_text(LABELS[lang]["family"])
    # the guardian is offered, the suspect (already related) is not
    offered = page.locator("#rel-other option").evaluate_all("els => els.map(e => e.value)")
    assert guardian in offered and suspect not in offered
    page.select_option("#rel-other", guardian)
    page.select_option("#rel-kind", "family")
    page.click("#relationship-form button[type=submit]")
    page.wait_for_url("**done=added**")
    checked()
    with database.read() as session:
        rows = session.execute(
            select(CaseRelationship.person_id, CaseRelationship.relationship).where(
                CaseRelationship.other_person_id == victim
            )
        ).all()
    assert sorted(tuple(r) for r in rows) == sorted([(suspect, "family"), (guardian, "family")])
    # remove the suspect's relationship
    page.locator(f"#rel-{rid} button.secondary").click()
    page.wait_for_url("**done=removed**")
    checked()
    expect(page.locator(f"#rel-{rid}")).to_have_count(0)
    with database.read() as session:
        assert session.get(CaseRelationship, rid) is None
