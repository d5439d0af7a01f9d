"""Evidence packages: signed BagIt bags with a CASE/UCO graph; verify without an account;
import keeps the sender's custody history."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import typer
from evidence_helpers import OFFICER, photo, put_bytes, vault
from typer.testing import CliRunner

from opschub import config
from opschub.db import Database
from opschub.evidence import integrity, service
from opschub.evidence.cli import register
from opschub.evidence.package import export_package, verify_package

app = typer.Typer()
register(app)
runner = CliRunner()


@pytest.fixture
def package(database: Database, tmp_path: Path) -> tuple[Path, list[str]]:
    first = put_bytes(database, photo(11), name="capture.png").item
    second = put_bytes(database, os.urandom(5000), name="chat.bin").item
    with database.transaction() as session:
        service.hold(session, first.id, actor=OFFICER, reason="court order 3")
        export_package(
            session, vault(), [first.id, second.id], tmp_path / "pkg", actor=OFFICER,
            recipient="National police", note="request 2026/77",
        )  # fmt: skip
    return tmp_path / "pkg", [first.id, second.id]


def test_package_is_a_valid_signed_bag_with_both_manifests(
    package: tuple[Path, list[str]],
) -> None:
    import bagit

    path, _ids = package
    bag = bagit.Bag(str(path))
    assert bag.is_valid()
    assert set(bag.algorithms) == {"sha256", "sha512"}
    assert verify_package(path) == []
    result = runner.invoke(app, ["evidence", "package", "verify", str(path)])
    assert result.exit_code == 0 and "package verifies" in result.stdout


def test_package_custody_includes_every_event_and_the_export(
    database: Database, package: tuple[Path, list[str]]
) -> None:
    path, ids = package
    custody = json.loads((path / "metadata" / "custody.json").read_text())
    actions = {r["id"]: [e["action"] for e in r["custody"]] for r in custody["items"]}
    assert actions == {ids[0]: ["acquire", "hold", "export"], ids[1]: ["acquire", "export"]}
    graph = json.loads((path / "metadata" / "case-uco.jsonld").read_text())["@graph"]
    names = sorted(n["uco-core:name"] for n in graph if "InvestigativeAction" in n["@type"])
    assert names == ["acquire", "acquire", "export", "export", "hold"]
    hashes = [
        h["uco-types:hashValue"]["@value"]
        for n in graph
        for f in n.get("uco-core:hasFacet", [])
        for h in f.get("uco-observable:hash", [])
    ]
    with database.read() as session:
        for item_id in ids:
            assert service.get_item(session, item_id).sha256 in hashes


def test_changed_file_in_a_package_is_named(package: tuple[Path, list[str]]) -> None:
    path, _ids = package
    victim = next((path / "data").iterdir())
    victim.write_bytes(b"replaced")
    problems = verify_package(path)
    assert any("manifest does not match" in p and victim.name in p for p in problems)
    result = runner.invoke(app, ["evidence", "package", "verify", str(path)])
    assert result.exit_code == 1 and "does NOT verify" in result.stderr


def test_rehashed_manifest_still_fails_the_signature(package: tuple[Path, list[str]]) -> None:
    import bagit

    path, _ids = package
    victim = next((path / "data").iterdir())
    victim.write_bytes(b"replaced")
    bag = bagit.Bag(str(path))
    bag.save(manifests=True)  # an attacker re-computes every manifest
    assert bag.is_valid()
    problems = verify_package(path)
    assert "tagmanifest-sha512.txt: changed after signing (SHA-512 differs)" in problems


def test_edited_custody_history_in_a_package_is_named(package: tuple[Path, list[str]]) -> None:
    path, ids = package
    custody_file = path / "metadata" / "custody.json"
    custody = json.loads(custody_file.read_text())
    custody["items"][0]["custody"][1]["note"] = "no hold"
    custody_file.write_text(json.dumps(custody))
    problems = verify_package(path)
    assert f"item {ids[0]}: custody event 2 changed (its hash or link does not match)" in problems


def test_package_verify_with_a_foreign_public_key_fails(
    package: tuple[Path, list[str]], tmp_path: Path
) -> None:
    from opschub.evidence.signing import Signer

    other = tmp_path / "other.pem"
    other.write_text(Signer(tmp_path / "other-key.pem").public_key_pem())
    result = runner.invoke(
        app, ["evidence", "package", "verify", str(package[0]), "--public-key", str(other)]
    )
    assert result.exit_code == 1 and "another key than the published one" in result.stdout


def test_not_a_package_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["evidence", "package", "verify", str(tmp_path / "none")])
    assert result.exit_code == 2 and "not a directory" in result.stderr


def test_import_into_another_vault_keeps_history(
    database: Database, package: tuple[Path, list[str]], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    path, ids = package
    with database.transaction() as session:
        sender = {i: service.item_as_dict(session, service.get_item(session, i)) for i in ids}
    # Empty the vault's tables as a separate installation would have them.
    from sqlalchemy import delete

    from opschub.evidence.models import (
        CustodyEvent,
        DestructionCertificate,
        EvidenceAcquisition,
        EvidenceItem,
        EvidenceKey,
    )

    with database.transaction() as session:
        for table in (CustodyEvent, EvidenceAcquisition, EvidenceKey, DestructionCertificate):
            session.execute(delete(table))
        session.execute(delete(EvidenceItem))
    monkeypatch.setenv("OPSCHUB_DATA_DIR", str(tmp_path / "receiver"))
    config.get_settings.cache_clear()
    result = runner.invoke(app, ["evidence", "import", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    imported = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(i["sha256"] for i in imported) == sorted(s["sha256"] for s in sender.values())
    with database.read() as session:
        for entry in imported:
            events = service.custody(session, str(entry["id"]))
            assert [e.action for e in events] == ["acquire", "transfer"]
            history = events[1].details["sender_custody"]
            original = next(s for s in sender.values() if s["sha256"] == entry["sha256"])
            assert history == original["custody"]
            assert service.get_item(session, str(entry["id"])).size == original["size"]
        assert integrity.verify(session, vault()).problems == []


def test_case_uco_graph_validates_with_case_validate(package: tuple[Path, list[str]]) -> None:
    tool = shutil.which("case_validate") or str(Path(os.sys.executable).parent / "case_validate")
    if not Path(tool).exists():
        pytest.skip("case-utils is not installed")
    result = subprocess.run(
        [tool, "--allow-info", str(package[0] / "metadata" / "case-uco.jsonld")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Conforms: True" in result.stdout


def test_package_encrypted_to_the_recipient_verifies_and_only_they_can_read_it(
    database: Database, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    recipient = X25519PrivateKey.generate()
    private = tmp_path / "recipient.pem"
    private.write_bytes(
        recipient.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = tmp_path / "recipient.pub.pem"
    public.write_bytes(
        recipient.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    data = os.urandom(3 * 1024 * 1024 + 11)
    item = put_bytes(database, data).item
    out = tmp_path / "sealed"
    exported = runner.invoke(
        app, ["evidence", "export", item.id, "--to", str(out), "--encrypt-to", str(public)]
    )
    assert exported.exit_code == 0, exported.output
    everything = b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file())
    assert data[:32] not in everything and data[2_000_000:2_000_032] not in everything
    assert runner.invoke(app, ["evidence", "package", "verify", str(out)]).exit_code == 0

    stranger = tmp_path / "stranger.pem"
    stranger.write_bytes(
        X25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    refused = runner.invoke(
        app, ["evidence", "package", "decrypt", str(out), "--key", str(stranger),
              "--to", str(tmp_path / "nope")],
    )  # fmt: skip
    assert refused.exit_code == 1 and "another recipient" in refused.stderr
    opened = runner.invoke(
        app, ["evidence", "package", "decrypt", str(out), "--key", str(private),
              "--to", str(tmp_path / "clear")],
    )  # fmt: skip
    assert opened.exit_code == 0, opened.output
    (clear,) = (tmp_path / "clear").iterdir()
    assert clear.read_bytes() == data and clear.name == f"{item.sha256}.bin"
