"""Public pages, privacy of public reports, receipts, self-reports and the analysts' queue."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from factories import csrf_token, logged_in_client
from opschub.accounts.permissions import Role
from opschub.audit.models import AuditEvent
from opschub.db import Database
from opschub.intake import service
from opschub.intake.models import Report
from opschub.intake.ratelimit import RateLimiter
from opschub.matching.store import HashListStore

AGENT = "DistinctiveAgent/9.9 (tracking-canary-7f3a)"
ADDRESS = "198.51.100.77"
INTAKE_TABLES = (
    "intake_reports",
    "intake_report_urls",
    "intake_report_fingerprints",
    "intake_report_matches",
    "intake_idempotency",
)


def receipt_of(html: str) -> str:
    found = re.search(r'id="receipt-code">([^<]+)<', html)
    assert found, "no receipt on the page"
    return found.group(1)


def submit_public(client: TestClient, **fields: object) -> str:
    page = client.get("/report")
    data = {"csrf_token": csrf_token(page.text), "urls": "https://example.org/x"}
    data.update(fields)  # type: ignore[arg-type]
    response = client.post("/report", data=data)
    assert response.status_code == 200, response.text[:500]
    return receipt_of(response.text)


@pytest.mark.parametrize("path", ["/report", "/report/me", "/report/status", "/help"])
@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_public_pages_open_without_login(client: TestClient, path: str, lang: str) -> None:
    response = client.get(path, params={"lang": lang})
    assert response.status_code == 200
    assert f'lang="{lang}"' in response.text
    assert 'href="/help' in response.text  # help is linked on every page
    assert "set-cookie" not in response.headers
    assert "<script>" not in response.text and "style=" not in response.text


def test_self_report_page_promises_before_the_file_input(client: TestClient) -> None:
    html = client.get("/report/me").text
    assert html.index('id="promise"') < html.index('id="selfreport-file"')
    file_input = re.search(r'<input type="file"[^>]*>', html)
    assert file_input and "name=" not in file_input.group(0)
    for script in ("pdq.js", "md5.js", "sha256.js", "fingerprint.js", "selfreport.js"):
        assert f'src="/static/intake/js/{script}"' in html
        assert client.get(f"/static/intake/js/{script}").status_code == 200


def test_public_report_keeps_no_trace_of_the_device(
    client: TestClient, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client.headers.update({"User-Agent": AGENT, "X-Forwarded-For": ADDRESS, "X-Real-IP": ADDRESS})
    submit_public(
        client,
        urls="https://example.org/x\nexample.net/y",
        incident_types=["grooming"],
        where_seen="a chat app",
        description="someone sent messages",
        contact="reach-me@example.net",
    )
    with database.engine.connect() as conn:
        for table in (*INTAKE_TABLES, "audit_events"):
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                for value in row:
                    raw = (
                        bytes(value)
                        if isinstance(value, bytes | memoryview)
                        else str(value).encode()
                    )
                    for secret in (AGENT, ADDRESS, "testclient", "tracking-canary"):
                        assert secret.encode() not in raw, f"{table} holds {secret}"
    assert AGENT not in caplog.text and ADDRESS not in caplog.text
    assert "tracking-canary" not in caplog.text


def test_free_text_and_contact_are_encrypted_at_rest(
    client: TestClient, database: Database
) -> None:
    submit_public(client, contact="reach-me@example.net", description="plain words here")
    with database.engine.connect() as conn:
        row = conn.execute(text("SELECT contact, description FROM intake_reports")).one()
    for value in row:
        assert b"reach-me" not in bytes(value) and b"plain words" not in bytes(value)
    with database.transaction() as session:
        report = session.scalars(select(Report)).one()
        assert report.contact == "reach-me@example.net"


def test_receipt_gives_the_coarse_status_only(client: TestClient, database: Database) -> None:
    receipt = submit_public(client)
    with database.engine.connect() as conn:
        stored = conn.execute(text("SELECT receipt_hash FROM intake_reports")).scalar_one()
    assert receipt.replace("-", "") not in stored
    page = client.get("/report/status")
    token = csrf_token(page.text)
    found = client.post("/report/status", data={"csrf_token": token, "code": receipt.lower()})
    assert found.status_code == 200 and 'data-status="received"' in found.text
    with database.transaction() as session:
        report = session.scalars(select(Report)).one()
        service.change_status(session, report.id, "action_taken", None)
    found = client.post("/report/status", data={"csrf_token": token, "code": receipt})
    assert 'data-status="action_taken"' in found.text
    assert "example.org" not in found.text  # no details
    unknown = client.post("/report/status", data={"csrf_token": token, "code": "0" * 28})
    assert unknown.status_code == 404
    assert (
        client.post("/report/status", data={"csrf_token": token, "code": "abc"}).status_code == 400
    )
    # The code travels in the body, never in a URL.
    assert "code=" not in str(found.url)


def test_bad_public_input_names_the_address_and_stores_nothing(
    client: TestClient, database: Database
) -> None:
    page = client.get("/report?lang=zh-Hans")
    response = client.post(
        "/report?lang=zh-Hans",
        data={
            "csrf_token": csrf_token(page.text),
            "urls": "https://example.org/ok\nftp://x.example",
        },
    )
    assert response.status_code == 400
    assert "ftp://x.example" in response.text and "我们无法使用这个网址" in response.text
    long = client.post(
        "/report",
        data={
            "csrf_token": csrf_token(page.text),
            "urls": "example.org",
            "description": "x" * 6000,
        },
    )
    assert long.status_code == 400
    with database.transaction() as session:
        assert session.scalars(select(Report)).all() == []


def test_public_form_needs_its_csrf_token(client: TestClient) -> None:
    assert client.post("/report", data={"urls": "https://example.org/x"}).status_code == 403


def test_flood_protection(client: TestClient) -> None:
    client.app.state.intake_public_limiter = RateLimiter(2, 0.001)  # type: ignore[attr-defined]
    submit_public(client)
    submit_public(client)
    token = csrf_token(client.get("/report").text)
    limited = client.post("/report", data={"csrf_token": token, "urls": "https://example.org/x"})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1


def test_self_report_stores_fingerprints_and_joins_the_list(
    client: TestClient, database: Database, store: HashListStore
) -> None:
    page = client.get("/report/me")
    fingerprints = {"sha256": "a" * 64, "md5": "b" * 32, "pdq": "c" * 64, "pdq_quality": "90"}
    response = client.post(
        "/report/me",
        data={
            "csrf_token": csrf_token(page.text),
            **fingerprints,
            "media_kind": "image",
            "age_band": "10-12",
        },
    )
    assert response.status_code == 200
    receipt_of(response.text)
    with database.transaction() as session:
        report = session.scalars(select(Report)).one()
        assert report.channel == "self_report" and report.stated_age_band == "10-12"
        assert {f.hash_type for f in report.fingerprints} == {"sha256", "md5", "pdq"}
        assert report.priority_reasons == ["self_report", "under_13"]
    entries = list(store.entries(service.SELF_REPORTED_LIST))
    assert {(e.hash_type, e.hash) for e in entries} == {
        ("sha256", "a" * 64),
        ("md5", "b" * 32),
        ("pdq", "c" * 64),
    }
    assert not store.info(service.SELF_REPORTED_LIST).verified
    # The same image reported again links to the first report, and is not a known match.
    again = client.post(
        "/report/me",
        data={"csrf_token": csrf_token(page.text), **fingerprints, "media_kind": "image"},
    )
    assert again.status_code == 200
    with database.transaction() as session:
        latest = session.scalars(select(Report).order_by(Report.created_at.desc())).first()
        assert latest is not None and "known_match" not in latest.priority_reasons
        assert "self_report_match" in latest.priority_reasons
        assert {m.label for m in latest.matches} == {f"report:{report.id}"}


def test_self_report_without_fingerprints_is_refused(
    client: TestClient, database: Database
) -> None:
    page = client.get("/report/me")
    response = client.post("/report/me", data={"csrf_token": csrf_token(page.text), "sha256": "zz"})
    assert response.status_code == 400
    with database.transaction() as session:
        assert session.scalars(select(Report)).all() == []


def test_queue_orders_by_priority_and_status_change_is_audited(
    app: FastAPI, client: TestClient, database: Database
) -> None:
    submit_public(client, urls="https://example.org/low")
    submit_public(client, urls="https://example.net/live", incident_types=["live_streaming"])
    with database.transaction() as session:
        reports, total = service.queue(session)
    assert total == 2 and reports[0].priority > reports[1].priority
    analyst = logged_in_client(app, database, Role.ANALYST)
    page = analyst.get("/queue")
    assert page.status_code == 200
    assert page.text.index(reports[0].id) < page.text.index(reports[1].id)
    detail = analyst.get(f"/queue/{reports[0].id}")
    assert detail.status_code == 200 and "example.net/live" in detail.text
    assert "<img" not in detail.text
    changed = analyst.post(
        f"/queue/{reports[0].id}/status", data={"status": "assessing"}, follow_redirects=False
    )
    assert changed.status_code == 303
    with database.transaction() as session:
        assert session.get(Report, reports[0].id).status == "assessing"  # type: ignore[union-attr]
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.target_id == reports[0].id)
        ).all()
    assert "intake.report.status_changed" in actions and "intake.report.viewed" in actions
    statistician = logged_in_client(app, database, Role.STATISTICIAN)
    assert statistician.get("/queue", follow_redirects=False).status_code == 403
    police = logged_in_client(app, database, Role.POLICE_LIAISON)  # reads, cannot assess
    assert (
        police.post(f"/queue/{reports[0].id}/status", data={"status": "closed"}).status_code == 403
    )


def test_every_report_is_audited_as_public(client: TestClient, database: Database) -> None:
    submit_public(client)
    with database.transaction() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "intake.report.received")
        ).one()
    assert event.actor_kind == "public" and event.actor_id is None


def test_too_many_addresses_are_refused_in_plain_words(client: TestClient) -> None:
    token = csrf_token(client.get("/report").text)
    urls = "\n".join(f"https://example.org/{i}" for i in range(21))
    response = client.post("/report", data={"csrf_token": token, "urls": urls})
    assert response.status_code == 400 and "at most 20 web addresses" in response.text
