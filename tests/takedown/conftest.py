"""Shared fixtures for the takedown tests: small hosting data files, documentation networks only
(192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) and private-use AS numbers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from takedown_helpers import rdap_autnum

IPTOASN = (
    "192.0.2.0\t192.0.2.255\t64500\tDE\tEXAMPLE-HOSTING\n"
    "198.51.100.0\t198.51.100.127\t64501\tNL\tEXAMPLE-CDN\n"
    "198.51.100.128\t198.51.100.255\t0\tNone\tNot routed\n"
    "2001:db8::\t2001:db8:0:ffff:ffff:ffff:ffff:ffff\t64502\tJP\tEXAMPLE-V6\n"
)

RIR = (
    "2|ripencc|20240101|4|19700101|20240101|+0100\n"
    "ripencc|*|ipv4|*|2|summary\n"
    "ripencc|FR|ipv4|203.0.113.0|256|20100101|allocated|abc\n"
    "ripencc|SE|ipv4|192.0.2.0|256|20100101|assigned|abd\n"
    "ripencc||ipv4|198.18.0.0|512|20100101|available|\n"
    "ripencc|CH|ipv6|2001:db8:1::|48|20100101|allocated|abe\n"
    "ripencc|DE|asn|64500|1|20100101|allocated|abf\n"
)

PROVIDERS = """
[[provider]]
name = "Example Hosting"
asns = [64500]
abuse = "abuse@hosting.example"
language = "zh-Hans"

[[provider]]
name = "Shop behind a CDN"
domains = ["shop.example"]
abuse = "abuse@shop.example"
origin = "192.0.2.77"
"""


@pytest.fixture
def hosting_files(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "input"
    folder.mkdir()
    files = {
        "iptoasn": folder / "ip2asn-combined.tsv",
        "rir": folder / "delegated-ripencc-extended-latest",
        "providers": folder / "providers.toml",
        "rdap": folder / "AS64502.json",
    }
    files["iptoasn"].write_text(IPTOASN)
    files["rir"].write_text(RIR)
    files["providers"].write_text(PROVIDERS)
    files["rdap"].write_text(json.dumps(rdap_autnum(64502, "abuse@v6.example")))
    return files


@pytest.fixture
def asn_mmdb(tmp_path: Path) -> Path:
    """A GeoLite2-ASN-shaped database built with mmdb-writer."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=6, database_type="Test-ASN", ipv4_compatible=True)
    writer.insert_network(
        IPSet(["203.0.113.0/25"]),
        {"autonomous_system_number": 64510, "autonomous_system_organization": "MMDB-NET"},
    )
    writer.insert_network(
        IPSet(["198.51.100.0/25"]),
        {"autonomous_system_number": 13335, "autonomous_system_organization": "CLOUDFLARENET"},
    )
    path = tmp_path / "input-asn.mmdb"
    writer.to_db_file(str(path))
    return path


@pytest.fixture
def cli_app() -> Iterator[typer.Typer]:
    """The root ``opschub`` app (the autouse ``settings`` fixture points it at tmp_path)."""
    from opschub.cli import app

    yield app
