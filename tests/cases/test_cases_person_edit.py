"""Correcting a person of a case, on the page and through the API: the limitation deadline
follows a corrected birth, a stale edit is refused saying what changed, bad fields are named in
the reader's language, the real name only with cases.identify (written and read on record), and
a reader without cases.manage is refused."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from factories import logged_in_client
from opschub.accounts.permissions import Role
from opschub.audit.models import AuditEvent
from opschub.cases.models import CasePerson
from opschub.db import Database
from opschub.orgunits import demo as orgunits_demo


def _case_with_victim_and_offence(client: TestClient, database: Database) -> dict[str, str]:
    with database.transaction() as session:
        orgunits_demo.load(session)
    opened = client.post(
        "/api/v1/cases",
        json={
            "title": "Grooming in a game chat",
            "org_unit": "XA-01-01",
            "forms": [{"form": "grooming", "participation": "committed"}],
        },
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    victim = client.post(
        f"/api/v1/cases/{case_id}/people",
        json={"role": "victim", "estimated_age": 40, "sex": "female", "real_name": "Example One"},
    )
    assert victim.status_code == 201, victim.text
    victim_id = victim.json()["id"]
    offence = client.post(
        f"/api/v1/cases/{case_id}/offences",
        json={"offence_code": "grooming", "committed_on": "2024-01-10", "victim_id": victim_id},
    )
    assert offence.status_code == 201, offence.text
    # An adult victim: ten years from the offence.
    assert offence.json()["falls_on"] == "2034-01-10"
    return {"case": case_id, "victim": victim_id, "offence": offence.json()["id"]}


def _falls_on(client: TestClient, case_id: str, offence_id: str) -> str:
    shown = client.get(f"/api/v1/cases/{case_id}/proceedings")
    assert shown.status_code == 200, shown.text
    (found,) = [o for o in shown.json()["offences"] if o["id"] == offence_id]
    return str(found["falls_on"])


def _person(database: Database, person_id: str) -> CasePerson:
    with database.read() as session:
        person = session.get(CasePerson, person_id)
        assert person is not None
        session.expunge(person)
        return person


def _form(page_html: str) -> dict[str, Any]:
    """The edit form's fields as the page filled them (what a browser would send back)."""
    form = page_html.split('id="person-form"', 1)[1].split("</form>", 1)[0]
    data: dict[str, Any] = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or name.group(1) == "csrf_token":
            continue
        value = re.search(r'value="([^"]*)"', tag)
        if 'type="checkbox"' in tag:
            if " checked" in tag:
                data.setdefault(name.group(1), []).append(value.group(1) if value else "on")
            continue
        data[name.group(1)] = value.group(1) if value else ""
    for select_tag in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', select_tag[1])
        data[select_tag[0]] = chosen.group(1) if chosen else ""
    return data


