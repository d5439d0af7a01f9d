"""Signed, versioned lists: a version only when something changes, diffs between versions,
exports in the matching engine's formats that recipients verify with the public key."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from opschub.matching.formats import Entry, make_entry, parse_file
from opschub.takedown.signed_lists import (
    KEY_FILE,
    ListError,
    SignedListStore,
    VerificationError,
    load_public_key,
    public_key_pem,
    verify,
)

runner = CliRunner()
SHA_A, SHA_B, SHA_C = ("a" * 64, "b" * 64, "c" * 64)
MD5 = "d" * 32


def hashes(*values: str) -> list[Entry]:
    return [make_entry("sha256" if len(v) == 64 else "md5", v, label="confirmed") for v in values]


@pytest.fixture
def store(tmp_path: Path) -> SignedListStore:
    return SignedListStore(tmp_path / "lists")


def test_a_new_version_only_when_entries_are_added_or_removed(store: SignedListStore) -> None:
    first = store.publish("hashes", "hashes", hashes(SHA_A, SHA_B))
    assert first is not None and (first.version, first.added, first.removed) == (1, 2, 0)
    same = store.publish("hashes", "hashes", hashes(SHA_B, SHA_A, SHA_A))
    assert same is None and store.versions("hashes") == [1]
    second = store.publish("hashes", "hashes", hashes(SHA_B, SHA_C, MD5))
    assert second is not None and (second.version, second.added, second.removed) == (2, 2, 1)
    added, removed = store.diff("hashes", since=1)
    assert [r["hash"] for r in added] == [MD5, SHA_C]
    assert [r["hash"] for r in removed] == [SHA_A]


def test_url_lists_hold_normalised_urls_and_refuse_bad_ones(store: SignedListStore) -> None:
    store.publish("urls", "urls", ["HTTP://Files.Example.NET/a#frag", "http://files.example.net/a"])
    assert store.records("urls", 1) == [{"url": "http://files.example.net/a"}]
    with pytest.raises(ListError, match="only http and https"):
        store.publish("urls", "urls", ["ftp://files.example.net/x"])
    with pytest.raises(ListError, match="is a list of urls, not hashes"):
        store.publish("urls", "hashes", [])


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "tx-csv", "vics"])
def test_hash_exports_are_the_matching_formats_and_verify(
    store: SignedListStore, tmp_path: Path, fmt: str
) -> None:
    store.publish("hashes", "hashes", hashes(SHA_A, MD5))
    export = store.export("hashes", format=fmt)
    path = tmp_path / f"hashes.{'json' if fmt == 'vics' else fmt}"
    export.write(path)
    # What a recipient's matching engine reads back is the list itself.
    parsed = parse_file(path, fmt)
    assert parsed.invalid == 0
    expected = {MD5} if fmt == "vics" else {SHA_A, MD5}  # VICS holds MD5 and SHA-1 only
    assert {e.hash for e in parsed.entries} == expected
    verified = verify(
        path.read_bytes(), (tmp_path / f"{path.name}.sig").read_bytes(), store.public_key()
    )
    assert verified.manifest["version"] == 1 and verified.manifest["format"] == fmt
    assert verified.manifest["entries"] == len(expected)


def test_changes_since_a_version_are_signed_jsonl(store: SignedListStore) -> None:
    store.publish("urls", "urls", ["https://a.example/1", "https://a.example/2"])
    store.publish("urls", "urls", ["https://a.example/2", "https://a.example/3"])
    export = store.export("urls", since=1)
    rows = [json.loads(line) for line in export.payload.decode().splitlines()]
    assert rows == [
        {"change": "added", "url": "https://a.example/3"},
        {"change": "removed", "url": "https://a.example/1"},
    ]
    assert (export.manifest["version"], export.manifest["since_version"]) == (2, 1)
    verify(export.payload, export.signature_file(), store.public_key())
    with pytest.raises(ListError, match="jsonl only"):
        store.export("urls", since=1, format="lines")


def test_a_changed_file_a_changed_manifest_or_another_key_is_invalid(
    store: SignedListStore,
) -> None:
    store.publish("urls", "urls", ["https://a.example/1"])
    export = store.export("urls", format="lines")
    key = store.public_key()
    with pytest.raises(VerificationError, match="SHA-256 differs"):
        verify(export.payload + b"https://evil.example/\n", export.signature_file(), key)
    doc = json.loads(export.signature_file())
    doc["manifest"]["version"] = 99
    with pytest.raises(VerificationError, match="does not match the manifest"):
        verify(export.payload, json.dumps(doc).encode(), key)
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(VerificationError, match="not with the given key"):
        verify(export.payload, export.signature_file(), other)
    with pytest.raises(VerificationError, match="not an opschub list signature"):
        verify(export.payload, b"{}", key)


def test_the_signing_key_is_encrypted_at_rest_and_kept(store: SignedListStore) -> None:
    first = store.public_key()
    raw = (store.directory / KEY_FILE).read_bytes()
    assert len(raw) > 32 and (store.directory / KEY_FILE).stat().st_mode & 0o077 == 0
    assert public_key_pem(SignedListStore(store.directory).public_key()) == public_key_pem(first)
    assert load_public_key(public_key_pem(first)) == first


def test_cli_publish_export_and_verify_as_a_recipient_would(
    cli_app: typer.Typer, tmp_path: Path
) -> None:
    source = tmp_path / "confirmed.csv"
    source.write_text(f"hash_type,hash,label\nsha256,{SHA_A},x\nmd5,{MD5},y\n")
    result = runner.invoke(cli_app, ["lists", "publish", "hashes", str(source), "--kind", "hashes"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["version"] == 1
    out = tmp_path / "out" / "hashes-v1.csv"
    out.parent.mkdir()
    result = runner.invoke(
        cli_app, ["lists", "export-signed", "hashes", "--format", "csv", "--out", str(out)]
    )
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert {r["hash"] for r in rows} == {SHA_A, MD5}
    key = tmp_path / "publisher.pem"
    result = runner.invoke(cli_app, ["lists", "public-key"])
    key.write_text(result.stdout)
    result = runner.invoke(cli_app, ["lists", "verify", str(out), "--key", str(key)])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["valid"] is True
    out.write_text(out.read_text().replace(SHA_A, SHA_B))
    result = runner.invoke(cli_app, ["lists", "verify", str(out), "--key", str(key)])
    assert result.exit_code == 1
    assert "invalid: file changed after signing" in result.stderr
    (out.parent / (out.name + ".sig")).unlink()
    result = runner.invoke(cli_app, ["lists", "verify", str(out), "--key", str(key)])
    assert result.exit_code == 1 and "no signature file" in result.stderr


def test_cli_publish_names_bad_lines_and_publishes_nothing(
    cli_app: typer.Typer, tmp_path: Path
) -> None:
    source = tmp_path / "urls.txt"
    source.write_text("https://ok.example/a\n# a comment\nhttp://127.0.0.1/admin\n")
    result = runner.invoke(cli_app, ["lists", "publish", "urls", str(source), "--kind", "urls"])
    assert result.exit_code == 1
    assert f"{source}: line 3: url:" in result.stderr
    assert "nothing published" in result.stderr
    result = runner.invoke(
        cli_app, ["lists", "export-signed", "urls", "--out", str(tmp_path / "x")]
    )
    assert result.exit_code == 2 and "no list named 'urls'" in result.stderr
