"""Backup, wipe, restore: the audit chain verifies and a report's encrypted contact is readable.

The master key never goes into the backup; it is listed to be stored elsewhere."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from opschub import config, migrate
from opschub.cli import app
from opschub.db import Database, get_database, set_database
from opschub.intake import service as intake

CONTACT = "reporter-backup@example.org"


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(params=["sqlite", "postgresql", "postgresql-logical"])
def engine(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, settings: config.Settings
) -> str:
    # The key lives in the data directory (as without OPSCHUB_SECRET_KEY) so that we see that it
    # is left out of the backup.
    monkeypatch.delenv("OPSCHUB_SECRET_KEY")
    if request.param.startswith("postgresql"):
        database: Database = request.getfixturevalue("pg_database")
        monkeypatch.setenv("OPSCHUB_DATABASE_URL", database.url)
    if request.param == "postgresql-logical":  # a machine without pg_dump
        from opschub.jobs import backup

        monkeypatch.setattr(backup.shutil, "which", lambda name: None)
    config.get_settings.cache_clear()
    set_database(None)
    return str(request.param)


def _wipe(settings: config.Settings, keep: Path) -> None:
    database = get_database()
    if database.engine.dialect.name == "postgresql":
        with database.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    database.dispose()
    set_database(None)
    shutil.move(settings.data_dir / "secret.key", keep)
    shutil.rmtree(settings.data_dir)


def test_backup_wipe_restore_keeps_the_audit_chain_and_encrypted_contacts(
    engine: str, tmp_path: Path
) -> None:
    settings = config.get_settings()
    settings.resolved_secret_key()
    migrate.upgrade(get_database().engine)
    with get_database().transaction() as session:
        report = intake.submit_report(
            session,
            intake.ReportIn(
                channel="public",
                incident_types=["csam"],
                urls=["https://example.org/backup-test"],
                contact=CONTACT,
            ),
        )
    (settings.data_dir / "helplines.json").write_text("[]")
    target = tmp_path / "backup"

    output = _cli("backup", "--to", str(target))
    manifest = json.loads((target / "manifest.json").read_text())
    key_file = str((settings.data_dir / "secret.key").resolve())
    assert manifest["keys_to_store_elsewhere"] == [key_file] and key_file in output
    assert not list(target.rglob("secret.key"))
    assert (target / "data" / "helplines.json").exists()
    expected_method = {"sqlite": "sqlite online backup", "postgresql": "pg_dump"}
    assert manifest["database"]["method"] == expected_method.get(engine, "logical copy")
    assert CONTACT.encode() not in b"".join(
        p.read_bytes() for p in target.rglob("*") if p.is_file()
    )

    _wipe(settings, tmp_path / "key-kept-elsewhere")
    refused = CliRunner().invoke(app, ["restore", "--from", str(target)])
    assert refused.exit_code == 1 and "master key" in refused.output
    settings.data_dir.mkdir(parents=True)
    shutil.move(tmp_path / "key-kept-elsewhere", settings.data_dir / "secret.key")

    _cli("restore", "--from", str(target))
    set_database(None)
    assert "intact" in _cli("audit", "verify")
    with get_database().read() as session:
        assert intake.get_report(session, report.id).contact == CONTACT
    assert (settings.data_dir / "helplines.json").read_text() == "[]"


def test_a_damaged_backup_is_refused(tmp_path: Path, settings: config.Settings) -> None:
    migrate.upgrade(get_database().engine)
    target = tmp_path / "backup"
    _cli("backup", "--to", str(target))
    with (target / "database.sqlite3").open("ab") as handle:
        handle.write(b"x")
    result = CliRunner().invoke(app, ["restore", "--from", str(target), "--force"])
    assert result.exit_code == 1 and "does not match its checksum" in result.output
    again = CliRunner().invoke(app, ["backup", "--to", str(target)])
    assert again.exit_code == 1 and "not empty" in again.output
