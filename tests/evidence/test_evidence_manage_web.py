"""Managing evidence in the web: legal holds, the second person's approval, destruction one by
one or in a batch (all or nothing), retention rules; every irreversible step confirmed on a page
of its own with the password entered recently."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from evidence_helpers import OFFICER, photo, put_bytes
from fastapi import FastAPI

from factories import logged_in_client
from opschub import clock, config
from opschub.accounts.permissions import Role
from opschub.db import Database
from opschub.evidence import service
from opschub.evidence.models import CASE_STATES, LINKED_STATES, REPORT_STATES


def _state(database: Database, item_id: str) -> tuple[str, bool]:
    with database.read() as session:
        item = service.get_item(session, item_id)
        return item.state, item.on_hold


def _due_now(database: Database) -> None:
    with database.transaction() as session:
        service.set_retention_rule(
            session, actor=OFFICER, category="unassessed", linked_state="*", keep_days=0,
            name="Unassessed uploads",
        )  # fmt: skip


def test_a_legal_hold_stops_destruction_until_released(app: FastAPI, database: Database) -> None:
    item = put_bytes(database, photo(41)).item
    officer = logged_in_client(app, database, Role.POLICE_LIAISON)
    page = officer.get(f"/evidence/{item.id}")
    assert "Place on legal hold" in page.text and "Destroy…" in page.text
    no_reason = officer.post(f"/evidence/{item.id}/hold", data={"reason": " "})
    assert "Give a reason." in no_reason.text
    held = officer.post(f"/evidence/{item.id}/hold", data={"reason": "court order 12/2026"})
    assert "The item is on legal hold" in held.text
    assert _state(database, item.id) == ("stored", True)
    form = {"items": item.id, "reason": "done", "back": f"/evidence/{item.id}"}
    refused = officer.post("/evidence/destroy", data=form)
    assert "release the hold first" in refused.text
    assert _state(database, item.id) == ("stored", True)
    officer.post(f"/evidence/{item.id}/release", data={"reason": "case closed"})
    gone = officer.post("/evidence/destroy", data=form)
    assert "Destroyed." in gone.text
    assert _state(database, item.id) == ("destroyed", False)
    with database.read() as session:
        actions = [ev.action for ev in service.custody(session, item.id)]
    assert actions == ["acquire", "hold", "release", "destroy"]


def test_destruction_needs_a_second_person_when_four_eyes_is_on(
    app: FastAPI, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSCHUB_EVIDENCE_FOUR_EYES", "1")
    config.get_settings.cache_clear()
    item = put_bytes(database, photo(42)).item
    first = logged_in_client(app, database, Role.POLICE_LIAISON)
    second = logged_in_client(app, database, Role.POLICE_LIAISON)
    form = {"items": item.id, "reason": "retention ended", "back": f"/evidence/{item.id}"}
    unapproved = first.post("/evidence/destroy", data=form)
    assert "needs the approval of a second person" in unapproved.text
    approved = first.post(f"/evidence/{item.id}/approve", data={"note": "checked"})
    assert "Destruction approved" in approved.text and "approved by" in approved.text
    own = first.post("/evidence/destroy", data=form)
    assert "You approved this destruction yourself" in own.text
    assert _state(database, item.id) == ("stored", False)
    done = second.post("/evidence/destroy", data=form)
    assert "Destroyed." in done.text and _state(database, item.id)[0] == "destroyed"
    with database.read() as session:
        certificate = service.certificate(session, item.id)
    approver = first.user.username  # type: ignore[attr-defined]
    assert approver in str(certificate)


def test_batch_destruction_is_all_or_nothing_and_names_the_blocking_item(
    app: FastAPI, database: Database
) -> None:
    items = [put_bytes(database, photo(50 + n)).item for n in range(3)]
    _due_now(database)
    officer = logged_in_client(app, database, Role.POLICE_LIAISON)
    listing = officer.get("/evidence/retention")
    assert "Unassessed uploads" in listing.text
    assert all(f'value="{item.id}"' in listing.text for item in items)
    officer.post(f"/evidence/{items[1].id}/hold", data={"reason": "appeal pending"})
    chosen = [("item", item.id) for item in items] + [("reason", "retention ended")]
    confirm = officer.get("/evidence/destroy", params=chosen)
    assert confirm.status_code == 200 and "Destroy 3 evidence items for good?" in confirm.text
    blocked = officer.post(
        "/evidence/destroy",
        data={"items": " ".join(i.id for i in items), "reason": "retention ended"},
    )
    query = parse_qs(urlsplit(str(blocked.url)).query)
    assert query["error"] == ["on_hold"] and query["item"] == [items[1].id]
    assert "release the hold first" in blocked.text
    assert [_state(database, i.id)[0] for i in items] == ["stored"] * 3
    officer.post(
        "/evidence/destroy",
        data={"items": f"{items[0].id} {items[2].id}", "reason": "retention ended"},
    )
    assert [_state(database, i.id)[0] for i in items] == ["destroyed", "stored", "destroyed"]
    after = officer.get("/evidence/retention")
    assert items[0].id not in after.text and items[1].id not in after.text  # held: not due


def test_destroying_asks_for_the_password_again_when_it_is_not_recent(
    app: FastAPI, database: Database
) -> None:
    item = put_bytes(database, photo(44)).item
    officer = logged_in_client(app, database, Role.POLICE_LIAISON)
    later = clock.utcnow() + timedelta(minutes=config.get_settings().reauth_minutes + 1)
    with clock.frozen(later):
        confirm = officer.get(
            "/evidence/destroy", params={"item": item.id, "reason": "x"}, follow_redirects=False
        )
        assert confirm.status_code == 303
        assert confirm.headers["location"].startswith("/account/reauth?next=%2Fevidence%2Fdestroy")
        post = officer.post(
            "/evidence/destroy", data={"items": item.id, "reason": "x"}, follow_redirects=False
        )
        assert post.status_code == 303 and "/account/reauth" in post.headers["location"]
    assert _state(database, item.id) == ("stored", False)


def test_retention_rules_are_set_by_managers_and_read_by_viewers(
    app: FastAPI, database: Database
) -> None:
    officer = logged_in_client(app, database, Role.POLICE_LIAISON)
    saved = officer.post(
        "/evidence/retention/rules",
        data={"name": "Not illegal", "category": "not_illegal", "linked_state": "*",
              "keep_days": "30"},
    )  # fmt: skip
    assert "Retention rule saved." in saved.text and "Not illegal" in saved.text
    bad = officer.post(
        "/evidence/retention/rules",
        data={"name": "x", "category": "not_illegal", "keep_days": "forever"},
    )
    assert "Check the rule" in bad.text
    # the state is chosen from a list; a typed code that is not on it is refused, saying so
    typed = officer.post(
        "/evidence/retention/rules",
        data={"name": "Archived", "category": "illegal", "linked_state": "case_archived",
              "keep_days": "30"},
    )  # fmt: skip
    assert "Choose the state of the report or case from the list" in typed.text
    assert re.search(r'<select id="rule-state"[^>]*aria-invalid="true"', typed.text)
    closed = officer.post(
        "/evidence/retention/rules",
        data={"name": "Ten years", "category": "illegal", "linked_state": "case_closed",
              "keep_days": "3650"},
    )  # fmt: skip
    assert "Retention rule saved." in closed.text
    table = closed.text.split('aria-labelledby="rules-heading"', 1)[1].split("</table>", 1)[0]
    assert "case closed" in table and "case_closed" not in table
    with database.read() as session:
        assert sorted(
            (r.name, r.linked_state, r.keep_days) for r in service.retention_rules(session)
        ) == [
            ("Not illegal", "*", 30),
            ("Ten years", "case_closed", 3650),
        ]
    viewer = logged_in_client(app, database, Role.SENIOR_ANALYST)
    page = viewer.get("/evidence/retention")
    assert page.status_code == 200 and "Not illegal" in page.text
    assert "Save the rule" not in page.text
    denied = viewer.post(
        "/evidence/retention/rules",
        data={"name": "y", "category": "illegal", "linked_state": "*", "keep_days": "1"},
    )
    assert denied.status_code == 403


def test_the_rule_form_offers_the_allowed_states_by_their_labels(
    app: FastAPI, database: Database
) -> None:
    officer = logged_in_client(app, database, Role.POLICE_LIAISON)
    for lang, closed_label in (("en", "case closed"), ("zh-Hans", "案件已结案")):
        page = officer.get("/evidence/retention", params={"lang": lang})
        chosen = page.text.split('<select id="rule-state"', 1)[1].split("</select>", 1)[0]
        values = re.findall(r'<option value="([^"]*)"', chosen)
        assert tuple(values) == LINKED_STATES
        assert f'<option value="case_closed">{closed_label}</option>' in chosen
        assert 'name="linked_state"' not in page.text.split("<select", 1)[0]
    refused = officer.post(
        "/evidence/retention/rules",
        data={"name": "x", "category": "illegal", "linked_state": "report_closed", "keep_days": "1",
              "lang": "zh-Hans"},
        params={"lang": "zh-Hans"},
    )  # fmt: skip
    assert "从列表中选择举报或案件的状态" in refused.text


def test_the_linked_states_follow_the_report_and_case_statuses() -> None:
    from opschub import labels
    from opschub.cases.models import STATUSES as CASE_STATUSES
    from opschub.intake.models import STATUSES as REPORT_STATUSES

    assert REPORT_STATES == REPORT_STATUSES
    assert tuple(f"case_{s}" for s in CASE_STATUSES) == CASE_STATES
    assert all(labels.has("evidence_linked_state", code) for code in LINKED_STATES)


def test_management_pages_speak_chinese(app: FastAPI, database: Database) -> None:
    item = put_bytes(database, photo(45)).item
    _due_now(database)
    officer = logged_in_client(app, database, Role.POLICE_LIAISON)
    page = officer.get("/evidence/retention?lang=zh-Hans")
    assert "到期待销毁" in page.text and "保存规则" in page.text
    confirm = officer.get(
        "/evidence/destroy", params={"item": item.id, "reason": "到期", "lang": "zh-Hans"}
    )
    assert "永久销毁 1 个证据项目吗" in confirm.text
