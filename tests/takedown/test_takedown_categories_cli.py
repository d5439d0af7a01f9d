"""``opschub takedown categories add|list``: checked values, the refused one named, nothing half
saved, JSON for scripts."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from opschub.audit.models import AuditEvent
from opschub.db import Database

runner = CliRunner()


def test_add_and_list_categories(database: Database, cli_app: typer.Typer) -> None:
    added = runner.invoke(
        cli_app,
        [
            "takedown", "categories", "add", "A",
            "--name", "Sexual abuse of a child under 13",
            "--legal-reference", "Penal Code art. 236(1)",
        ],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    listed = runner.invoke(cli_app, ["takedown", "categories", "list", "--format", "json"])
    assert listed.exit_code == 0
    assert json.loads(listed.output) == [
        {
            "code": "A",
            "name": "Sexual abuse of a child under 13",
            "legal_reference": "Penal Code art. 236(1)",
            "active": True,
        }
    ]
    with database.read() as session:
        event = session.query(AuditEvent).filter_by(action="takedown.category.added").one()
        assert event.actor_kind == "system"


def test_refused_values_are_named_and_nothing_is_saved(
    database: Database, cli_app: typer.Typer
) -> None:
    words = runner.invoke(
        cli_app,
        ["takedown", "categories", "add", "B", "--name", "Child pornography",
         "--legal-reference", "s. 2"],
    )  # fmt: skip
    assert words.exit_code == 1
    assert "--name" in words.output and "child sexual abuse material" in words.output
    code = runner.invoke(
        cli_app,
        ["takedown", "categories", "add", "bad code", "--name", "x", "--legal-reference", "y"],
    )
    assert code.exit_code == 1 and "CODE" in code.output
    bad_format = runner.invoke(cli_app, ["takedown", "categories", "list", "--format", "xml"])
    assert bad_format.exit_code == 2
    listed = runner.invoke(cli_app, ["takedown", "categories", "list", "--format", "json"])
    assert json.loads(listed.output) == []
