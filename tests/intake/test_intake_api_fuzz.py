"""The partner API against its own OpenAPI document (schemathesis): no input gives a 5xx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from intake_helpers import make_token

from opschub.config import Settings
from opschub.db import Database


@pytest.fixture
def partner_api(tmp_path: Path, settings: Settings) -> Any:
    from opschub.db import set_database
    from opschub.web.app import create_app

    database = Database(f"sqlite:///{tmp_path / 'fuzz.sqlite3'}")
    database.create_all()
    set_database(database)
    _, raw = make_token(database)
    app = create_app(settings, database)
    app.state.fuzz_token = raw
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    return schema.include(path_regex="^/api/v1/reports")


def test_no_server_errors(partner_api: Any) -> None:
    operations = [result.ok() for result in partner_api.get_all_operations()]
    assert {f"{op.method.upper()} {op.path}" for op in operations} == {
        "POST /api/v1/reports",
        "GET /api/v1/reports/{report_id}",
    }
    token = partner_api.app.state.fuzz_token
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=25, deadline=None, suppress_health_check=list(HealthCheck)
        )
        def call(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            assert response.status_code < 500, response.text[:500]
            assert response.status_code in (200, 202, 400, 401, 403, 404, 409, 413, 429)

        call()
