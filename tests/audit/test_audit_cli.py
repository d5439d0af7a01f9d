"""``opschub audit verify`` and ``opschub audit list``."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import typer
from audit_helpers import fill, row_id, tampering
from sqlalchemy import text
from typer.testing import CliRunner

from opschub import clock
from opschub.audit.cli import register
from opschub.db import Database

# The audit commands mounted as ``opschub`` mounts them (independent of other capabilities).
app = typer.Typer()
register(app)
runner = CliRunner()


def test_verify_intact_log_exits_zero_with_summary(database: Database) -> None:
    fill(database, 12)
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "audit log intact: 12 events, seq 1 to 12" in result.stdout
    anchor = result.stdout.split("anchor (keep it to detect a cut-off tail later): ")[1].strip()
    again = runner.invoke(app, ["audit", "verify", "--anchor", anchor])
    assert again.exit_code == 0, again.output


def test_verify_empty_log_is_a_failure(database: Database) -> None:
    # A running installation always has events (its first account at least): empty = emptied.
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1 and "the audit log is empty" in result.stdout


def test_verify_edited_row_exits_non_zero_naming_it(database: Database) -> None:
    fill(database, 12)
    with tampering(database) as conn:
        conn.execute(text("UPDATE audit_events SET action = 'user.logout' WHERE seq = 7"))
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"seq 7 (id {row_id(database, 7)}):") and "edited" in lines[0]
    assert "NOT intact: 1 problem(s) in 12 events" in result.stderr


def test_verify_with_anchor_finds_cut_tail(database: Database) -> None:
    fill(database, 5)
    first = runner.invoke(app, ["audit", "verify"])
    anchor = first.stdout.rsplit(" ", 1)[1].strip()
    with tampering(database) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = 5"))
    result = runner.invoke(app, ["audit", "verify", "--anchor", anchor])
    assert result.exit_code == 1
    assert result.stdout.startswith("seq 5: the anchored row is missing")


def test_verify_bad_anchor_is_a_usage_error(database: Database) -> None:
    result = runner.invoke(app, ["audit", "verify", "--anchor", "12"])
    assert result.exit_code == 2
    assert "--anchor" in result.output and "SEQ:HASH" in result.output


def test_list_filters_and_json(database: Database) -> None:
    with clock.frozen(datetime(2026, 1, 5, tzinfo=UTC)):
        fill(database, 6)
    with clock.frozen(datetime(2026, 3, 5, tzinfo=UTC)):
        fill(database, 3)
    result = runner.invoke(app, ["audit", "list", "--limit", "3"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["9", "8", "7"]
    assert "2026-03-05T00:00:00Z" in lines[0]

    result = runner.invoke(app, ["audit", "list", "--action", "user.login", "--json"])
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert {row["action"] for row in rows} == {"user.login"} and len(rows) == 3
    assert rows[0]["seq"] > rows[-1]["seq"]

    result = runner.invoke(app, ["audit", "list", "--actor", "alice", "--since", "2026-02-01"])
    assert [line.split()[0] for line in result.stdout.splitlines()] == ["7"]

    result = runner.invoke(app, ["audit", "list", "--until", "2026-01-05", "--json"])
    assert len(result.stdout.splitlines()) == 6


def test_list_bad_date_is_a_usage_error(database: Database) -> None:
    result = runner.invoke(app, ["audit", "list", "--since", "last week"])
    assert result.exit_code == 2
    assert "--since 'last week' is not a date" in result.output


def test_list_nothing_matches(database: Database) -> None:
    result = runner.invoke(app, ["audit", "list", "--action", "nothing.here"])
    assert result.exit_code == 0 and "no matching events" in result.stderr
