"""The case dashboard and the API list stage alarms and informing reminders a page at a time,
with how many there are in all, in both languages, and only from the cases the person may see."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fastapi import FastAPI

from factories import logged_in_client, principal_of
from opschub.accounts.permissions import Role
from opschub.cases import proceedings, service
from opschub.clock import frozen
from opschub.db import Database
from opschub.orgunits import demo as orgunits_demo

OPENED = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
CASES = 53


@pytest.fixture
def board(app: FastAPI, database: Database):  # type: ignore[no-untyped-def]
    with database.transaction() as session:
        orgunits_demo.load(session)
    client = logged_in_client(app, database, Role.CASE_WORKER)
    user = client.user  # type: ignore[attr-defined]
    actor = principal_of(user)
    case_ids = []
    with frozen(OPENED), database.transaction() as session:
        for _ in range(CASES):
            case = service.open_case(
                session,
                actor,
                service.CaseIn(
                    title="Case", org_unit="XA-01-01", forms=[("grooming", "committed")]
                ),
            )
            suspect = service.add_person(
                session, actor, case.id, service.PersonIn(role="suspect", offender_category="adult")
            )
            case_ids.append(case.id)
        for step in ("investigation_opened", "charged"):
            proceedings.record_step(
                session,
                actor,
                case_id=case.id,
                suspect_id=suspect.id,
                kind=step,
                on=date(2024, 3, 1),
            )
    # A case the worker may not see (another worker's, no scope) is in no list.
    other = logged_in_client(app, database, Role.CASE_WORKER)
    other_actor = principal_of(other.user)  # type: ignore[attr-defined]
    with frozen(OPENED), database.transaction() as session:
        hidden = service.open_case(
            session,
            other_actor,
            service.CaseIn(title="Other", org_unit="XA-01-01", forms=[("grooming", "committed")]),
        )
        service.add_person(
            session,
            other_actor,
            hidden.id,
            service.PersonIn(role="suspect", offender_category="adult"),
        )
    return client, case_ids, hidden.id


@pytest.mark.parametrize(
    ("lang", "count", "next_page"),
    [
        ("en", "Showing 1 to 50 of 53.", "Next 50"),
        ("zh-Hans", "第 1 至 50 条，共 53 条。", "后 50 条"),
    ],
)
def test_the_dashboard_shows_the_first_50_alarms_with_the_count_and_a_next_link(
    board, lang: str, count: str, next_page: str
) -> None:  # type: ignore[no-untyped-def]
    client, case_ids, hidden = board
    first = client.get("/cases/dashboard", params={"lang": lang})
    assert first.status_code == 200
    assert count in first.text and next_page in first.text
    assert hidden not in first.text
    second = client.get("/cases/dashboard", params={"lang": lang, "alarms_from": "50"})
    assert second.status_code == 200
    listed = [c for c in case_ids if c in first.text or c in second.text]
    assert listed == case_ids
    nonsense = client.get("/cases/dashboard", params={"alarms_from": "many"})
    assert nonsense.status_code == 200 and "Showing 1 to 50 of 53." in nonsense.text


def test_the_api_pages_alarms_and_reminders_of_the_visible_cases(board) -> None:  # type: ignore[no-untyped-def]
    client, case_ids, hidden = board
    page = client.get("/api/v1/case-follow-up/alarms", params={"limit": 20, "offset": 40})
    assert page.status_code == 200
    body = page.json()
    assert body["total"] == CASES and body["more_than_counted"] is False
    assert len(body["items"]) == CASES - 40
    assert hidden not in {item["case_id"] for item in body["items"]}
    everything = client.get("/api/v1/case-follow-up/alarms", params={"limit": 500}).json()
    assert {item["case_id"] for item in everything["items"]} == set(case_ids)
    reminders = client.get("/api/v1/case-follow-up/reminders").json()
    assert reminders["total"] == 1
    assert [(r["case_id"], r["kind"]) for r in reminders["items"]] == [(case_ids[-1], "charged")]
    refused = client.get("/api/v1/case-follow-up/alarms", params={"limit": 0})
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "/limit"


def test_limitation_deadlines_and_overdue_referrals_come_a_page_at_a_time_too(
    app: FastAPI, database: Database
) -> None:
    from opschub.cases import demo_large, followup_port, referrals
    from opschub.cases.models import case_reference
    from opschub.clock import utcnow

    demo_large.load_large(database, cases=400)
    client = logged_in_client(app, database, Role.CASE_WORKER)
    with database.transaction() as session:
        service.set_scope(
            session,
            service.Importer(name="test admin"),
            client.user.id,
            scope="all",  # type: ignore[attr-defined]
        )
    today = utcnow().date()
    with database.read() as session:
        # what the worker may see (scope all: every case but those restricted to others)
        visible = followup_port.visible_case_ids(session, principal_of(client.user))  # type: ignore[attr-defined]
        every_warning = proceedings.limitation_warnings(
            session, today=today, warn_days=365 * 60, limit=10_000
        )
        every_overdue = referrals.overdue(session, today=today, case_ids=visible, limit=10_000)
        assert len(every_warning) > 60 and len(every_overdue) > 60
        # a page after an offset is the same slice of the whole list, and the count is its length
        assert (
            proceedings.limitation_warnings(
                session, today=today, warn_days=365 * 60, limit=7, offset=50
            )
            == every_warning[50:57]
        )
        assert (
            referrals.overdue(session, today=today, case_ids=visible, limit=7, offset=50)
            == every_overdue[50:57]
        )
        assert proceedings.count_limitation_warnings(
            session, today=today, warn_days=365 * 60
        ) == len(every_warning)
        assert referrals.count_overdue(session, today=today, case_ids=visible) == len(every_overdue)
        assert referrals.count_overdue(session, today=today, cap=10) == 11

    page = client.get("/cases/dashboard", params={"overdue_from": "50"})
    assert page.status_code == 200
    html = page.text
    total = len(every_overdue)
    shown_to = min(100, total)
    assert f"Showing 51 to {shown_to} of {total}." in html
    # the first of that page, named by its reference, not its id
    assert case_reference(every_overdue[50].case_id) in html
    assert f">{every_overdue[50].case_id}<" not in html
    assert 'href="/cases/dashboard?overdue_from=0#overdue"' in html
    zh = client.get("/cases/dashboard", params={"lang": "zh-Hans"})
    assert zh.status_code == 200 and f"第 1 至 50 条，共 {total} 条" in zh.text
