"""Lists served to online services: confirmed URLs and hashes go on, gone content comes off by
each list's rule, every change is a new audited version, and partners download them signed."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from opschub.accounts import service as accounts
from opschub.audit.models import AuditEvent
from opschub.clock import frozen
from opschub.config import Settings
from opschub.db import Database
from opschub.takedown import lists_service
from opschub.takedown.lists_models import ServedListEntry
from opschub.takedown.signed_lists import ListError, SignedListStore, public_key_pem

SHA_A, SHA_B = "a" * 64, "b" * 64
PDQ_A = "f" * 64
URL_1 = "https://files.example/a/1.jpg"
URL_2 = "https://mirror.example/copy.jpg"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
runner = CliRunner()


def _confirm(database: Database, url: str, sha256s: list[str], pdqs: list[str] = ()) -> dict:  # type: ignore[assignment,type-arg]
    with database.transaction() as session:
        return lists_service.add_confirmed(session, None, url=url, sha256s=sha256s, pdqs=list(pdqs))


def _gone(database: Database, url: str) -> dict[str, int]:
    with database.transaction() as session:
        return lists_service.remove_gone(session, None, url=url)


def _urls(database: Database, version: int | None = None) -> list[str]:
    with database.read() as session:
        return [r["url"] for r in lists_service.snapshot(session, "urls", version)]


def _hashes(database: Database, version: int | None = None) -> list[str]:
    with database.read() as session:
        return [r["hash"] for r in lists_service.snapshot(session, "hashes", version)]


def test_a_confirmed_url_and_its_hashes_make_one_new_version_of_each_list(
    database: Database,
) -> None:
    with frozen(T0):
        assert _confirm(database, URL_1, [SHA_A], [PDQ_A]) == {"urls": 1, "hashes": 1}
    assert _urls(database) == [URL_1]
    assert sorted(_hashes(database)) == [SHA_A, PDQ_A]
    # The same again changes nothing: no new version, no audit event.
    assert _confirm(database, URL_1, [SHA_A.upper()], [PDQ_A]) == {}
    # A second URL carrying a known hash and a new one: the hash list gets only the new one.
    assert _confirm(database, URL_2, [SHA_A, SHA_B]) == {"urls": 2, "hashes": 2}
    with database.read() as session:
        infos = {i.name: i for i in lists_service.index(session)}
        assert (infos["urls"].version, infos["urls"].entries) == (2, 2)
        assert (infos["hashes"].version, infos["hashes"].entries) == (2, 3)
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "takedown.lists.version")
        ).all()
    assert len(events) == 4
    assert {(e.target_id, e.details["version"], e.details["added"]) for e in events} == {
        ("urls", 1, 1),
        ("hashes", 1, 2),
        ("urls", 2, 1),
        ("hashes", 2, 1),
    }


def test_gone_content_leaves_the_url_list_but_the_hash_list_keeps_its_hashes_by_default(
    database: Database,
) -> None:
    _confirm(database, URL_1, [SHA_A])
    _confirm(database, URL_2, [SHA_A])
    assert _gone(database, URL_1) == {"urls": 3}
    assert _urls(database) == [URL_2]
    assert _urls(database, 2) == [URL_1, URL_2]  # an old version stays readable
    assert _hashes(database) == [SHA_A]
    assert _gone(database, URL_1) == {}  # already gone: nothing new


def test_a_hash_leaves_a_removing_list_only_when_its_last_url_is_gone(
    database: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "lists_remove_when_gone", ("urls", "hashes"))
    _confirm(database, URL_1, [SHA_A, SHA_B])
    _confirm(database, URL_2, [SHA_A])
    assert _gone(database, URL_1) == {"urls": 3, "hashes": 2}
    assert _hashes(database) == [SHA_A]  # URL_2 still carries it
    assert _gone(database, URL_2) == {"urls": 4, "hashes": 3}
    assert _hashes(database) == []
    # Confirmed again later: back on the list as a new stay, in a new version.
    assert _confirm(database, URL_2, [SHA_A]) == {"urls": 5, "hashes": 4}
    with database.read() as session:
        assert lists_service.changes(session, "hashes", 1) == (
            [],
            [{"hash": SHA_B, "hash_type": "sha256"}],
        )
        assert lists_service.changes(session, "hashes", 3) == (
            [{"hash": SHA_A, "hash_type": "sha256"}],
            [],
        )
        assert lists_service.changes(session, "hashes", 2, 3) == (
            [],
            [{"hash": SHA_A, "hash_type": "sha256"}],
        )
        assert lists_service.changes(session, "hashes", 4) == ([], [])
        stays = session.scalars(
            select(ServedListEntry).where(ServedListEntry.record["hash"].as_string() == SHA_A)
        ).all()
    assert sorted((s.added_version, s.removed_version) for s in stays) == [(1, 3), (4, None)]


def test_bad_input_is_named_and_nothing_is_written(database: Database) -> None:
    with pytest.raises(ListError, match=r"sha256s\[1\]"), database.transaction() as session:
        lists_service.add_confirmed(session, None, url=URL_1, sha256s=[SHA_A, "xyz"])
    with pytest.raises(ListError, match="url"), database.transaction() as session:
        lists_service.add_confirmed(session, None, url="not a url", sha256s=[SHA_A])
    with pytest.raises(ListError, match="pdqs"), database.transaction() as session:
        lists_service.add_confirmed(session, None, url=URL_1, pdqs=PDQ_A)  # type: ignore[arg-type]
    assert _urls(database) == [] and _hashes(database) == []
    with database.read() as session, pytest.raises(ListError, match="since"):
        lists_service.changes(session, "urls", 3)


def test_the_setting_names_only_known_lists() -> None:
    with pytest.raises(ValueError, match="unknown list 'blocklist'"):
        Settings(lists_remove_when_gone="urls,blocklist")  # type: ignore[arg-type]


# -- the partner API ---------------------------------------------------------------------------


def _token(database: Database, permissions: tuple[str, ...] = ("lists.read",)) -> dict[str, str]:
    with database.transaction() as session:
        _, raw = accounts.create_token(
            session,
            name="online service",
            permissions=permissions,
            expires_in_days=30,
            actor=None,
            partner=True,
        )
    return {"Authorization": f"Bearer {raw}"}


def test_a_partner_downloads_the_lists_and_verifies_them_with_the_public_key(
    database: Database,
    client: TestClient,
    settings: Settings,
    tmp_path: Path,
    cli_app: typer.Typer,
) -> None:
    with frozen(T0):
        _confirm(database, URL_1, [SHA_A])
    _confirm(database, URL_2, [SHA_B])
    headers = _token(database)
    index = client.get("/api/v1/lists", headers=headers)
    assert index.status_code == 200
    by_name = {i["name"]: i for i in index.json()["lists"]}
    assert by_name["urls"]["version"] == 2 and by_name["urls"]["entries"] == 2
    assert "tx-csv" in by_name["hashes"]["formats"]

    answer = client.get("/api/v1/lists/urls", params={"format": "lines"}, headers=headers)
    assert answer.status_code == 200
    assert answer.text.splitlines() == [URL_1, URL_2]
    assert answer.headers["x-opschub-list-version"] == "2"
    # The recipient saves the file and the signature from the header, and verifies.
    key = tmp_path / "publisher.pem"
    key.write_text(public_key_pem(SignedListStore(settings.data_dir / "lists").public_key()))
    saved = tmp_path / "urls.txt"
    saved.write_bytes(answer.content)
    (tmp_path / "urls.txt.sig").write_bytes(
        base64.b64decode(answer.headers["x-opschub-list-signature"])
    )
    result = runner.invoke(cli_app, ["lists", "verify", str(saved), "--key", str(key)])
    assert result.exit_code == 0, result.output
    # ... and the detached signature route gives the same file.
    sig = client.get("/api/v1/lists/urls/signature", params={"format": "lines"}, headers=headers)
    assert sig.content == base64.b64decode(answer.headers["x-opschub-list-signature"])
    # A list altered on the way fails verification.
    saved.write_bytes(answer.content.replace(b"mirror", b"mirr0r"))
    result = runner.invoke(cli_app, ["lists", "verify", str(saved), "--key", str(key)])
    assert result.exit_code == 1 and "changed after signing" in result.output


def test_etag_answers_304_until_the_list_changes_and_since_gives_the_changes(
    database: Database, client: TestClient
) -> None:
    _confirm(database, URL_1, [SHA_A])
    headers = _token(database)
    first = client.get("/api/v1/lists/hashes", params={"format": "csv"}, headers=headers)
    assert first.status_code == 200 and SHA_A in first.text
    tag = first.headers["etag"]
    again = client.get(
        "/api/v1/lists/hashes", params={"format": "csv"}, headers={**headers, "If-None-Match": tag}
    )
    assert again.status_code == 304 and again.content == b""
    _confirm(database, URL_2, [SHA_B])
    _gone(database, URL_1)  # the URL list drops URL_1; the hash list keeps SHA_A
    changed = client.get(
        "/api/v1/lists/hashes", params={"format": "csv"}, headers={**headers, "If-None-Match": tag}
    )
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    since = client.get("/api/v1/lists/urls", params={"since": 1}, headers=headers)
    assert since.status_code == 200
    assert [json.loads(line) for line in since.text.splitlines()] == [
        {"change": "added", "url": URL_2},
        {"change": "removed", "url": URL_1},
    ]
    unchanged = client.get(
        "/api/v1/lists/urls",
        params={"since": 1},
        headers={**headers, "If-None-Match": since.headers["etag"]},
    )
    assert unchanged.status_code == 304


def test_the_api_refuses_without_the_permission_and_names_bad_queries(
    database: Database, client: TestClient
) -> None:
    _confirm(database, URL_1, [SHA_A])
    assert client.get("/api/v1/lists").status_code == 401
    submitter = _token(database, ("reports.submit",))
    assert client.get("/api/v1/lists/urls", headers=submitter).status_code == 403
    headers = _token(database)
    assert client.get("/api/v1/lists/nope", headers=headers).status_code == 404
    bad = client.get("/api/v1/lists/urls", params={"format": "vics"}, headers=headers)
    assert bad.status_code == 400 and "format" in bad.json()["detail"]
    ahead = client.get("/api/v1/lists/urls", params={"since": 9}, headers=headers)
    assert ahead.status_code == 400 and "since" in ahead.json()["detail"]
    csv_since = client.get(
        "/api/v1/lists/urls", params={"since": 0, "format": "lines"}, headers=headers
    )
    assert csv_since.status_code == 400 and "jsonl" in csv_since.json()["detail"]


def test_a_test_server_url_intake_would_refuse_still_goes_on_and_off_the_list(
    database: Database,
) -> None:
    # Confirming a target must never fail on the list: a well-formed URL is kept as given.
    local = "http://127.0.0.1:8080/p"
    assert _confirm(database, local, [SHA_A]) == {"urls": 1, "hashes": 1}
    assert _urls(database) == [local]
    assert _gone(database, local) == {"urls": 2}
    assert _urls(database) == []
