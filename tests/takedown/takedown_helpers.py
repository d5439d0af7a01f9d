"""Helpers shared by the takedown tests."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path


def rdap_autnum(asn: int, email: str) -> dict[str, object]:
    """An RDAP autnum answer with the abuse contact nested in the registrant, as ARIN does."""
    return {
        "objectClassName": "autnum",
        "startAutnum": asn,
        "endAutnum": asn,
        "entities": [
            {
                "roles": ["registrant"],
                "vcardArray": ["vcard", [["fn", {}, "text", "Example Networks"]]],
                "entities": [
                    {
                        "roles": ["technical"],
                        "vcardArray": ["vcard", [["email", {}, "text", "noc@net.example"]]],
                    },
                    {
                        "roles": ["abuse"],
                        "vcardArray": [
                            "vcard",
                            [["fn", {}, "text", "Abuse desk"], ["email", {}, "text", email]],
                        ],
                    },
                ],
            }
        ],
    }


def self_signed(tmp: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files in ``tmp``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
