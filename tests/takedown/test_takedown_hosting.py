"""Hosting look-ups: sources combined per field, the abuse contact from the directory or RDAP,
CDNs flagged with the origin notified too, and the commands an operator runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from takedown_helpers import rdap_autnum
from typer.testing import CliRunner

from opschub.takedown.contacts import abuse_from_rdap
from opschub.takedown.hosting import HostingData, HostingDataError

runner = CliRunner()


def loaded(tmp_path: Path, files: dict[str, Path], *formats: str) -> HostingData:
    data = HostingData(tmp_path / "hosting", resolver=fake_resolver)
    for fmt in formats:
        data.load(files[fmt], fmt)
    return data


def fake_resolver(host: str) -> list[str]:
    """Tests resolve no real names: two documentation addresses per test host."""
    table = {"www.shop.example": ["198.51.100.10", "192.0.2.5"]}
    if host not in table:
        raise OSError("Name or service not known")
    return table[host]


def test_each_field_comes_from_the_first_source_that_knows_it(
    tmp_path: Path, hosting_files: dict[str, Path], asn_mmdb: Path
) -> None:
    data = loaded(tmp_path, hosting_files, "iptoasn", "rir")
    data.load(asn_mmdb, "mmdb")
    # iptoasn knows everything about 192.0.2.1; the RIR file's SE is not used.
    [answer] = data.lookup("192.0.2.1")
    assert (answer.country, answer.asn, answer.as_name) == ("DE", 64500, "EXAMPLE-HOSTING")
    assert answer.sources == ["iptoasn"]
    # 203.0.113.5: AS from the .mmdb, country from the RIR delegation.
    [answer] = data.lookup("203.0.113.5")
    assert (answer.country, answer.asn, answer.as_name) == ("FR", 64510, "MMDB-NET")
    assert answer.sources == ["mmdb:Test-ASN", "rir"]


def test_abuse_contact_from_directory_by_asn_else_from_nested_rdap(
    tmp_path: Path, hosting_files: dict[str, Path]
) -> None:
    data = loaded(tmp_path, hosting_files, "iptoasn", "providers", "rdap")
    [by_asn] = data.lookup("192.0.2.9")
    assert by_asn.abuse is not None
    assert (by_asn.abuse.email, by_asn.abuse.source) == ("abuse@hosting.example", "directory:asn")
    assert by_asn.abuse.language == "zh-Hans"
    [by_rdap] = data.lookup("2001:db8::42")
    assert by_rdap.abuse is not None
    assert by_rdap.abuse.email == "abuse@v6.example"  # not the technical contact beside it
    assert by_rdap.abuse.source == "rdap:AS64502.json"


def test_rdap_abuse_entity_is_found_at_the_top_level_too() -> None:
    answer = {
        "entities": [
            {
                "roles": ["abuse", "technical"],
                "vcardArray": ["vcard", [["email", {}, "text", "mailto:abuse@top.example"]]],
            }
        ]
    }
    contact = abuse_from_rdap(answer)
    assert contact is not None and contact.email == "abuse@top.example"
    assert abuse_from_rdap({"entities": [{"roles": ["registrant"]}]}) is None
    assert abuse_from_rdap(rdap_autnum(1, "x@nested.example")) is not None


def test_a_host_behind_a_cdn_notifies_the_cdn_and_the_origin(
    tmp_path: Path, hosting_files: dict[str, Path], asn_mmdb: Path
) -> None:
    data = loaded(tmp_path, hosting_files, "providers")
    hosts = tmp_path / "hosts.tsv"  # 198.51.100.0/25 is known only to the .mmdb: Cloudflare's AS
    hosts.write_text("192.0.2.0\t192.0.2.255\t64500\tDE\tEXAMPLE-HOSTING\n")
    data.load(hosts, "iptoasn")
    data.load(asn_mmdb, "mmdb")
    cdn, direct = data.lookup("www.shop.example")
    assert (cdn.ip, cdn.asn, cdn.cdn) == ("198.51.100.10", 13335, "Cloudflare")
    roles = [(n.role, n.ip, n.contact.email if n.contact else None) for n in cdn.notify]
    assert roles == [
        ("cdn", "198.51.100.10", None),
        ("origin", "192.0.2.77", "abuse@hosting.example"),
    ]
    # The address outside the CDN is the shop's own host: the directory's domain entry.
    assert direct.cdn is None
    assert direct.abuse is not None and direct.abuse.email == "abuse@shop.example"


def test_lookup_without_data_or_with_an_unknown_host_says_why(
    tmp_path: Path, hosting_files: dict[str, Path]
) -> None:
    data = HostingData(tmp_path / "hosting", resolver=fake_resolver)
    with pytest.raises(HostingDataError, match="no hosting data loaded"):
        data.lookup("192.0.2.1")
    data.load(hosting_files["iptoasn"], "iptoasn")
    with pytest.raises(HostingDataError, match=r"nowhere\.invalid: does not resolve"):
        data.lookup("nowhere.invalid")


def test_cli_load_then_lookup_prints_one_object_per_address(
    cli_app: typer.Typer, hosting_files: dict[str, Path]
) -> None:
    result = runner.invoke(
        cli_app, ["hosting", "load", str(hosting_files["iptoasn"]), "--format", "iptoasn"]
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["ipv4_ranges"] == 2
    result = runner.invoke(cli_app, ["hosting", "lookup", "192.0.2.3", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    [row] = [json.loads(line) for line in result.stdout.splitlines()]
    assert {k: row[k] for k in ("ip", "country", "asn", "as_name", "abuse")} == {
        "ip": "192.0.2.3",
        "country": "DE",
        "asn": 64500,
        "as_name": "EXAMPLE-HOSTING",
        "abuse": None,
    }
    # localhost resolves without the internet; it is in no loaded range.
    result = runner.invoke(cli_app, ["hosting", "lookup", "localhost", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows and all(r["asn"] is None and r["country"] is None for r in rows)
    assert {r["ip"] for r in rows} <= {"127.0.0.1", "::1"}


def test_cli_load_of_a_bad_file_exits_1_naming_file_line_and_field(
    cli_app: typer.Typer, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("192.0.2.0\t192.0.2.255\t64500\tDE\tOK\n192.0.2.300\t192.0.3.0\t1\tDE\tX\n")
    result = runner.invoke(cli_app, ["hosting", "load", str(bad), "--format", "iptoasn"])
    assert result.exit_code == 1
    assert f"{bad}: line 2: range_start: '192.0.2.300' is not an IP address" in result.stderr
    assert "nothing loaded" in result.stderr
    result = runner.invoke(cli_app, ["hosting", "lookup", "192.0.2.1"])
    assert result.exit_code == 2 and "no hosting data loaded" in result.stderr


def test_cli_refuses_a_file_that_is_not_a_maxmind_database(
    cli_app: typer.Typer, hosting_files: dict[str, Path]
) -> None:
    result = runner.invoke(
        cli_app, ["hosting", "load", str(hosting_files["iptoasn"]), "--format", "mmdb"]
    )
    assert result.exit_code == 1
    assert f"{hosting_files['iptoasn']}: line 0: file: not a MaxMind DB file" in result.stderr


def test_provider_directory_errors_name_the_entry_and_field(
    cli_app: typer.Typer, tmp_path: Path
) -> None:
    path = tmp_path / "providers.toml"
    path.write_text('[[provider]]\nname = "X"\nabuse = "nobody"\nasns = ["AS1"]\n')
    result = runner.invoke(cli_app, ["hosting", "load", str(path), "--format", "providers"])
    assert result.exit_code == 1
    assert "provider[1].abuse: 'nobody' is not an email address" in result.stderr
    assert "provider[1].asns: must be a list of AS numbers" in result.stderr
