"""Attacks through partner reports: times that break readers, NUL characters (issue 8, 2, 15)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from factories import logged_in_client
from opschub.accounts import service as accounts
from opschub.accounts.permissions import Role
from opschub.db import Database
from opschub.intake import service
from opschub.intake.models import Report


def _partner(database: Database, *permissions: str) -> dict[str, str]:
    """Bearer headers of a partner token, or of an analyst's token when ``permissions`` given."""
    with database.transaction() as session:
        _, raw = accounts.create_token(
            session,
            name="security partner",
            permissions=permissions or ("reports.submit",),
            expires_in_days=30,
            actor=None,
            partner=not permissions,
            role=Role.ANALYST.value if permissions else None,
        )
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def partner(database: Database) -> dict[str, str]:
    return _partner(database)


@pytest.fixture
def analyst(app: FastAPI, database: Database) -> Iterator[TestClient]:
    with logged_in_client(app, database, Role.ANALYST) as client:
        yield client


def _report(**extra: object) -> dict[str, object]:
    return {"incident_types": ["csam"], "urls": ["https://example.org/x"], **extra}


OUT_OF_RANGE_TIMES = [
    "9999-12-31T23:59:59-14:00",  # year 10000 in UTC: PostgreSQL stores it, Python cannot read it
    "0001-01-01T00:00:00+14:00",  # year 0 in UTC
    "1969-12-31T23:59:59Z",
    "2999-01-01T00:00:00Z",
]


@pytest.mark.parametrize("when", OUT_OF_RANGE_TIMES)
def test_incident_time_out_of_any_plausible_range_is_refused_naming_the_field(
    client: TestClient, partner: dict[str, str], database: Database, when: str
) -> None:
    response = client.post(
        "/api/v1/reports",
        json={"reports": [_report(incident_time=when), _report()]},
        headers=partner,
    )
    assert response.status_code == 400, response.text
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields == ["/reports/0/incident_time"]
    with database.read() as session:
        assert session.scalar(select(Report.id)) is None


def test_incident_time_with_offset_is_stored_in_utc(
    client: TestClient, partner: dict[str, str], database: Database
) -> None:
    response = client.post(
        "/api/v1/reports",
        json={"reports": [_report(incident_time="2026-01-01T00:30:00+14:00")]},
        headers=partner,
    )
    assert response.status_code == 202, response.text
    with database.read() as session:
        stored = session.scalar(select(Report.incident_at))
    assert stored is not None and stored.isoformat() == "2025-12-31T10:30:00+00:00"


def _plant_unreadable_time(database: Database, report_id: str) -> None:
    """What an older version let through: an incident time past year 9999 in UTC."""
    with database.engine.begin() as connection:
        if database.engine.dialect.name == "postgresql":
            value = "9999-12-31T23:59:59-14:00"
        else:
            value = "10000-01-01 13:59:59.000000"
        connection.execute(
            text("UPDATE intake_reports SET incident_at = :value WHERE id = :id"),
            {"value": value, "id": report_id},
        )


def test_one_unreadable_report_does_not_take_the_queue_down(
    app: FastAPI, analyst: TestClient, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with database.transaction() as session:
        bad, good = service.submit_reports(
            session,
            [
                service.ReportIn(channel="partner", incident_types=["csam"], urls=[u])
                for u in ("https://example.org/bad", "https://example.org/good")
            ],
        )
    _plant_unreadable_time(database, bad.id)
    page = analyst.get("/queue")
    assert page.status_code == 200, page.text
    assert f"/queue/{bad.id}" in page.text and f"/queue/{good.id}" in page.text
    assert "partly unreadable" in page.text
    assert any(bad.id in r.getMessage() for r in caplog.records)
    detail = analyst.get(f"/queue/{bad.id}")
    assert detail.status_code == 200, detail.text
    assert "partly unreadable" in detail.text
    reader = _partner(database, "reports.read")
    status = analyst.get(f"/api/v1/reports/{bad.id}", headers=reader)
    assert status.status_code == 200 and status.json()["status"] == "received"


@pytest.mark.parametrize("field", ["org_reference", "description"])
def test_nul_character_in_a_partner_text_field_is_a_400_naming_it(
    client: TestClient, partner: dict[str, str], database: Database, field: str
) -> None:
    response = client.post(
        "/api/v1/reports", json={"reports": [_report(**{field: "ticket\x004711"})]}, headers=partner
    )
    assert response.status_code == 400, response.text
    assert [e["field"] for e in response.json()["errors"]] == [f"/reports/0/{field}"]


def test_nul_character_in_a_report_id_is_a_404_not_a_500(
    client: TestClient, analyst: TestClient, database: Database
) -> None:
    reader = _partner(database, "reports.read")
    assert client.get("/api/v1/reports/abc%00def", headers=reader).status_code == 404
    assert analyst.get("/queue/abc%00def").status_code == 404
    assert analyst.post("/queue/abc%00def/status", data={"status": "closed"}).status_code == 404


def test_nul_character_in_public_report_text_is_refused_not_stored(database: Database) -> None:
    report = service.ReportIn(
        channel="public", urls=["https://example.org/x"], where_seen="a\x00b", contact="c\x00"
    )
    with pytest.raises(service.IntakeInvalid) as caught, database.transaction() as session:
        service.submit_report(session, report)
    assert {e.field for e in caught.value.errors} == {"/where_seen", "/contact"}


def test_nul_character_in_public_forms_is_a_400_not_a_500(
    client: TestClient, database: Database
) -> None:
    page = client.get("/report")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/report",
        data={"csrf_token": token, "urls": "https://example.org/x", "description": "a\x00b"},
    )
    assert response.status_code == 400
    assert "Something in the form is not right" in response.text
    status = client.post("/report/status", data={"csrf_token": token, "code": "AB\x00CD"})
    assert status.status_code == 400
    with database.read() as session:
        assert session.scalar(select(Report.id)) is None
