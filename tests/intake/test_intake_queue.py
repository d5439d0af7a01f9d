"""The analysts' queue as a working tool: identification, search, groups, claims, states, notes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from factories import csrf_token, logged_in_client
from opschub.accounts.permissions import Role
from opschub.accounts.principal import Principal
from opschub.audit.models import AuditEvent
from opschub.clock import frozen
from opschub.db import Database
from opschub.intake import receipts, service, states
from opschub.intake.models import Report, ReportNote, report_reference

SHA = "ab" * 32
OTHER_SHA = "cd" * 32


def _person(user_id: str = "u1", name: str = "ana") -> Principal:
    return Principal(
        kind="user",
        id=user_id,
        name=name,
        role=Role.ANALYST,
        permissions=frozenset({"reports.read", "reports.assess"}),
    )


def _url_report(database: Database, url: str, **fields: object) -> service.Submitted:
    with database.transaction() as session:
        return service.submit_report(
            session,
            service.ReportIn(channel="public", urls=[url], **fields),  # type: ignore[arg-type]
            with_receipts=True,
        )


def _self_report(database: Database, sha: str = SHA) -> service.Submitted:
    with database.transaction() as session:
        return service.submit_report(
            session,
            service.ReportIn(
                channel="self_report", fingerprints=[service.FingerprintIn("sha256", sha)]
            ),
            with_receipts=True,
        )


def _found(database: Database, text: str) -> set[str]:
    with database.read() as session:
        reports, _total = service.queue(session, service.QueueFilter(search=text))
    return {r.id for r in reports}


def test_reference_is_short_derived_from_the_id_and_stored() -> None:
    rid = "0123456789abcdef0123456789abcdef"
    assert re.fullmatch(r"R-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", report_reference(rid))
    assert report_reference(rid) == report_reference(rid) != report_reference("f" * 32)


def test_search_finds_a_report_by_every_identifier(database: Database) -> None:
    target = _url_report(
        database, "https://Example.org/Some/Path?q=1", partner_reference="ticket-4711"
    )
    other = _url_report(database, "https://example.net/elsewhere")
    selfie = _self_report(database)
    with database.read() as session:
        reference = session.get(Report, target.id).reference  # type: ignore[union-attr]
    assert target.receipt is not None
    for text in (
        reference,
        reference.lower().replace("-", ""),
        "https://example.org/Some/Path?q=1",
        "example.org",
        "www.example.org",
        "ticket-4711",
        target.receipt,
        target.receipt.replace("-", " ").lower(),
    ):
        assert _found(database, text) == {target.id}, text
    assert _found(database, SHA) == {selfie.id}
    assert _found(database, "example.net") == {other.id}
    assert _found(database, "nothing-like-this") == set()


def test_level_filter_and_orders(database: Database) -> None:
    low = _url_report(database, "https://example.org/a")
    live = _url_report(database, "https://example.org/b", incident_types=["live_streaming"])
    high = _self_report(database)
    assert states.level_of(high.priority) == "high"
    assert states.level_of(live.priority) == "normal" and states.level_of(low.priority) == "low"
    with database.read() as session:
        only_high, total = service.queue(session, service.QueueFilter(level="high"))
        newest, _ = service.queue(session, service.QueueFilter(sort="newest"))
        oldest, _ = service.queue(session, service.QueueFilter(sort="oldest"))
    assert total == 1 and only_high[0].id == high.id
    assert [r.id for r in oldest] == [r.id for r in reversed(newest)]


def test_seven_self_reports_of_one_image_are_one_group_row(
    app: FastAPI, database: Database
) -> None:
    ids = [_self_report(database).id for _ in range(7)]
    single = _self_report(database, OTHER_SHA)
    analyst = logged_in_client(app, database, Role.ANALYST)
    page = analyst.get("/queue", params={"lang": "en"}).text
    rows = re.findall(r'<tr data-href="[^"]*" data-id="([0-9a-f]{32})"', page)
    assert len(rows) == 2 and single.id in rows
    assert "7 reports of the same address or image" in page
    for rid in ids:  # every member is listed (and selectable) inside the group
        assert f'value="{rid}"' in page


def test_claim_marks_and_skips_reports_someone_else_holds(app: FastAPI, database: Database) -> None:
    first = _url_report(database, "https://example.org/1")
    second = _url_report(database, "https://example.org/2")
    ana = logged_in_client(app, database, Role.ANALYST, username="ana")
    ben = logged_in_client(app, database, Role.ANALYST, username="ben")
    done = ana.post(
        "/queue/bulk", data={"action": "claim", "ids": [first.id], "back": "/queue?lang=en"}
    )
    assert done.status_code == 200 and "Claimed: 1." in done.text
    response = ben.post(
        "/queue/bulk",
        data={"action": "claim", "ids": [first.id, second.id], "back": "/queue?lang=en"},
    )
    assert "Claimed: 1." in response.text and "claimed by someone else" in response.text
    with database.read() as session:
        holders = {r.id: r.assigned_to_id for r in session.scalars(select(Report)).all()}
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.action == "intake.report.claimed")
        ).all()
    assert holders == {first.id: ana.user.id, second.id: ben.user.id}  # type: ignore[attr-defined]
    assert len(actions) == 2
    page = ben.get("/queue", params={"lang": "en"}).text
    assert 'class="claimed-other"' in page and "badge claimed-me" in page


def test_closing_needs_a_reason_and_reopening_is_recorded(database: Database) -> None:
    report = _url_report(database, "https://example.org/c")
    person = _person()
    with database.transaction() as session:
        with pytest.raises(service.QueueActionError) as refused:
            service.change_status(session, report.id, "closed", person)  # not from "received"
        assert refused.value.code == "not_allowed"
        service.change_status(session, report.id, "not_illegal", person)
        with pytest.raises(service.QueueActionError) as missing:
            service.change_status(session, report.id, "closed", person, reason="  ")
        assert missing.value.code == "reason_required"
        service.change_status(session, report.id, "closed", person, reason="benign page")
        with pytest.raises(service.QueueActionError):
            service.change_status(session, report.id, "assessing", person)
        service.change_status(session, report.id, "assessing", person, reason="new evidence")
    with database.read() as session:
        history = service.status_history(session, report.id)
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.target_id == report.id)
        ).all()
    assert [(h.from_status, h.to_status, h.reason) for h in history] == [
        ("received", "not_illegal", None),
        ("not_illegal", "closed", "benign page"),
        ("closed", "assessing", "new evidence"),
    ]
    assert "intake.report.reopened" in actions


def test_notes_are_encrypted_at_rest_and_audited_without_their_text(database: Database) -> None:
    report = _url_report(database, "https://example.org/n")
    with database.transaction() as session:
        service.add_note(session, report.id, "spoke to the platform's trust team", _person())
    with database.engine.connect() as conn:
        raw = conn.exec_driver_sql("SELECT body FROM intake_report_notes").scalar_one()
    assert b"trust team" not in bytes(raw)
    with database.read() as session:
        assert [n.body for n in service.notes(session, report.id)] == [
            "spoke to the platform's trust team"
        ]
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "intake.report.note_added")
        ).one()
        assert session.scalar(select(ReportNote.report_id)) == report.id
    assert "trust" not in str(event.details)


def test_save_and_next_opens_the_next_waiting_report(app: FastAPI, database: Database) -> None:
    urgent = _self_report(database)
    normal = _url_report(database, "https://example.org/n", incident_types=["live_streaming"])
    analyst = logged_in_client(app, database, Role.ANALYST)
    response = analyst.post(
        f"/queue/{urgent.id}/status",
        data={"status": "action_taken", "next": "1"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/queue/{normal.id}")
    last = analyst.post(
        f"/queue/{normal.id}/status",
        data={"status": "duplicate", "next": "1"},
        follow_redirects=False,
    )
    assert last.headers["location"].startswith("/queue?")  # nothing else waits


def test_a_match_label_pointing_at_a_report_is_a_link(app: FastAPI, database: Database) -> None:
    first = _self_report(database)
    second = _self_report(database)
    analyst = logged_in_client(app, database, Role.ANALYST)
    page = analyst.get(f"/queue/{second.id}", params={"lang": "en"}).text
    assert f'href="/queue/{first.id}?lang=en">report {report_reference(first.id)}</a>' in page


def test_public_status_page_shows_a_coarse_state(client: TestClient, database: Database) -> None:
    report = _url_report(database, "https://example.org/p")
    with database.transaction() as session:
        service.change_status(session, report.id, "out_of_jurisdiction", _person())
    form = client.get("/report/status", params={"lang": "en"}).text
    page = client.post(
        "/report/status?lang=en", data={"code": report.receipt, "csrf_token": csrf_token(form)}
    )
    assert page.status_code == 200, page.text[-800:]
    assert 'data-status="checked"' in page.text and "jurisdiction" not in page.text


def test_poll_tells_of_new_urgent_and_high_reports_only(app: FastAPI, database: Database) -> None:
    start = datetime.now(UTC) - timedelta(minutes=1)
    _url_report(database, "https://example.org/quiet")
    loud = _self_report(database)
    analyst = logged_in_client(app, database, Role.ANALYST)
    data = analyst.get("/queue/poll", params={"since": start.isoformat(), "lang": "en"}).json()
    assert data["open"] == 2
    assert [(n["reference"], n["level_label"]) for n in data["new"]] == [
        (report_reference(loud.id), "high")
    ]


def test_waiting_time_reads_as_words(app: FastAPI, database: Database) -> None:
    with frozen(datetime(2026, 1, 1, tzinfo=UTC)):
        _url_report(database, "https://example.org/old")
    analyst = logged_in_client(app, database, Role.ANALYST)
    with frozen(datetime(2026, 1, 3, 1, tzinfo=UTC)):
        en = analyst.get("/queue", params={"lang": "en"}).text
        zh = analyst.get("/queue", params={"lang": "zh-Hans"}).text
    assert ">2 days</time>" in en and ">2天</time>" in zh
    assert "example.org/old" in en


@pytest.mark.parametrize(
    ("role", "start"),
    [
        (Role.ANALYST, "/queue"),
        (Role.POLICE_LIAISON, "/queue"),
        (Role.ADMIN, "/admin/users"),
        (Role.AUDITOR, "/audit"),
        (Role.STATISTICIAN, "/staff"),
    ],
)
def test_staff_land_on_their_roles_start_page_not_the_public_home(
    app: FastAPI, database: Database, role: Role, start: str
) -> None:
    client = logged_in_client(app, database, role)
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == start
    page = client.get(start, params={"lang": "en"}).text
    assert 'class="staff-header"' in page
    assert "Report something" not in page  # the public navigation stays on public pages
    assert receipts.LENGTH  # (keeps the import honest for the search test above)


def test_a_broad_queue_is_counted_only_up_to_the_cap(
    app: FastAPI, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "COUNT_CAP", 2)
    for n in range(4):
        _url_report(database, f"https://example.org/many/{n}")
    with database.read() as session:
        reports, total = service.queue(session, limit=50)
    assert len(reports) == 4 and total == 3  # "more than 2"
    analyst = logged_in_client(app, database, Role.ANALYST)
    assert "More than 2 reports" in analyst.get("/queue", params={"lang": "en"}).text
