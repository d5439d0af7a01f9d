"""Relationships on the person edit page and through the API: listed by alias and role with
the kind's label in the reader's language (never a real name), changed, removed and added with
the same permission as editing a person; a refused relationship names the field in the reader's
language; the protected track stays hidden from a caller without ``cases.protected``."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from factories import logged_in_client
from opschub.accounts import service as accounts
from opschub.accounts.permissions import Role
from opschub.cases.models import CaseRelationship
from opschub.db import Database
from opschub.orgunits import demo as orgunits_demo


def _case(client: TestClient, database: Database) -> dict[str, str]:
    with database.transaction() as session:
        orgunits_demo.load(session)
    opened = client.post(
        "/api/v1/cases", json={"title": "Grooming in a game chat", "org_unit": "XA-01-01"}
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    ids = {"case": case_id}
    for key, body in (
        ("victim", {"role": "victim", "estimated_age": 12}),
        ("adult", {"role": "suspect", "estimated_age": 40, "real_name": "Example Two"}),
        ("guardian", {"role": "guardian", "estimated_age": 38}),
        ("child", {"role": "suspect", "estimated_age": 15}),
    ):
        added = client.post(f"/api/v1/cases/{case_id}/people", json=body)
        assert added.status_code == 201, added.text
        ids[key] = added.json()["id"]
    return ids


def _relationships_url(ids: dict[str, str], person: str) -> str:
    return f"/api/v1/cases/{ids['case']}/people/{ids[person]}/relationships"


def test_the_edit_page_lists_changes_removes_and_adds_relationships(
    app: FastAPI, database: Database
) -> None:
    worker = logged_in_client(app, database, Role.CASE_WORKER)
    ids = _case(worker, database)
    added = worker.post(
        _relationships_url(ids, "victim"),
        json={"other_person_id": ids["adult"], "relationship": "online_contact"},
    )
    assert added.status_code == 201, added.text
    rid = added.json()["id"]
    edit = f"/cases/{ids['case']}/people/{ids['victim']}/edit"
    page = worker.get(edit, params={"lang": "zh-Hans"})
    assert page.status_code == 200
    listed = page.text.split('id="relationship-list"', 1)[1].split("</ul>", 1)[0]
    assert "S1" in listed and "嫌疑人" in listed and "在网上结识的人" in listed
    assert "Example Two" not in page.text and "online_contact</" not in listed
    assert 'accesskey="r"' in page.text
    # change the kind
    changed = worker.post(
        f"/cases/{ids['case']}/people/{ids['victim']}/relationships/{rid}/edit",
        data={"relationship": "family"},
        follow_redirects=False,
    )
    assert changed.status_code == 303 and "#relationships" in changed.headers["location"]
    location = changed.headers["location"].split("#")[0]
    assert "done=changed" in location
    after = worker.get(location + "&lang=zh-Hans")
    assert 'id="rel-done"' in after.text and "家庭成员" in after.text
    # a second relationship for the same pair is refused, named in Chinese
    again = worker.post(
        f"/cases/{ids['case']}/people/{ids['victim']}/relationships",
        data={"other_person_id": ids["adult"], "relationship": "stranger", "lang": "zh-Hans"},
        params={"lang": "zh-Hans"},
    )
    assert again.status_code == 400
    summary = again.text.split('id="rel-errors"', 1)[1].split("</div>", 1)[0]
    assert "另一人" in summary and "V1" in summary and "S1" in summary
    assert re.search(r'id="rel-other"[^>]*aria-invalid="true"', again.text)
    # oneself, in English
    itself = worker.post(
        f"/cases/{ids['case']}/people/{ids['victim']}/relationships",
        data={"other_person_id": ids["victim"], "relationship": "family"},
        params={"lang": "en"},
    )
    assert itself.status_code == 400
    assert "A person cannot have a relationship with themselves." in itself.text
    # remove, then add the guardian from the page
    removed = worker.post(
        f"/cases/{ids['case']}/people/{ids['victim']}/relationships/{rid}/delete",
        follow_redirects=False,
    )
    assert removed.status_code == 303
    made = worker.post(
        f"/cases/{ids['case']}/people/{ids['victim']}/relationships",
        data={"other_person_id": ids["guardian"], "relationship": "family"},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    with database.read() as session:
        rows = session.execute(
            select(
                CaseRelationship.person_id,
                CaseRelationship.other_person_id,
                CaseRelationship.relationship,
            )
        ).all()
    assert [tuple(r) for r in rows] == [(ids["guardian"], ids["victim"], "family")]


def test_the_api_routes_need_the_permission_to_edit_a_person(
    app: FastAPI, database: Database
) -> None:
    worker = logged_in_client(app, database, Role.CASE_WORKER)
    ids = _case(worker, database)
    url = _relationships_url(ids, "adult")
    created = worker.post(url, json={"other_person_id": ids["victim"], "relationship": "stranger"})
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    listed = worker.get(url)
    assert listed.json()["relationships"] == [
        {
            "id": rid,
            "other_person_id": ids["victim"],
            "other_alias": "V1",
            "other_role": "victim",
            "relationship": "stranger",
            "outgoing": True,
        }
    ]
    patched = worker.patch(f"{url}/{rid}", json={"relationship": "acquaintance"})
    assert patched.status_code == 200 and patched.json()["relationship"] == "acquaintance"
    bad = worker.patch(f"{url}/{rid}", json={"relationship": "boss"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "relationship"
    twice = worker.post(url, json={"other_person_id": ids["victim"], "relationship": "family"})
    assert twice.status_code == 422
    assert twice.json()["errors"][0]["field"] == "other_person_id"
    # a reader (police liaison: cases.read, no cases.manage) is refused every route
    reader = logged_in_client(app, database, Role.POLICE_LIAISON)
    assert reader.get(url).status_code == 403
    assert (
        reader.post(
            url, json={"other_person_id": ids["guardian"], "relationship": "family"}
        ).status_code
        == 403
    )
    assert reader.patch(f"{url}/{rid}", json={"relationship": "family"}).status_code == 403
    assert reader.delete(f"{url}/{rid}").status_code == 403
    deleted = worker.delete(f"{url}/{rid}")
    assert deleted.status_code == 200
    assert worker.get(url).json()["relationships"] == []
    assert worker.delete(f"{url}/{rid}").status_code == 404


def test_a_token_without_the_protected_track_sees_no_child_suspect_relationship(
    app: FastAPI, database: Database
) -> None:
    worker = logged_in_client(app, database, Role.CASE_WORKER)
    ids = _case(worker, database)
    created = worker.post(
        _relationships_url(ids, "child"),
        json={"other_person_id": ids["victim"], "relationship": "acquaintance"},
    )
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    with database.transaction() as session:
        _token, raw = accounts.create_token(
            session,
            name="court system",
            permissions=["cases.read", "cases.manage"],
            expires_in_days=1,
            actor=None,
            role=Role.CASE_WORKER,
        )
    court = TestClient(app, headers={"authorization": f"Bearer {raw}"})
    victim_url = _relationships_url(ids, "victim")
    shown = court.get(victim_url)
    assert shown.status_code == 200 and shown.json()["relationships"] == []
    assert ids["child"] not in shown.text
    assert court.get(_relationships_url(ids, "child")).status_code == 404
    assert court.delete(f"{victim_url}/{rid}").status_code == 404
    assert court.patch(f"{victim_url}/{rid}", json={"relationship": "family"}).status_code == 404
    refused = court.post(
        victim_url, json={"other_person_id": ids["child"], "relationship": "family"}
    )
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {"field": "other_person_id", "message": "No such person in this case."}
    ]
    # the worker, who may see the protected track, still sees it unchanged
    assert worker.get(victim_url).json()["relationships"][0]["relationship"] == "acquaintance"
