"""Helpers shared by the takedown tests."""

from __future__ import annotations


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
