"""The partner directory: `opschub takedown partners load|add|list` (all or nothing, every bad
field named with file and line), the administrator's page, and the facts figures read."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from notice_helpers import confirmed_target
from sqlalchemy import func, select
from typer.testing import CliRunner

from opschub.accounts.permissions import Role
from opschub.db import Database
from opschub.takedown import notifying
from opschub.takedown.notice_models import Partner

GOOD = """
[[partner]]
name = "Example Hotline NL"
country = "nl"
language = "en"
channel = "email"
address = "reports@hotline-nl.example"

[[partner]]
name = "Example Hotline JP"
country = "JP"
language = "zh-Hans"
channel = "webhook"
address = "https://hotline-jp.example/notices"
secret = "a-shared-secret-of-the-partner"
"""

BAD = """
[[partner]]
name = "Fine"
country = "NL"
channel = "email"
address = "ok@fine.example"

[[partner]]
name = "Broken"
country = "Netherlands"
channel = "webhook"
address = "ftp://x.example"
"""


def _count(database: Database) -> int:
    with database.read() as session:
        return int(session.scalar(select(func.count()).select_from(Partner)) or 0)


def test_load_adds_partners_and_list_shows_them_without_secrets(
    database: Database, cli_app: typer.Typer, tmp_path: Path
) -> None:
    file = tmp_path / "partners.toml"
    file.write_text(GOOD)
    runner = CliRunner()
    loaded = runner.invoke(cli_app, ["takedown", "partners", "load", str(file)])
    assert loaded.exit_code == 0, loaded.output
    assert "loaded 2 partner(s)" in loaded.output
    listed = runner.invoke(cli_app, ["takedown", "partners", "list", "--format", "json"])
    rows = json.loads(listed.output)
    assert [(r["country"], r["channel"], r["has_secret"]) for r in rows] == [
        ("JP", "webhook", True),
        ("NL", "email", False),
    ]
    assert "a-shared-secret" not in listed.output
    # Loading the same file again replaces, it does not duplicate.
    assert runner.invoke(cli_app, ["takedown", "partners", "load", str(file)]).exit_code == 0
    assert _count(database) == 2


def test_a_bad_file_names_file_line_and_field_and_saves_nothing(
    database: Database, cli_app: typer.Typer, tmp_path: Path
) -> None:
    file = tmp_path / "bad.toml"
    file.write_text(BAD)
    result = CliRunner().invoke(cli_app, ["takedown", "partners", "load", str(file)])
    assert result.exit_code == 1
    assert f"{file}:8: partner[2].country: 'Netherlands' is not a two-letter country code" in (
        result.output
    )
    assert f"{file}:8: partner[2].address" in result.output
    assert f"{file}:8: partner[2].secret" in result.output
    assert _count(database) == 0
    missing = CliRunner().invoke(cli_app, ["takedown", "partners", "load", str(tmp_path / "no")])
    assert missing.exit_code == 2 and "no such file" in missing.output


def test_the_admin_page_adds_a_partner_and_names_bad_fields(database: Database, app) -> None:  # type: ignore[no-untyped-def]
    from factories import logged_in_client

    admin = logged_in_client(app, database, Role.ADMIN)
    bad = admin.post(
        "/admin/partners",
        data={"name": "H", "country": "N1", "channel": "webhook", "address": "https://h.example"},
    )
    assert bad.status_code == 400
    assert "two-letter country code" in bad.text and "shared secret" in bad.text
    good = admin.post(
        "/admin/partners",
        data={"name": "H", "country": "nl", "channel": "email", "address": "r@h.example"},
        follow_redirects=False,
    )
    assert good.status_code == 303
    page = admin.get("/admin/partners")
    assert "r@h.example" in page.text
    analyst = logged_in_client(app, database, Role.ANALYST)
    assert analyst.get("/admin/partners").status_code == 403


def test_notice_facts_give_one_row_per_notice_with_country_and_provider(
    database: Database,
) -> None:
    target_id = confirmed_target(database, "https://files.example/f.png", country="FR")
    with database.transaction() as session:
        notifying.create_notices(session, target_id)
    with database.read() as session:
        rows = session.execute(notifying.notice_facts()).mappings().all()
    assert [dict(r) for r in rows] == [
        {
            "target_id": target_id,
            "recipient_kind": "host",
            "state": "queued",
            "sent_at": None,
            "country": "FR",
            "provider": "EXAMPLE-HOSTING",
        }
    ]
