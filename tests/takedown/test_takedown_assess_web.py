"""The analysts' pages: start from the report page in one action, material blurred and greyscale
by default, revealed only deliberately (counted), the break reminder, keyboard shortcuts in a
static file, four eyes through the forms, the national categories page, and zh-Hans pages with no
raw codes."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from fastapi import FastAPI
from PIL import Image
from sqlalchemy import select
from takedown_assess_helpers import ensure_notify_task, report_with, run_captures, site

from factories import logged_in_client
from loopback import Site, send
from opschub.accounts.permissions import Role
from opschub.db import Database
from opschub.takedown import service
from opschub.takedown.models import Item
from pictures import photo

__all__ = ["site"]

MATERIAL = re.compile(r'<img id="material" class="(\w+)" src="data:image/jpeg;base64,([^"]+)"')


@pytest.fixture(autouse=True)
def _notify_task() -> None:
    ensure_notify_task()


def _zh_findings():  # type: ignore[no-untyped-def]
    """The zh-Hans page checker of tests/web/test_zh_pages.py (one checker for every page)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "web" / "test_zh_pages.py"
    spec = importlib.util.spec_from_file_location("takedown_zh_checker", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.findings


def _image(html: str) -> tuple[str, Image.Image]:
    found = MATERIAL.search(html)
    assert found, "no material on the page"
    return found.group(1), Image.open(io.BytesIO(base64.b64decode(found.group(2))))


def _captured_item(database: Database, site: Site, client: object, seed: int = 31) -> str:
    site.routes["/page"] = send(b'<html><img src="/pic.png"></html>', "text/html")
    site.routes["/pic.png"] = send(photo(seed, 300), "image/png")
    report_id = report_with(database, site.url("/page"))
    page = client.get(f"/queue/{report_id}")  # type: ignore[attr-defined]
    assert 'id="start-takedown"' in page.text
    started = client.post(  # type: ignore[attr-defined]
        f"/takedown/reports/{report_id}/start", follow_redirects=False
    )
    assert started.status_code == 303
    run_captures(database)
    with database.read() as session:
        return session.scalars(select(Item.id)).one()


def test_start_from_the_report_page_then_blurred_greyscale_by_default(
    app: FastAPI, database: Database, site: Site
) -> None:
    client = logged_in_client(app, database, Role.ANALYST)
    item_id = _captured_item(database, site, client)
    queue = client.get("/takedown")
    assert item_id in queue.text
    page = client.get(f"/takedown/items/{item_id}")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    css_class, image = _image(page.text)
    assert css_class == "blurred"
    assert image.mode == "L" and max(image.size) <= 480  # greyscale, small, from the server
    assert "autoplay" not in page.text
    assert '<script src="/static/takedown/assess.js" defer></script>' in page.text
    assert "<script>" not in page.text  # no inline script (CSP)
    assert "<kbd>r</kbd>" in page.text and "<kbd>i</kbd>" in page.text
    assert "Items you revealed today: 0" in page.text
    script = client.get("/static/takedown/assess.js")
    assert script.status_code == 200 and "window.confirm" in script.text
    css = client.get("/static/takedown/takedown.css").text
    assert "blur(" in css and "grayscale(1)" in css


def test_reveal_needs_a_deliberate_confirmation_and_counts_exposure(
    app: FastAPI, database: Database, site: Site
) -> None:
    client = logged_in_client(app, database, Role.ANALYST)
    item_id = _captured_item(database, site, client)
    refused = client.post(f"/takedown/items/{item_id}/reveal", data={})
    assert refused.status_code == 400
    assert _image(refused.text)[0] == "blurred"
    shown = client.post(f"/takedown/items/{item_id}/reveal", data={"confirm": "yes"})
    assert shown.status_code == 200
    css_class, image = _image(shown.text)
    assert css_class == "revealed" and image.mode == "RGB"
    assert np.asarray(image).std() > 20  # not blurred to a haze
    assert "Items you revealed today: 1" in shown.text
    assert "Items you revealed today: 1" in client.get("/takedown").text


def test_break_reminder_after_the_configured_number(
    app: FastAPI, database: Database, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opschub import config

    monkeypatch.setenv("OPSCHUB_TAKEDOWN_BREAK_AFTER", "1")
    config.get_settings.cache_clear()
    client = logged_in_client(app, database, Role.ANALYST)
    item_id = _captured_item(database, site, client)
    assert 'id="break-reminder"' not in client.get("/takedown").text
    client.post(f"/takedown/items/{item_id}/reveal", data={"confirm": "yes"})
    assert 'id="break-reminder"' in client.get("/takedown").text


def test_four_eyes_through_the_forms_and_the_not_illegal_path(
    app: FastAPI, database: Database, site: Site
) -> None:
    first = logged_in_client(app, database, Role.ANALYST)
    second = logged_in_client(app, database, Role.ANALYST)
    item_id = _captured_item(database, site, first)
    decision = {
        "decision": "illegal",
        "real_child": "yes",
        "under_13": "yes",
        "abuse_or_genitals": "yes",
        "form": "csam",
    }
    done = first.post(f"/takedown/items/{item_id}/assess", data=decision, follow_redirects=False)
    assert done.status_code == 303
    again = first.post(f"/takedown/items/{item_id}/assess", data=decision)
    assert again.status_code == 400 and "different analyst" in again.text
    assert item_id not in first.get("/takedown").text
    confirmed = second.post(f"/takedown/items/{item_id}/assess", data=decision)
    assert confirmed.status_code == 200  # followed to the (now empty) queue
    with database.read() as session:
        item = service.get_item(session, item_id)
        assert item.state == "confirmed"
        target = service.get_target(session, item.target_id)
    assert target.state == "confirmed"
    page = second.get(f"/takedown/targets/{target.id}")
    assert "confirmed illegal" in page.text and 'id="close-not-illegal"' not in page.text


def test_not_illegal_closes_in_one_action(app: FastAPI, database: Database, site: Site) -> None:
    client = logged_in_client(app, database, Role.ANALYST)
    item_id = _captured_item(database, site, client)
    with database.read() as session:
        target_id = service.get_item(session, item_id).target_id
    page = client.get(f"/takedown/targets/{target_id}")
    assert 'id="close-not-illegal"' in page.text
    closed = client.post(f"/takedown/targets/{target_id}/not-illegal", follow_redirects=False)
    assert closed.status_code == 303
    with database.read() as session:
        assert service.get_target(session, target_id).state == "not_illegal"


def test_a_bad_decision_is_named_on_the_page(app: FastAPI, database: Database, site: Site) -> None:
    client = logged_in_client(app, database, Role.ANALYST)
    item_id = _captured_item(database, site, client)
    answer = client.post(f"/takedown/items/{item_id}/assess", data={"decision": "illegal"})
    assert answer.status_code == 400
    assert "international baseline" in answer.text
    with database.read() as session:
        assert service.assessments(session, item_id) == []


def test_categories_page_for_administrators(app: FastAPI, database: Database) -> None:
    admin = logged_in_client(app, database, Role.ADMIN)
    added = admin.post(
        "/admin/takedown/categories",
        data={"code": "A", "name": "Most severe", "legal_reference": "Penal Code art. 1"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    page = admin.get("/admin/takedown/categories")
    assert "Penal Code art. 1" in page.text
    bad = admin.post(
        "/admin/takedown/categories", data={"code": "A", "name": "x", "legal_reference": "y"}
    )
    assert bad.status_code == 400 and 'aria-invalid="true"' in bad.text
    analyst = logged_in_client(app, database, Role.ANALYST)
    assert analyst.get("/admin/takedown/categories").status_code == 403


def test_pages_in_chinese_show_no_codes(app: FastAPI, database: Database, site: Site) -> None:
    findings = _zh_findings()
    client = logged_in_client(app, database, Role.SENIOR_ANALYST)
    item_id = _captured_item(database, site, client)
    with database.read() as session:
        item = service.get_item(session, item_id)
        report_id = service.get_target(session, item.target_id).report_id
    paths = [
        "/takedown",
        f"/takedown/items/{item_id}",
        f"/takedown/targets/{item.target_id}",
        f"/takedown/reports/{report_id}",
    ]
    for path in paths:
        page = client.get(path, params={"lang": "zh-Hans"})
        assert page.status_code == 200, path
        assert findings(page.text) == [], path
    revealed = client.post(
        f"/takedown/items/{item_id}/reveal", params={"lang": "zh-Hans"}, data={"confirm": "yes"}
    )
    assert findings(revealed.text) == []
    admin = logged_in_client(app, database, Role.ADMIN)
    page = admin.get("/admin/takedown/categories", params={"lang": "zh-Hans"})
    assert findings(page.text) == []
