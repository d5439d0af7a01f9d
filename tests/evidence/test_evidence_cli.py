"""``opschub evidence``: the command shapes the checks use, exit codes, crashes at each step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import typer
from evidence_helpers import photo, tampering
from sqlalchemy import text
from typer.testing import CliRunner

from opschub import config
from opschub.db import Database
from opschub.evidence import integrity, service
from opschub.evidence.cli import register
from opschub.evidence.storage import blob_name
from opschub.evidence.vault import vault_from_settings

app = typer.Typer()
register(app)
runner = CliRunner()
HERE = Path(__file__).resolve().parent


def _add(*paths: Path, extra: tuple[str, ...] = ()) -> list[dict[str, object]]:
    result = runner.invoke(
        app,
        ["evidence", "add", *map(str, paths), "--source", "upload", "--purpose", "intake",
         "--note", "from the hotline form", *extra, "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_add_prints_one_json_object_per_file(database: Database, tmp_path: Path) -> None:
    first, second = tmp_path / "a.png", tmp_path / "b.bin"
    first.write_bytes(photo(3))
    second.write_bytes(b"\x00" * 1000)
    lines = _add(first, second, first)
    assert [set(line) for line in lines] == [
        {"id", "sha256", "md5", "sha1", "pdq", "size", "media_type", "duplicate"}
    ] * 3
    assert lines[0]["media_type"] == "image/png" and lines[0]["pdq"]
    assert lines[1]["pdq"] is None and lines[1]["size"] == 1000
    assert [line["duplicate"] for line in lines] == [False, False, True]
    assert lines[2]["id"] == lines[0]["id"]


def test_add_of_an_unreadable_file_names_it_and_stores_nothing(
    database: Database, tmp_path: Path
) -> None:
    good, bad = tmp_path / "good.bin", tmp_path / "missing.bin"
    good.write_bytes(b"good")
    result = runner.invoke(
        app, ["evidence", "add", str(good), str(bad), "--source", "upload", "--purpose", "intake"]
    )
    assert result.exit_code == 1
    assert "missing.bin: cannot be read" in result.stderr and "nothing stored" in result.stderr
    with database.read() as session:
        assert service.count_items(session) == 0


def test_add_refuses_an_unknown_source_or_purpose(database: Database, tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"x")
    result = runner.invoke(
        app, ["evidence", "add", str(path), "--source", "web", "--purpose", "fun"]
    )
    assert result.exit_code == 1
    assert "source 'web' is not one of" in result.stderr
    assert "purpose 'fun' is not one of" in result.stderr


def test_show_get_hold_destroy_and_certificate(database: Database, tmp_path: Path) -> None:
    source = tmp_path / "material.bin"
    source.write_bytes(os.urandom(10_000))
    item_id = str(_add(source)[0]["id"])
    shown = runner.invoke(app, ["evidence", "show", item_id, "--format", "json"])
    data = json.loads(shown.stdout)
    assert data["custody"][0]["note"] == "from the hotline form"
    assert source.read_bytes()[:50].hex() not in shown.stdout  # metadata only

    out = tmp_path / "out.bin"
    got = runner.invoke(
        app, ["evidence", "get", item_id, "--purpose", "investigation", "--out", str(out)]
    )
    assert got.exit_code == 0, got.output
    assert out.read_bytes() == source.read_bytes()

    assert runner.invoke(app, ["evidence", "hold", item_id, "--reason", "order 5"]).exit_code == 0
    refused = runner.invoke(app, ["evidence", "destroy", item_id, "--reason", "due", "--yes"])
    assert refused.exit_code == 1 and "on legal hold" in refused.stderr
    assert runner.invoke(app, ["evidence", "release", item_id]).exit_code == 0
    unconfirmed = runner.invoke(app, ["evidence", "destroy", item_id, "--reason", "due"])
    assert unconfirmed.exit_code == 2 and "--yes" in unconfirmed.stderr
    destroyed = runner.invoke(app, ["evidence", "destroy", item_id, "--reason", "due", "--yes"])
    assert destroyed.exit_code == 0, destroyed.output
    certificate = json.loads(destroyed.stdout)
    assert certificate["media"]["item_id"] == item_id

    cert_file, key_file = tmp_path / "cert.json", tmp_path / "public.pem"
    cert_file.write_text(destroyed.stdout)
    key_file.write_text(runner.invoke(app, ["evidence", "public-key"]).stdout)
    ok = runner.invoke(
        app, ["evidence", "certificate", "verify", str(cert_file), "--public-key", str(key_file)]
    )
    assert ok.exit_code == 0 and "valid certificate" in ok.stdout
    cert_file.write_text(destroyed.stdout.replace('"due"', '"other"'))
    bad = runner.invoke(app, ["evidence", "certificate", "verify", str(cert_file)])
    assert bad.exit_code == 1 and "signature does not match" in bad.stdout

    shown = json.loads(runner.invoke(app, ["evidence", "show", item_id, "--format", "json"]).stdout)
    assert [e["action"] for e in shown["custody"]] == [
        "acquire", "download", "hold", "release", "destroy",
    ]  # fmt: skip


def test_verify_exit_codes_name_each_problem(
    database: Database, tmp_path: Path, settings: config.Settings
) -> None:
    source = tmp_path / "m.bin"
    source.write_bytes(os.urandom(2000))
    item_id = str(_add(source)[0]["id"])
    clean = runner.invoke(app, ["evidence", "verify"])
    assert clean.exit_code == 0 and "evidence intact: 1 item(s)" in clean.stdout
    with tampering(database) as conn:
        conn.execute(
            text("UPDATE evidence_custody_events SET purpose = 'audit' WHERE item_id = :id"),
            {"id": item_id},
        )
    found = runner.invoke(app, ["evidence", "verify", "--format", "json"])
    assert found.exit_code == 1
    assert [p["kind"] for p in json.loads(found.stdout)] == ["changed_event"]
    (settings.data_dir / "keys" / "evidence-kek.json").chmod(0o644)
    broken = runner.invoke(app, ["evidence", "verify"])
    assert broken.exit_code == 2 and "0600" in broken.stderr


def _run_crashing(
    step: str, database: Database, settings: config.Settings, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "OPSCHUB_DATA_DIR": str(settings.data_dir),
        "OPSCHUB_DATABASE_URL": database.url.replace("+psycopg", ""),
        "PYTHONPATH": str(HERE),
    }
    return subprocess.run(
        [sys.executable, str(HERE / "evidence_crash_runner.py"), step, "evidence", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _consistent(database: Database) -> list[str]:
    """After recovery: every record has its key and a readable blob; no blob lacks a record."""
    the_vault = vault_from_settings()
    with database.transaction() as session:
        service.recover(session, the_vault, grace=timedelta(0))
    with database.read() as session:
        problems = [p.kind for p in integrity.verify(session, the_vault).problems]
    return problems


@pytest.mark.parametrize("step", ["write", "commit", "promote"])
def test_crash_in_the_middle_of_add_leaves_old_or_new_state(
    step: str, database: Database, settings: config.Settings, tmp_path: Path
) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 5))
    crashed = _run_crashing(
        step, database, settings, "add", str(source), "--source", "upload", "--purpose", "intake"
    )
    assert crashed.returncode == -9, crashed.stderr
    assert _consistent(database) == []
    with database.read() as session:
        count = service.count_items(session)
    blobs = [p for p in (settings.data_dir / "evidence").rglob("*") if p.is_file()]
    if step == "promote":  # committed: the new state, blob promoted by recovery
        assert count == 1 and len(blobs) == 1 and "blobs" in blobs[0].parts
    else:  # not committed: the old state, nothing left behind
        assert count == 0 and blobs == []


@pytest.mark.parametrize("step", ["commit", "delete"])
def test_crash_in_the_middle_of_destroy_leaves_old_or_new_state(
    step: str, database: Database, settings: config.Settings, tmp_path: Path
) -> None:
    source = tmp_path / "m.bin"
    source.write_bytes(os.urandom(100_000))
    item_id = str(_add(source)[0]["id"])
    crashed = _run_crashing(
        step, database, settings, "destroy", item_id, "--reason", "due", "--yes"
    )
    assert crashed.returncode == -9, crashed.stderr
    assert _consistent(database) == []
    with database.read() as session:
        item = service.get_item(session, item_id)
        blob = settings.data_dir / "evidence" / blob_name(item.sha256)
        if step == "commit":
            assert item.state == "stored" and blob.exists()
        else:
            assert item.state == "destroyed" and not blob.exists()
            assert source.read_bytes()[1000:1032] not in b"".join(
                p.read_bytes() for p in settings.data_dir.rglob("*") if p.is_file()
            )


def test_full_disk_is_named_and_leaves_the_store_as_it_was(
    database: Database, tmp_path: Path, settings: config.Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from opschub.evidence import storage

    stored = tmp_path / "first.bin"
    stored.write_bytes(os.urandom(5000))
    _add(stored)
    before = sorted(p for p in (settings.data_dir / "evidence").rglob("*") if p.is_file())

    def no_space(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage.os, "fsync", no_space)
    source = tmp_path / "second.bin"
    source.write_bytes(os.urandom(3 * 1024 * 1024))
    result = runner.invoke(
        app, ["evidence", "add", str(source), "--source", "upload", "--purpose", "intake"]
    )
    assert result.exit_code == 1
    assert "second.bin: cannot be stored (No space left on device); nothing stored" in (
        result.stderr
    )
    after = sorted(p for p in (settings.data_dir / "evidence").rglob("*") if p.is_file())
    assert after == before
    with database.read() as session:
        assert service.count_items(session) == 1
