"""The cases API and pages: the same rules as the service (scope, protected track, stale edits,
named field errors), tokens for a police or court system, the case file as JSON and PDF."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from factories import logged_in_client
from opschub.accounts import service as accounts
from opschub.accounts.permissions import Role
from opschub.db import Database
from opschub.orgunits import demo as orgunits_demo


def _units(database: Database) -> None:
    with database.transaction() as session:
        orgunits_demo.load(session)


def _token(database: Database, permissions: list[str], role: Role) -> str:
    with database.transaction() as session:
        _token_row, raw = accounts.create_token(
            session,
            name="court system",
            permissions=permissions,
            expires_in_days=30,
            actor=None,
            role=role,
        )
    return raw


def _open(client: TestClient, **extra: Any) -> dict[str, Any]:
    body = {
        "title": "Live-streamed abuse ordered from abroad",
        "org_unit": "XA-02-01",
        "setting": "online",
        "forms": [{"form": "live_streaming", "participation": "committed"}],
        **extra,
    }
    response = client.post("/api/v1/cases", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_api_opens_a_case_and_names_every_bad_field(app: FastAPI, database: Database) -> None:
    _units(database)
    worker = logged_in_client(app, database, Role.CASE_WORKER)
    bad = worker.post(
        "/api/v1/cases",
        json={"title": "", "org_unit": "ZZ", "forms": [{"form": "nope"}]},
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"title", "org_unit", "forms/0/form"}
    case = _open(worker)
    child = worker.post(
        f"/api/v1/cases/{case['id']}/people",
        json={"role": "suspect", "estimated_age": 15, "sex": "male"},
    )
    assert child.status_code == 201
    victim = worker.post(
        f"/api/v1/cases/{case['id']}/people",
        json={"role": "victim", "birth_month": "2014-13", "real_name": "Example Child"},
    )
    assert victim.status_code == 422
    assert victim.json()["errors"][0]["field"] == "birth_month"
    shown = worker.get(f"/api/v1/cases/{case['id']}").json()
    assert [p["alias"] for p in shown["people"]] == ["S1"]  # case workers see the protected track
    listed = worker.get("/api/v1/cases", params={"org_unit": "XA-02"}).json()
    assert [c["id"] for c in listed["cases"]] == [case["id"]]
    assert worker.get("/api/v1/cases", params={"org_unit": "XA-01"}).json()["cases"] == []


def test_a_police_token_never_sees_child_suspects_or_exports_them(
    app: FastAPI, database: Database
) -> None:
    _units(database)
    worker = logged_in_client(app, database, Role.CASE_WORKER)
    case = _open(worker)
    worker.post(f"/api/v1/cases/{case['id']}/people", json={"role": "victim", "estimated_age": 12})
    worker.post(f"/api/v1/cases/{case['id']}/people", json={"role": "suspect", "estimated_age": 16})
    worker.post(f"/api/v1/cases/{case['id']}/people", json={"role": "suspect", "estimated_age": 44})
    police = TestClient(app)
    police.headers["Authorization"] = "Bearer " + _token(
        database, ["cases.read"], Role.POLICE_LIAISON
    )
    seen = police.get(f"/api/v1/cases/{case['id']}")
    assert seen.status_code == 200
    body = seen.json()
    assert sorted(p["alias"] for p in body["people"]) == ["S2", "V1"]
    assert body["hidden_people"] == 1
    exported = worker.get(f"/api/v1/cases/{case['id']}/export.json").json()
    # Not even the case worker's export holds the child suspect.
    assert sorted(p["alias"] for p in exported["case"]["people"]) == ["S2", "V1"]
    assert exported["format"] == "opschub-case-file/1"
    refused = police.post("/api/v1/cases", json={"title": "x", "org_unit": "XA"})
    assert refused.status_code == 403


def test_a_stale_edit_is_refused_with_409_and_what_changed(
    app: FastAPI, database: Database
) -> None:
    _units(database)
    worker = logged_in_client(app, database, Role.CASE_WORKER)
    case = _open(worker)
    first = worker.patch(
        f"/api/v1/cases/{case['id']}", json={"version": 1, "changes": {"priority": "high"}}
    )
    assert first.status_code == 200 and first.json()["version"] == 2
    stale = worker.patch(
        f"/api/v1/cases/{case['id']}",
        json={"version": 1, "changes": {"status": "closed"}, "seen": {"priority": "normal"}},
    )
    assert stale.status_code == 409
    assert stale.json()["changed"] == {"priority": "high"}
    assert worker.get(f"/api/v1/cases/{case['id']}").json()["status"] == "open"


def test_case_pages_and_the_pdf_case_file(app: FastAPI, database: Database) -> None:
    _units(database)
    worker = logged_in_client(app, database, Role.CASE_WORKER)
    page = worker.post(
        "/cases/new",
        data={"title": "Grooming in a game", "org_unit": "XA-03-02", "forms": "grooming"},
        follow_redirects=False,
    )
    assert page.status_code == 303
    case_url = page.headers["location"]
    bad = worker.post(case_url + "/people", data={"role": "victim", "birth_date": "2099-01-01"})
    assert bad.status_code == 400 and "Must not be in the future." in bad.text
    added = worker.post(
        case_url + "/people",
        data={
            "role": "victim",
            "birth_month": "2013-05",
            "real_name": "Example Name",
            "sex": "female",
        },
        follow_redirects=False,
    )
    assert added.status_code == 303
    shown = worker.get(case_url, params={"lang": "zh-Hans"})
    assert shown.status_code == 200 and "Example Name" not in shown.text
    assert "V1" in shown.text and "女" in shown.text
    listed = worker.get("/cases")
    assert "Grooming in a game" in listed.text
    stale = worker.post(
        case_url + "/edit",
        data={"version": "0", "status": "closed", "priority": "normal", "seen_status": "open"},
    )
    assert stale.status_code == 409 and 'id="stale"' in stale.text
    pdf = worker.get(case_url + "/export.pdf", params={"lang": "zh-Hans"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    from io import BytesIO

    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(BytesIO(pdf.content)).pages)
    assert "V1" in text and "Example Name" not in text