def _events(database: Database, action: str) -> list[AuditEvent]:
    with database.read() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_the_page_corrects_a_birth_and_the_deadline_follows(
    app: FastAPI, database: Database
) -> None:
    worker = logged_in_client(app, database, Role.CASE_WORKER)
    ids = _case_with_victim_and_offence(worker, database)
    case_page = worker.get(f"/cases/{ids['case']}")
    edit_url = f"/cases/{ids['case']}/people/{ids['victim']}/edit"
    assert edit_url in case_page.text
    page = worker.get(edit_url, params={"lang": "zh-Hans"})
    assert page.status_code == 200 and "出生日期" in page.text
    assert "Example One" not in page.text  # the real name is read only on request
    data = _form(page.text)
    assert data["estimated_age"] == "40" and data["sex"] == "female"
    data.update(
        {"estimated_age": "", "birth_date": "2010-05-05", "vulnerabilities": ["disability"]}
    )
    saved = worker.post(edit_url, data=data, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    person = _person(database, ids["victim"])
    assert (person.birth_date.isoformat() if person.birth_date else None) == "2010-05-05"
    assert person.estimated_age is None and person.vulnerabilities == ["disability"]
    # A child: ten years from the 18th birthday.
    assert _falls_on(worker, ids["case"], ids["offence"]) == "2038-05-05"
    (event,) = _events(database, "cases.person.updated")
    assert set(event.details["fields"]) == {
        "birth_date",
        "estimated_age",
        "vulnerabilities",
    }


def test_a_stale_page_edit_is_refused_showing_what_changed(
    app: FastAPI, database: Database
) -> None:
    worker = logged_in_client(app, database, Role.CASE_WORKER)
    ids = _case_with_victim_and_offence(worker, database)
    edit_url = f"/cases/{ids['case']}/people/{ids['victim']}/edit"
    first = _form(worker.get(edit_url).text)
    second = dict(first)
    first["alias"] = "Girl A"
    assert worker.post(edit_url, data=first, follow_redirects=False).status_code == 303
    second["nationality"] = "DE"
    stale = worker.post(edit_url, data=second, params={"lang": "zh-Hans"})
    assert stale.status_code == 409 and 'id="stale"' in stale.text
    assert "化名" in stale.text and "Girl A" in stale.text
    person = _person(database, ids["victim"])
    assert person.alias == "Girl A" and person.nationality is None


def test_bad_fields_are_named_on_the_page_in_the_readers_language(
    app: FastAPI, database: Database
) -> None:
    worker = logged_in_client(app, database, Role.CASE_WORKER)
    ids = _case_with_victim_and_offence(worker, database)
    edit_url = f"/cases/{ids['case']}/people/{ids['victim']}/edit"
    data = _form(worker.get(edit_url).text)
    data.update({"birth_date": "2099-01-01", "estimated_age": "", "alias": ""})
    bad = worker.post(edit_url, data=data, params={"lang": "zh-Hans"})
    assert bad.status_code == 400
    assert 'id="err-birth_date"' in bad.text and 'id="err-alias"' in bad.text
    assert "Must not be in the future." not in bad.text  # said in Chinese
    english = worker.post(edit_url, data=data)
    assert "Must not be in the future." in english.text
    person = _person(database, ids["victim"])
    assert person.estimated_age == 40 and person.birth_date is None
    assert _events(database, "cases.person.updated") == []


def test_the_real_name_is_changed_and_read_only_on_record(app: FastAPI, database: Database) -> None:
    worker = logged_in_client(app, database, Role.CASE_WORKER)
    ids = _case_with_victim_and_offence(worker, database)
    edit_url = f"/cases/{ids['case']}/people/{ids['victim']}/edit"
    shown = worker.post(edit_url + "/name")
    assert shown.status_code == 200 and 'value="Example One"' in shown.text
    assert len(_events(database, "cases.person.name_read")) == 1
    data = _form(shown.text)
    data["real_name"] = "Example Two"
    assert worker.post(edit_url, data=data, follow_redirects=False).status_code == 303
    (event,) = _events(database, "cases.person.updated")
    assert event.details["fields"] == ["real_name"] and "Example" not in str(event.details)
    with database.read() as session:
        person = session.get(CasePerson, ids["victim"])
        assert person is not None and person.real_name == "Example Two"


def test_the_api_corrects_a_person_and_refuses_a_stale_version(
    app: FastAPI, database: Database
) -> None:
    worker = logged_in_client(app, database, Role.CASE_WORKER)
    ids = _case_with_victim_and_offence(worker, database)
    url = f"/api/v1/cases/{ids['case']}/people/{ids['victim']}"
    version = _person(database, ids["victim"]).version_id
    bad = worker.patch(
        url,
        json={"version": version, "changes": {"birth_month": "2010-13", "sex": "nope"}},
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"birth_month", "sex"}
    done = worker.patch(url, json={"version": version, "changes": {"birth_date": "2010-05-05"}})
    assert done.status_code == 200, done.text
    assert done.json()["version"] == version + 1 and done.json()["age_at_opening"] < 18
    assert _falls_on(worker, ids["case"], ids["offence"]) == "2038-05-05"
    stale = worker.patch(
        url,
        json={
            "version": version,
            "changes": {"alias": "Girl B"},
            "seen": {"birth_date": None, "estimated_age": 40},
        },
    )
    assert stale.status_code == 409
    assert stale.json()["changed"] == {"birth_date": "2010-05-05", "estimated_age": None}
    assert _person(database, ids["victim"]).alias == "V1"
    elsewhere = worker.patch(
        f"/api/v1/cases/{ids['offence']}/people/{ids['victim']}",
        json={"version": version + 1, "changes": {"alias": "Girl B"}},
    )
    assert elsewhere.status_code == 404


def test_a_reader_without_cases_manage_is_refused(app: FastAPI, database: Database) -> None:
    worker = logged_in_client(app, database, Role.CASE_WORKER)
    ids = _case_with_victim_and_offence(worker, database)
    police = logged_in_client(app, database, Role.POLICE_LIAISON)
    url = f"/api/v1/cases/{ids['case']}/people/{ids['victim']}"
    refused = police.patch(url, json={"version": 1, "changes": {"alias": "X"}})
    assert refused.status_code == 403
    edit_url = f"/cases/{ids['case']}/people/{ids['victim']}/edit"
    assert police.get(edit_url).status_code == 403
    assert police.post(edit_url, data={"version": "1", "alias": "X"}).status_code == 403
    assert _person(database, ids["victim"]).alias == "V1"
