"""Evidence management walked in Chromium by a police liaison, in English and in Chinese: the
list, retention and destruction, an item's legal hold, the second person's approval, the
confirmation page before destruction, a batch refused with the blocking item named, a bad rule,
and an item that does not exist.

Every page is checked as in ``test_staff_pages``: at 1280 and 375 px wide, no horizontal overflow,
no axe-core serious or critical finding, no Chinese label broken over lines and no raw code
(``not_illegal``) in what is shown. The main next action of each page has an access key. The
material is generated gradients, never real material.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from browser_helpers import access_key, at_every_width, axe_source, submit

from factories import browser_login, create_user
from opschub import config
from opschub.accounts.permissions import Role
from opschub.db import Database
from opschub.evidence import service
from opschub.evidence.vault import vault_from_settings
from pictures import photo

SECOND = service.Operator("second-officer")


def _seed(database: Database) -> list[str]:
    """Three stored images, all due for destruction (a rule keeping unassessed items 0 days); the
    first approved for destruction by a second person already."""
    vault = vault_from_settings()
    with database.transaction() as session:
        ids = [
            service.put(
                session, vault, io.BytesIO(photo(n)), source_kind="upload", actor=SECOND,
                purpose="intake", original_name=f"capture-{n}.png",
            ).item.id
            for n in range(3)
        ]  # fmt: skip
        service.set_retention_rule(
            session, actor=SECOND, category="unassessed", linked_state="*", keep_days=0,
            name="Unassessed uploads",
        )  # fmt: skip
        service.approve(session, ids[0], actor=SECOND, action="destroy", note="checked")
    return ids


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_police_liaison_manages_retention_holds_and_destruction_on_any_screen(
    page: Any, live_server: tuple[str, Database], lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSCHUB_EVIDENCE_FOUR_EYES", "1")
    config.get_settings.cache_clear()
    axe = axe_source()
    base, database = live_server
    approved, other, third = _seed(database)
    user, _password = create_user(database, Role.POLICE_LIAISON, display_name="Officer")
    browser_login(page, base, database, user)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(f"{base}/evidence?lang={lang}")
    at_every_width(page, axe, lang)
    access_key(page, "r")

    page.goto(f"{base}/evidence/retention?lang={lang}")
    assert page.locator("#nothing-due").count() == 0
    assert page.locator(f"#due-{approved}").count() == 1
    at_every_width(page, axe, lang)
    access_key(page, "d")

    # An item: view it blurred, put it on hold, release the hold, approve its destruction.
    page.goto(f"{base}/evidence/{other}?lang={lang}")
    at_every_width(page, axe, lang)
    access_key(page, "v")
    page.select_option("#purpose", "investigation")
    submit(page, "button[value=blurred]")
    assert page.locator("#rendition").count() == 1
    at_every_width(page, axe, lang)
    page.goto(f"{base}/evidence/{other}?lang={lang}")
    page.fill("#hold-reason", "Court order 12/2026")
    submit(page, "form[action*='/hold'] button[type=submit]")
    assert page.locator("#manage-done").count() == 1
    at_every_width(page, axe, lang)
    page.fill("#release-reason", "Case closed")
    submit(page, "form[action*='/release'] button[type=submit]")
    at_every_width(page, axe, lang)
    submit(page, "form[action*='/approve'] button[type=submit]")
    assert page.locator("#approval").count() == 1
    at_every_width(page, axe, lang)

    # A batch with an item this person approved: refused, the item named, nothing destroyed.
    page.goto(f"{base}/evidence/retention?lang={lang}")
    page.check(f"#due-{other}")
    page.check(f"#due-{approved}")
    submit(page, "#batch-destroy")
    at_every_width(page, axe, lang)  # the confirmation page
    submit(page, "main form[method=post] button[type=submit]")
    assert other in page.locator("#manage-error").inner_text()
    at_every_width(page, axe, lang)

    # One item, approved by someone else: confirmed on a page of its own, then destroyed.
    page.goto(f"{base}/evidence/{approved}?lang={lang}")
    page.fill("#destroy-reason", "Retention period ended")
    submit(page, "#destroy")
    assert page.locator("h1").count() == 1 and approved in page.locator("main").inner_text()
    at_every_width(page, axe, lang)
    submit(page, "main form[method=post] button[type=submit]")
    assert page.locator("#manage-done").count() == 1
    at_every_width(page, axe, lang)  # a destroyed item

    # A bad rule is refused and said so; an unknown item is a page of its own.
    page.goto(f"{base}/evidence/retention?lang={lang}")
    page.fill("#rule-name", "Everything else")
    page.evaluate("document.getElementById('rule-days').removeAttribute('min')")
    page.fill("#rule-days", "-1")
    submit(page, "form[action*='/rules'] button[type=submit]")
    assert page.locator("#manage-error").count() == 1
    at_every_width(page, axe, lang)
    page.goto(f"{base}/evidence/{'0' * 32}?lang={lang}")
    at_every_width(page, axe, lang)

    with database.read() as session:
        states = {i: service.get_item(session, i).state for i in (approved, other, third)}
    assert states == {approved: "destroyed", other: "stored", third: "stored"}
    assert errors == []
