"""Every operation of the JSON API, fuzzed against a running server on each engine: no 500.

Schemathesis generates requests from the API's own OpenAPI document and sends them over HTTP to
uvicorn (run as ``opschub serve`` runs it) on a free loopback port, once with a partner's API
token and once with a staff member's session; the goal is that no input gives a server error.
The number of examples per operation keeps the run to well under two minutes on two cores.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from platform_helpers import record_events

from factories import create_user
from loopback import running_server
from opschub.accounts import service as accounts
from opschub.accounts.permissions import Role
from opschub.config import Settings
from opschub.db import Database
from opschub.web.auth import SESSION_COOKIE

EXAMPLES = 20
EXPECTED_OPERATIONS = {
    "GET /healthz",
    "GET /api/v1/me",
    "GET /api/v1/audit/events",
    "GET /api/v1/audit/verify",
    "POST /api/v1/reports",
    "GET /api/v1/reports/{report_id}",
    # takedown: lists for online services, notices and their acknowledgement
    "GET /api/v1/lists",
    "GET /api/v1/lists/{name}",
    "GET /api/v1/lists/{name}/signature",
    "GET /api/v1/takedown/targets/{target_id}/notices",
    "POST /api/v1/notices/{notice_id}/ack",
    # cases and what follows them
    "GET /api/v1/cases",
    "POST /api/v1/cases",
    "GET /api/v1/cases/{case_id}",
    "PATCH /api/v1/cases/{case_id}",
    "GET /api/v1/cases/{case_id}/export.json",
    "POST /api/v1/cases/{case_id}/links",
    "POST /api/v1/cases/{case_id}/people",
    "PATCH /api/v1/cases/{case_id}/people/{person_id}",
    "GET /api/v1/cases/{case_id}/people/{person_id}/relationships",
    "POST /api/v1/cases/{case_id}/people/{person_id}/relationships",
    "PATCH /api/v1/cases/{case_id}/people/{person_id}/relationships/{relationship_id}",
    "DELETE /api/v1/cases/{case_id}/people/{person_id}/relationships/{relationship_id}",
    "POST /api/v1/cases/people/{person_id}/real-name",
    "GET /api/v1/cases/{case_id}/informed",
    "GET /api/v1/case-follow-up/alarms",
    "GET /api/v1/case-follow-up/reminders",
    "POST /api/v1/cases/{case_id}/informed",
    "POST /api/v1/cases/{case_id}/offences",
    "GET /api/v1/cases/{case_id}/proceedings",
    "POST /api/v1/cases/{case_id}/proceedings",
    "POST /api/v1/cases/{case_id}/proceedings/check",
    "GET /api/v1/cases/{case_id}/referrals",
    "POST /api/v1/cases/{case_id}/referrals",
    "POST /api/v1/cases/{case_id}/referrals/{referral_id}/follow-ups",
    "GET /api/v1/referral-services",
    "POST /api/v1/referral-services",
    # statistics: regional figures (the counterpart of `opschub stats import`)
    "GET /api/v1/stats/submissions",
    "POST /api/v1/stats/submissions",
}


@pytest.fixture
def server(settings: Settings, database: Database) -> Iterator[str]:
    record_events(database, 5)
    with running_server(settings, database) as base:
        yield base


def _credentials(database: Database) -> dict[str, dict[str, dict[str, str]]]:
    with database.transaction() as session:
        _token, raw = accounts.create_token(
            session,
            name="fuzz partner",
            permissions=("reports.submit",),
            expires_in_days=1,
            actor=None,
            partner=True,
        )
    with database.transaction() as session:
        # a court or police system writing to cases: the new routes are fuzzed past the check
        _token, cases_raw = accounts.create_token(
            session,
            name="fuzz court system",
            permissions=("cases.read", "cases.manage"),
            expires_in_days=1,
            actor=None,
            role=Role.CASE_WORKER,
        )
        _token, lists_raw = accounts.create_token(
            session,
            name="fuzz list recipient",
            permissions=("lists.read",),
            expires_in_days=1,
            actor=None,
            partner=True,
        )
    auditor, _password = create_user(database, Role.AUDITOR)
    with database.transaction() as session:
        cookie, _row = accounts.start_session(session, auditor, totp_verified=True)
    return {
        "partner token": {"headers": {"Authorization": f"Bearer {raw}"}},
        "case system token": {"headers": {"Authorization": f"Bearer {cases_raw}"}},
        "list recipient token": {"headers": {"Authorization": f"Bearer {lists_raw}"}},
        "staff session": {"cookies": {SESSION_COOKIE: cookie}},
    }


def _fuzz(operation: Any, server: str, who: str, credentials: dict[str, Any]) -> list[str]:
    """Send ``EXAMPLES`` generated requests for ``operation``; every 500, described."""
    failures: list[str] = []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any) -> None:
        response = case.call(base_url=server, timeout=30, **credentials)
        if response.status_code >= 500:
            failures.append(
                f"{who}: {case.method} {case.formatted_path} {case.query} -> "
                f"{response.status_code} {response.text[:200]}"
            )

    call()
    return failures


def test_no_api_operation_answers_500_to_any_input(server: str, database: Database) -> None:
    schema = schemathesis.openapi.from_url(f"{server}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {f"{op.method.upper()} {op.path}" for op in operations} == EXPECTED_OPERATIONS
    failures = [
        failure
        for who, credentials in _credentials(database).items()
        for operation in operations
        for failure in _fuzz(operation, server, who, credentials)
    ]
    assert failures == []
