"""`make demo` on a data directory that already has data, and the demo's people, time spread and
hash lists (issue 9 item 9)."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select
from typer.testing import CliRunner

from factories import login
from opschub.accounts import service as accounts
from opschub.clock import as_utc, utcnow
from opschub.db import Database
from opschub.intake import demo
from opschub.intake.models import Report
from opschub.matching.store import HashListStore

runner = CliRunner()


def _load(*args: str) -> tuple[int, str]:
    from opschub.cli import app

    result = runner.invoke(app, ["demo", "load", *args])
    return result.exit_code, result.output


def test_demo_load_twice_says_it_is_there_and_exits_0(database: Database) -> None:
    code, first = _load("--format", "json")
    assert code == 0, first
    loaded = json.loads(first)
    assert loaded["loaded"] is True and loaded["reports"] == 24
    # the demo cases and the regional statistics come with it (what they contain is tested in
    # tests/cases and tests/stats)
    assert loaded["cases"] > 0 and loaded["regional_submissions"] > 0
    code, again = _load()
    assert code == 0
    assert "already loaded" in again and "nothing added" in again
    with database.transaction() as session:
        assert demo.loaded_reports(session) == 24  # nothing was added twice


def test_demo_is_added_beside_real_reports_with_force(database: Database) -> None:
    from opschub.intake import service

    with database.transaction() as session:
        service.submit_report(
            session, service.ReportIn(channel="public", urls=["https://example.org/real"])
        )
    code, output = _load("--force")
    assert code == 0, output
    with database.transaction() as session:
        assert len(session.scalars(select(Report)).all()) == 25


def test_demo_people_log_in_with_the_printed_one_time_passwords(
    database: Database, app: object
) -> None:
    from fastapi.testclient import TestClient

    code, output = _load("--format", "json")
    assert code == 0
    people = {p["username"]: p for p in json.loads(output)["people"]}
    assert {p["role"] for p in people.values()} == {"analyst", "senior_analyst"}
    client = TestClient(app, base_url="http://testserver")  # type: ignore[arg-type]
    person = people["demo-analyst"]
    # The password is accepted; analysts read reporters' data, so two-factor set-up comes first.
    assert login(client, "demo-analyst", person["one_time_password"]) == "/account/totp"


def test_demo_reports_are_spread_over_the_last_30_days(database: Database) -> None:
    assert _load()[0] == 0
    with database.transaction() as session:
        received = [as_utc(r.created_at) for r in session.scalars(select(Report))]
    now = utcnow()
    assert all(now - timedelta(days=30, minutes=5) <= t <= now for t in received)
    assert max(received) - min(received) > timedelta(days=14)
    assert len({t.date() for t in received}) >= 10


def test_demo_lists_have_versions_and_import_history(
    database: Database, store: HashListStore
) -> None:
    assert _load()[0] == 0
    infos = {name: store.info(name) for name in demo.DEMO_LISTS}
    assert infos["demo-exchange"].version == "2026.11"
    assert infos["demo-exchange"].imports and infos["demo-platform"].imports
    assert all(info.total > 0 for info in infos.values())


def test_demo_remove_disables_the_people_and_load_enables_them_again(
    database: Database, store: HashListStore
) -> None:
    assert _load()[0] == 0
    with database.transaction() as session:
        demo.remove(session, store)
    with database.transaction() as session:
        user = accounts.find_user(session, "demo-analyst")
        assert user is not None and user.disabled
    assert not any(store.exists(name) for name in demo.DEMO_LISTS)
    code, output = _load("--format", "json")
    assert code == 0
    assert len(json.loads(output)["people"]) == 2
    with database.transaction() as session:
        user = accounts.find_user(session, "demo-analyst")
        assert user is not None and not user.disabled and user.must_change_password
