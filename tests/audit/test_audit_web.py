"""The auditor's page and the JSON API: filters, paging, the chain check, permissions."""

from __future__ import annotations

from datetime import UTC, datetime

from audit_helpers import fill, row_id, tampering
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from factories import logged_in_client
from opschub import clock
from opschub.accounts.permissions import Role
from opschub.audit import service
from opschub.audit.service import EventFilter
from opschub.db import Database


def test_auditor_sees_and_filters_events(app: FastAPI, database: Database) -> None:
    fill(database, 9)
    auditor = logged_in_client(app, database, Role.AUDITOR)
    page = auditor.get("/audit")
    assert page.status_code == 200
    assert "Audit log" in page.text and 'id="seq-1"' in page.text
    assert "report.assess" in page.text and "permission.refused" in page.text

    page = auditor.get("/audit", params={"action": "report.*", "outcome": "ok"})
    assert page.status_code == 200
    # Rows 2, 5, 8 are report.assess; the logins (1, 4, 7) are filtered out.
    assert 'id="seq-2"' in page.text and 'id="seq-1"' not in page.text
    assert "3 matching events" in page.text

    page = auditor.get("/audit", params={"actor": "partner feed", "target_id": "r1"})
    assert "1 matching event" in page.text and 'id="seq-2"' in page.text


def test_bad_filter_names_the_field(app: FastAPI, database: Database) -> None:
    auditor = logged_in_client(app, database, Role.AUDITOR)
    page = auditor.get("/audit", params={"since": "31/12/2025", "outcome": "maybe"})
    assert page.status_code == 400
    assert 'id="e-since"' in page.text and "YYYY-MM-DD" in page.text
    assert 'id="e-outcome"' in page.text and "Unknown outcome." in page.text


def test_pages_of_fifty_newest_first(app: FastAPI, database: Database) -> None:
    with clock.frozen(datetime(2025, 6, 1, tzinfo=UTC)):
        fill(database, 60, per_transaction=30)
    auditor = logged_in_client(app, database, Role.AUDITOR)
    first = auditor.get("/audit", params={"until": "2025-06-01"})
    assert "60 matching events" in first.text
    assert 'id="seq-60"' in first.text and 'id="seq-11"' in first.text
    assert 'id="seq-10"' not in first.text
    assert "before=11" in first.text and "until=2025-06-01" in first.text
    second = auditor.get("/audit", params={"until": "2025-06-01", "before": "11"})
    assert 'id="seq-10"' in second.text and 'id="seq-1"' in second.text
    assert 'id="seq-11"' not in second.text and "Older events" not in second.text


def test_page_in_chinese(app: FastAPI, database: Database) -> None:
    fill(database, 3)
    auditor = logged_in_client(app, database, Role.AUDITOR)
    page = auditor.get("/audit", params={"lang": "zh-Hans"})
    assert "审计日志" in page.text and "验证哈希链" in page.text and "被拒绝" in page.text
    verify = auditor.get("/audit/verify", params={"lang": "zh-Hans"})
    assert "哈希链完好" in verify.text


def test_verify_page_names_the_edited_row(app: FastAPI, database: Database) -> None:
    fill(database, 5)
    auditor = logged_in_client(app, database, Role.AUDITOR)
    intact = auditor.get("/audit/verify")
    assert intact.status_code == 200 and "The chain is intact" in intact.text
    assert 'id="anchor"' in intact.text
    with tampering(database) as conn:
        conn.execute(text("UPDATE audit_events SET target_id = 'other' WHERE seq = 2"))
    broken = auditor.get("/audit/verify")
    assert "The chain is broken: 1 problem" in broken.text
    assert row_id(database, 2) in broken.text and "it was edited" in broken.text
    bad = auditor.get("/audit/verify", params={"anchor": "nonsense"})
    assert bad.status_code == 400 and "SEQ:HASH" in bad.text


def test_others_may_not_read_the_log(app: FastAPI, database: Database) -> None:
    analyst = logged_in_client(app, database, Role.ANALYST)
    for path in ("/audit", "/audit/verify", "/api/v1/audit/events", "/api/v1/audit/verify"):
        assert analyst.get(path).status_code == 403, path
    with database.sessions() as session:
        refusals = service.list_events(session, EventFilter(action="permission.refused"))
        assert len(refusals) == 4 and refusals[0].actor_id == analyst.user.id  # type: ignore[attr-defined]
    anonymous = TestClient(app, base_url="http://testserver")
    assert anonymous.get("/audit", follow_redirects=False).status_code == 303
    assert anonymous.get("/api/v1/audit/events").status_code == 401


def test_api_lists_events_with_filters(app: FastAPI, database: Database) -> None:
    with clock.frozen(datetime(2026, 1, 5, 8, 30, tzinfo=UTC)):
        fill(database, 7)
    auditor = logged_in_client(app, database, Role.AUDITOR)
    body = auditor.get(
        "/api/v1/audit/events", params={"action": "user.login", "until": "2026-01-05"}
    ).json()
    assert body["matching"] == 3 and body["next_before"] is None
    assert [e["seq"] for e in body["events"]] == [7, 4, 1]
    first = body["events"][-1]
    assert first["actor_label"] == "alice" and first["outcome"] == "ok"
    assert first["occurred_at"].startswith("2026-01-05T08:30:00")
    assert first["prev_hash"] == "0" * 64 and len(first["row_hash"]) == 64
    assert "ip" not in first and "user_agent" not in first

    paged = auditor.get(
        "/api/v1/audit/events", params={"limit": 2, "since": "2026-01-05", "until": "2026-01-05"}
    ).json()
    assert [e["seq"] for e in paged["events"]] == [7, 6] and paged["next_before"] == 6
    rest = auditor.get(
        "/api/v1/audit/events", params={"before": 6, "until": "2026-01-05", "limit": 10}
    ).json()
    assert [e["seq"] for e in rest["events"]] == [5, 4, 3, 2, 1]


def test_api_bad_filters_name_the_field(app: FastAPI, database: Database) -> None:
    auditor = logged_in_client(app, database, Role.AUDITOR)
    response = auditor.get("/api/v1/audit/events", params={"since": "soon"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "/since"
    response = auditor.get("/api/v1/audit/events", params={"outcome": "maybe"})
    assert response.status_code == 400 and "outcome" in response.text
    response = auditor.get("/api/v1/audit/verify", params={"anchor": "7"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "/anchor"


def test_api_verify_reports_problems(app: FastAPI, database: Database) -> None:
    fill(database, 4)
    auditor = logged_in_client(app, database, Role.AUDITOR)
    report = auditor.get("/api/v1/audit/verify").json()
    assert report["intact"] is True and report["problems"] == []
    anchor = report["head"]["anchor"]
    with tampering(database) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = 2"))
    report = auditor.get("/api/v1/audit/verify", params={"anchor": anchor}).json()
    assert report["intact"] is False
    assert [(p["seq"], p["kind"]) for p in report["problems"]] == [(3, "missing")]
    assert report["problems"][0]["id"] == row_id(database, 3)
