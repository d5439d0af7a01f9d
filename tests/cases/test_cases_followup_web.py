"""The follow-up pages and API as a case worker uses them, in both languages: forms that refuse
what the rules refuse with the field named in the person's language, the as-you-type check, the
dashboard, and no raw code on the page."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fastapi import FastAPI

from factories import logged_in_client, principal_of
from opschub.accounts.permissions import Role
from opschub.cases import service
from opschub.clock import frozen
from opschub.db import Database
from opschub.orgunits import demo as orgunits_demo

OPENED = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def setup(app: FastAPI, database: Database):  # type: ignore[no-untyped-def]
    with database.transaction() as session:
        orgunits_demo.load(session)
    client = logged_in_client(app, database, Role.CASE_WORKER)
    user = client.user  # type: ignore[attr-defined]
    actor = principal_of(user)
    with frozen(OPENED), database.transaction() as session:
        case = service.open_case(
            session,
            actor,
            service.CaseIn(title="Case", org_unit="XA-01-01", forms=[("grooming", "committed")]),
        )
        service.add_person(
            session, actor, case.id, service.PersonIn(role="victim", estimated_age=12)
        )
        suspect = service.add_person(
            session, actor, case.id, service.PersonIn(role="suspect", offender_category="adult")
        )
    return client, case.id, suspect.id


@pytest.mark.parametrize(
    ("lang", "heading", "problem"),
    [
        ("en", "Follow-up of case", "needs an earlier step first"),
        ("zh-Hans", "的跟进", "须先记录前一个步骤"),
    ],
)
def test_a_conviction_before_a_prosecution_is_refused_on_the_page_in_the_persons_language(
    setup, lang: str, heading: str, problem: str
) -> None:  # type: ignore[no-untyped-def]
    client, case_id, suspect_id = setup
    page = client.get(f"/cases/{case_id}/follow-up", params={"lang": lang})
    assert page.status_code == 200 and heading in page.text
    assert "investigation_opened" not in page.text.replace('value="investigation_opened"', "")
    response = client.post(
        f"/cases/{case_id}/follow-up/proceedings",
        params={"lang": lang},
        data={"suspect_id": suspect_id, "kind": "conviction", "on": "2024-05-01"},
        follow_redirects=False,
    )
    assert response.status_code == 400
    assert problem in response.text


def test_the_check_answers_as_the_person_types(setup) -> None:  # type: ignore[no-untyped-def]
    client, case_id, suspect_id = setup
    answer = client.post(
        f"/api/v1/cases/{case_id}/proceedings/check",
        json={"suspect_id": suspect_id, "kind": "sentence", "on": "2024-05-01"},
    ).json()
    assert answer["ok"] is False and answer["errors"][0]["code"] == "requires"
    ok = client.post(
        f"/api/v1/cases/{case_id}/proceedings/check",
        json={"suspect_id": suspect_id, "kind": "investigation_opened", "on": "2024-03-02"},
    ).json()
    assert ok == {"ok": True, "errors": []}


def test_steps_and_told_entries_through_the_forms_reach_the_dashboard(setup) -> None:  # type: ignore[no-untyped-def]
    client, case_id, suspect_id = setup
    for kind, on in [("investigation_opened", "2024-03-02"), ("charged", "2024-04-01")]:
        response = client.post(
            f"/cases/{case_id}/follow-up/proceedings",
            data={"suspect_id": suspect_id, "kind": kind, "on": on},
            follow_redirects=False,
        )
        assert response.status_code == 303
    board = client.get("/cases/dashboard", params={"lang": "zh-Hans"})
    assert case_id in board.text and "已提出指控" in board.text  # the charge not yet told
    response = client.post(
        f"/cases/{case_id}/follow-up/informed",
        data={
            "told_on": date.today().isoformat(),
            "who": "child",
            "language": "zh",
            "form": "in_person",
            "what": "The man was charged.",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    board = client.get("/cases/dashboard")
    assert "Every step that must be told has been told." in board.text


def test_the_api_refuses_an_unknown_case_with_404(setup) -> None:  # type: ignore[no-untyped-def]
    client, _case_id, _suspect = setup
    assert client.get("/api/v1/cases/" + "0" * 32 + "/proceedings").status_code == 404


def test_the_services_directory_names_an_unknown_region_instead_of_failing(setup) -> None:  # type: ignore[no-untyped-def]
    # found by the API fuzzing in tests/security: an unknown region answered 500
    client, _case_id, _suspect = setup
    answer = client.get("/api/v1/referral-services", params={"region": "nowhere"})
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "/region"
    assert client.get("/api/v1/referral-services", params={"region": "XA-01-01"}).status_code == 200
