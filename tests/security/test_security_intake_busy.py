"""A large partner batch, or any long writer, holding the database lock (issue 8, item 6).

Another connection holds the write lock (SQLite) or a table lock (PostgreSQL) while the app's
connections wait only briefly (a short busy or lock timeout, as under load): public reports,
staff logins and the partner API must answer 503 with Retry-After, never 500.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select, text

from factories import PASSWORD, create_user, csrf_token
from opschub.accounts import service as accounts
from opschub.accounts.permissions import Role
from opschub.db import Database
from opschub.intake import service
from opschub.intake.models import Report


@pytest.fixture
def short_waits(database: Database) -> Iterator[None]:
    """The app's connections give up on a lock after 50 ms (not 10 s)."""

    def _short(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if database.engine.dialect.name == "sqlite":
            cursor.execute("PRAGMA busy_timeout=50")
        else:
            cursor.execute("SET lock_timeout = '50ms'")
        cursor.close()
        if database.engine.dialect.name == "postgresql":
            dbapi_connection.commit()

    event.listen(database.engine, "connect", _short)
    database.engine.dispose()
    yield
    event.remove(database.engine, "connect", _short)
    database.engine.dispose()


@pytest.fixture
def locked(database: Database, short_waits: None) -> Iterator[None]:
    """Another connection holds the lock that writers need, until the test ends."""
    if database.engine.dialect.name == "sqlite":
        path = database.engine.url.database
        assert path is not None
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.rollback()
            holder.close()
    else:
        with database.engine.connect() as holder:
            holder.execute(text("SET lock_timeout = 0"))
            tables = "intake_reports, audit_events, users, user_sessions, api_tokens"
            holder.execute(text(f"LOCK TABLE {tables} IN EXCLUSIVE MODE"))
            yield
            holder.rollback()


@pytest.fixture
def partner(database: Database) -> dict[str, str]:
    with database.transaction() as session:
        _, raw = accounts.create_token(
            session,
            name="busy partner",
            permissions=("reports.submit",),
            expires_in_days=30,
            actor=None,
            partner=True,
        )
    return {"Authorization": f"Bearer {raw}"}


def test_public_report_while_the_database_is_locked_is_a_friendly_503(
    client: TestClient, database: Database, request: pytest.FixtureRequest
) -> None:
    page = client.get("/report?lang=zh-Hans")
    form = {"csrf_token": csrf_token(page.text), "urls": "https://example.org/x"}
    request.getfixturevalue("locked")
    response = client.post("/report?lang=zh-Hans", data=form)
    assert response.status_code == 503, response.text[:500]
    assert int(response.headers["retry-after"]) >= 1
    assert "text/html" in response.headers["content-type"]
    assert "请稍后再试" in response.text  # translated, in plain words
    english = client.post("/report", data=form)
    assert english.status_code == 503 and "Nothing was stored" in english.text


def test_staff_login_while_the_database_is_locked_is_a_503_not_a_500(
    client: TestClient, database: Database, request: pytest.FixtureRequest
) -> None:
    user, _ = create_user(database, Role.ANALYST)
    page = client.get("/login")
    request.getfixturevalue("locked")
    response = client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": csrf_token(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 503, response.text[:500]
    assert "retry-after" in response.headers


def test_partner_batch_while_the_database_is_locked_is_a_json_503(
    client: TestClient, database: Database, partner: dict[str, str], request: pytest.FixtureRequest
) -> None:
    request.getfixturevalue("locked")
    response = client.post(
        "/api/v1/reports",
        json={"reports": [{"incident_types": ["csam"], "urls": ["https://example.org/x"]}]},
        headers=partner,
    )
    assert response.status_code == 503, response.text[:500]
    assert "retry-after" in response.headers
    assert "busy" in response.json()["detail"]


def test_partner_batch_over_the_per_request_caps_is_refused_before_any_write(
    client: TestClient, database: Database, partner: dict[str, str]
) -> None:
    per_report = service.MAX_URLS
    count = service.MAX_REQUEST_URLS // per_report + 1
    body = {
        "reports": [
            {
                "incident_types": ["csam"],
                "urls": [f"https://example.org/{i}/{j}" for j in range(per_report)],
            }
            for i in range(count)
        ]
    }
    response = client.post("/api/v1/reports", json=body, headers=partner)
    assert response.status_code == 400, response.text[:500]
    assert response.json()["errors"][0]["field"] == "/reports"
    assert "URLs in one request" in response.json()["errors"][0]["message"]
    with database.read() as session:
        assert session.scalar(select(Report.id)) is None


def test_partner_batch_is_validated_and_matched_before_the_write_lock(
    client: TestClient, database: Database, partner: dict[str, str], request: pytest.FixtureRequest
) -> None:
    # An invalid batch is answered at once, even while another writer holds the lock.
    assert client.get("/api/v1/reports/" + "0" * 32, headers=partner).status_code == 404
    request.getfixturevalue("locked")
    response = client.post(
        "/api/v1/reports",
        json={
            "reports": [
                {"incident_types": ["csam"], "urls": ["https://example.org/x"]},
                {
                    "incident_types": ["csam"],
                    "urls": ["https://example.org/y"],
                    "incident_time": "9999-12-31T23:59:59-14:00",
                },
            ]
        },
        headers=partner,
    )
    assert response.status_code == 400, response.text[:500]
