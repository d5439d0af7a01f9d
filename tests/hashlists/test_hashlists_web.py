"""Hash lists in the web UI (issue 9 item 4): import all or nothing with every bad line named,
source, sharing terms, version, size and history shown, export, removal confirmed on its own page,
and who may do what by the permission table."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from factories import logged_in_client
from opschub.accounts.permissions import Role
from opschub.audit import service as audit
from opschub.audit.service import EventFilter
from opschub.db import Database
from opschub.hashlists import service
from opschub.matching.store import HashListStore

PDQ = "f" * 63 + "0"
SHA = "a" * 64
MD5 = "b" * 32
GOOD = f"hash_type,hash,label\npdq,{PDQ},one\nsha256,{SHA},two\nmd5,{MD5},three\n"
BAD = f"hash_type,hash,label\npdq,{PDQ},one\npdq,not-a-hash,two\nmd5,{MD5},three\nsha1,12,four\n"


def _import(
    client: TestClient, name: str, content: str, filename: str = "list.csv", **fields: str
) -> object:
    return client.post(
        "/hashlists/import",
        data={"name": name, **fields},
        files={"file": (filename, content.encode(), "text/csv")},
        follow_redirects=False,
    )


def _store() -> HashListStore:
    return service.store()


def test_import_shows_source_terms_version_size_and_history(
    app: FastAPI, database: Database
) -> None:
    senior = logged_in_client(app, database, Role.SENIOR_ANALYST)
    response = _import(
        senior,
        "partner-x",
        GOOD,
        version="2026-11",
        source="Hotline X",
        sharing="hotlines only",
    )
    assert response.status_code == 303, response.text  # type: ignore[attr-defined]
    page = senior.get(response.headers["location"]).text  # type: ignore[attr-defined]
    assert "Imported: 3 new entries." in page
    for shown in ("Hotline X", "hotlines only", "2026-11", "list.csv", "csv"):
        assert shown in page
    listing = senior.get("/hashlists").text
    assert re.search(
        r"partner-x</a>.*?Hotline X.*?hotlines only.*?2026-11.*?<td[^>]*>3</td>", listing, re.S
    )
    with database.sessions() as session:
        (event,) = audit.list_events(session, EventFilter(action="hashlists.list.imported"))
    assert event.actor_id == senior.user.id  # type: ignore[attr-defined]
    assert event.target_id == "partner-x" and event.details["added"] == 3


def test_a_bad_line_imports_nothing_and_every_bad_line_is_named(
    app: FastAPI, database: Database
) -> None:
    admin = logged_in_client(app, database, Role.ADMIN)
    assert _import(admin, "partner-x", GOOD).status_code == 303  # type: ignore[attr-defined]
    response = _import(admin, "partner-x", BAD, filename="update.csv")
    assert response.status_code == 400  # type: ignore[attr-defined]
    text = response.text  # type: ignore[attr-defined]
    assert "Nothing was imported: 2 lines cannot be read." in text
    assert "Line 3:" in text and "Line 5:" in text and "Line 2:" not in text
    assert _store().info("partner-x").total == 3  # unchanged: all or nothing
    assert len(_store().info("partner-x").imports) == 1
    zh = admin.post(
        "/hashlists/import",
        params={"lang": "zh-Hans"},
        data={"name": "partner-y"},
        files={"file": ("bad.csv", BAD.encode(), "text/csv")},
    )
    assert "第 3 行：" in zh.text and "没有导入任何内容：有 2 行无法读取。" in zh.text
    assert not _store().exists("partner-y")


def test_import_names_a_bad_field(app: FastAPI, database: Database) -> None:
    admin = logged_in_client(app, database, Role.ADMIN)
    response = _import(admin, "no spaces/please", GOOD)
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert 'id="e-name"' in response.text  # type: ignore[attr-defined]
    missing = admin.post("/hashlists/import", data={"name": "x"}, follow_redirects=False)
    assert missing.status_code == 400 and 'id="e-file"' in missing.text


def test_export_gives_back_what_was_imported(app: FastAPI, database: Database) -> None:
    senior = logged_in_client(app, database, Role.SENIOR_ANALYST)
    _import(senior, "partner-x", GOOD)
    analyst = logged_in_client(app, database, Role.ANALYST)
    response = analyst.get("/hashlists/partner-x/export", params={"format": "csv"})
    assert response.status_code == 200
    assert 'filename="partner-x.csv"' in response.headers["content-disposition"]
    for value in (PDQ, SHA, MD5):
        assert value in response.text
    vics = analyst.get("/hashlists/partner-x/export", params={"format": "vics"})
    assert vics.status_code == 200 and MD5 in vics.text.lower() and PDQ not in vics.text
    with database.sessions() as session:
        events = audit.list_events(session, EventFilter(action="hashlists.list.exported"))
    assert {e.actor_id for e in events} == {analyst.user.id}  # type: ignore[attr-defined]


def test_readers_see_and_export_but_do_not_change(app: FastAPI, database: Database) -> None:
    senior = logged_in_client(app, database, Role.SENIOR_ANALYST)
    _import(senior, "partner-x", GOOD)
    analyst = logged_in_client(app, database, Role.ANALYST)
    listing = analyst.get("/hashlists").text
    assert "partner-x" in listing and "/hashlists/import" not in listing
    page = analyst.get("/hashlists/partner-x").text
    assert "/remove" not in page and "Download" in page
    assert _import(analyst, "partner-x", GOOD).status_code == 403  # type: ignore[attr-defined]
    assert analyst.get("/hashlists/partner-x/remove").status_code == 403
    assert (
        analyst.post("/hashlists/partner-x/remove", data={"confirm_name": "partner-x"}).status_code
        == 403
    )
    auditor = logged_in_client(app, database, Role.AUDITOR)
    assert auditor.get("/hashlists").status_code == 403
    assert _store().exists("partner-x")


def test_removal_is_confirmed_on_its_own_page_by_typing_the_name(
    app: FastAPI, database: Database
) -> None:
    admin = logged_in_client(app, database, Role.ADMIN)
    _import(admin, "partner-x", GOOD)
    confirm = admin.get("/hashlists/partner-x/remove")
    assert confirm.status_code == 200
    assert "3 entries will be deleted" in confirm.text and 'name="confirm_name"' in confirm.text
    wrong = admin.post(
        "/hashlists/partner-x/remove", data={"confirm_name": "partner"}, follow_redirects=False
    )
    assert wrong.status_code == 400 and "nothing was removed" in wrong.text
    assert _store().exists("partner-x")
    done = admin.post(
        "/hashlists/partner-x/remove", data={"confirm_name": "partner-x"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert "was removed" in admin.get(done.headers["location"]).text
    assert not _store().exists("partner-x")
    with database.sessions() as session:
        (event,) = audit.list_events(session, EventFilter(action="hashlists.list.removed"))
    assert event.details == {"entries": 3, "version": None}


def test_the_system_list_cannot_be_removed_or_overwritten(app: FastAPI, database: Database) -> None:
    from opschub.intake.service import ensure_self_reported_list

    ensure_self_reported_list(_store())
    admin = logged_in_client(app, database, Role.ADMIN)
    listing = admin.get("/hashlists", params={"lang": "zh-Hans"}).text
    assert "本人举报的图片" in listing and "由系统维护" in listing
    page = admin.get("/hashlists/self-reported").text
    assert "/hashlists/self-reported/remove" not in page
    assert admin.get("/hashlists/self-reported/remove").status_code == 409
    refused = admin.post("/hashlists/self-reported/remove", data={"confirm_name": "self-reported"})
    assert refused.status_code == 400 and _store().exists("self-reported")
    assert _import(admin, "self-reported", GOOD).status_code == 400  # type: ignore[attr-defined]


def test_an_unknown_list_is_a_404(app: FastAPI, database: Database) -> None:
    analyst = logged_in_client(app, database, Role.ANALYST)
    assert analyst.get("/hashlists/nope").status_code == 404
    assert analyst.get("/hashlists/nope/export").status_code == 404
