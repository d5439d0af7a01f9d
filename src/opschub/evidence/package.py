"""Evidence packages: a set of items exported as a signed BagIt bag (RFC 8493).

Layout of a package directory::

    bagit.txt, bag-info.txt
    data/<sha256><extension>           the material, decrypted
    manifest-sha256.txt, manifest-sha512.txt
    metadata/case-uco.jsonld           CASE/UCO graph: files, hashes, every custody event
    metadata/custody.json              the same facts in opschub's own form (for import)
    tagmanifest-sha256.txt, tagmanifest-sha512.txt
    signature.json                     Ed25519 signature over tagmanifest-sha512.txt

The tag manifest covers the payload manifests and the metadata, so the one signature covers
everything. A recipient checks it with ``opschub evidence package verify DIR`` (no account, no
database): the signature, every manifest, and every custody chain.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mimetypes
import shutil
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from opschub import __version__
from opschub.evidence import service
from opschub.evidence.models import EvidenceItem
from opschub.evidence.recipient import SUFFIX, Sealer
from opschub.evidence.vault import Vault
from opschub.ids import new_id

SIGNATURE_FILE = "signature.json"
CUSTODY_FILE = "metadata/custody.json"
CASE_FILE = "metadata/case-uco.jsonld"


class PackageError(Exception):
    """The package cannot be read at all (not a directory, not a bag)."""


def export_package(
    session: Session,
    vault: Vault,
    item_ids: list[str],
    target: Path,
    *,
    actor: service.EvidenceActor,
    purpose: str = "transfer_to_police",
    note: str | None = None,
    recipient: str = "",
    encrypt_to: str | None = None,
) -> dict[str, Any]:
    """Write the items into ``target`` as a signed bag; one ``export`` custody event per item.

    With ``encrypt_to`` (a recipient's X25519 public key, PEM) the material is sealed to that
    key and never written in clear (:mod:`opschub.evidence.recipient`).
    """
    service._require(actor, "evidence.manage", "exporting evidence")
    if not item_ids:
        raise service.EvidenceError("nothing to export: give at least one item")
    if target.exists() and any(target.iterdir()):
        raise service.EvidenceError(f"{target}: not empty; export into a new directory")
    package_id = new_id()
    items: list[EvidenceItem] = []
    for item_id in dict.fromkeys(item_ids):
        item = service._lock_item(session, item_id)
        if item.state != "stored":
            raise service.EvidenceError(f"evidence item {item_id}: destroyed, cannot be exported")
        items.append(item)
    approvals = {
        item.id: service._check_approval(session, vault, item, "export", actor) for item in items
    }
    for item in items:
        service._custody(
            session,
            item,
            "export",
            actor,
            service._purpose(purpose),
            service._note(note),
            {
                "package": package_id,
                "recipient": recipient[:200],
                "encrypted": encrypt_to is not None,
                **approvals[item.id],
            },
        )
    target.mkdir(parents=True, exist_ok=True)
    try:
        sealer = None if encrypt_to is None else Sealer(encrypt_to, package_id)
        return _write_bag(session, vault, items, target, package_id, recipient, sealer)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise


def _extension(media_type: str) -> str:
    return mimetypes.guess_extension(media_type) or ".bin"


def _write_bag(
    session: Session,
    vault: Vault,
    items: list[EvidenceItem],
    target: Path,
    package_id: str,
    recipient: str,
    sealer: Sealer | None,
) -> dict[str, Any]:
    import bagit

    records = []
    for item in items:
        name = f"{item.sha256}{_extension(item.media_type)}"
        if sealer is not None:
            name += SUFFIX
            sealer.seal(service.plaintext(session, vault, item), target / name, f"data/{name}")
        else:
            with open(target / name, "wb") as handle:
                for chunk in service.plaintext(session, vault, item):
                    handle.write(chunk)
        record = service.item_as_dict(session, item)
        record["file"] = f"data/{name}"
        records.append(record)
    bag = bagit.make_bag(
        str(target),
        {
            "Source-Organization": "opschub",
            "External-Identifier": package_id,
            "External-Description": f"evidence package of {len(items)} item(s)",
            "Bag-Software-Agent": f"opschub {__version__}",
            **({"Contact-Name": recipient} if recipient else {}),
        },
        checksums=["sha256", "sha512"],
    )
    metadata = target / "metadata"
    metadata.mkdir()
    custody = {"package_id": package_id, "format": "opschub-custody/1", "items": records}
    (target / CUSTODY_FILE).write_text(json.dumps(custody, indent=2, ensure_ascii=False))
    if sealer is not None:
        sealer.write_info(target)
    (target / CASE_FILE).write_text(
        json.dumps(case_uco_graph(package_id, records), indent=2, ensure_ascii=False)
    )
    bag.save()  # tag manifests now cover the metadata files
    tagmanifest = (target / "tagmanifest-sha512.txt").read_bytes()
    signature = service.sign_document(
        vault,
        {
            "package_id": package_id,
            "signed_file": "tagmanifest-sha512.txt",
            "sha512": hashlib.sha512(tagmanifest).hexdigest(),
        },
    )
    (target / SIGNATURE_FILE).write_text(json.dumps(signature, indent=2))
    return {"package_id": package_id, "path": str(target), "items": [i.id for i in items]}


# -- CASE/UCO ------------------------------------------------------------------------------------

CONTEXT = {
    "kb": "http://example.org/kb/",
    "case-investigation": "https://ontology.caseontology.org/case/investigation/",
    "uco-action": "https://ontology.unifiedcyberontology.org/uco/action/",
    "uco-core": "https://ontology.unifiedcyberontology.org/uco/core/",
    "uco-identity": "https://ontology.unifiedcyberontology.org/uco/identity/",
    "uco-observable": "https://ontology.unifiedcyberontology.org/uco/observable/",
    "uco-types": "https://ontology.unifiedcyberontology.org/uco/types/",
    "uco-vocabulary": "https://ontology.unifiedcyberontology.org/uco/vocabulary/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}


def _node(kind: str, *key: str) -> str:
    """A node id ending in a UUID, as UCO suggests (stable for the same facts)."""
    return f"kb:{kind}-{uuid.uuid5(uuid.NAMESPACE_URL, 'opschub:' + ':'.join((kind, *key)))}"


def _hash(item_id: str, method: str, value: str) -> dict[str, Any]:
    return {
        "@id": _node("hash", item_id, method),
        "@type": "uco-types:Hash",
        "uco-types:hashMethod": {"@type": "xsd:string", "@value": method},
        "uco-types:hashValue": {"@type": "xsd:hexBinary", "@value": value},
    }


def case_uco_graph(package_id: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Files with their hashes, every custody event as an action, and a provenance record."""
    graph: list[dict[str, Any]] = []
    people: dict[str, str] = {}
    files = []
    for record in records:
        file_id = _node("file", record["id"])
        files.append({"@id": file_id})
        graph.append(
            {
                "@id": file_id,
                "@type": "uco-observable:File",
                "uco-core:hasFacet": [
                    {
                        "@id": _node("file-facet", record["id"]),
                        "@type": "uco-observable:FileFacet",
                        "uco-observable:fileName": record["file"].removeprefix("data/"),
                        "uco-observable:sizeInBytes": {
                            "@type": "xsd:integer",
                            "@value": str(record["size"]),
                        },
                    },
                    {
                        "@id": _node("content-facet", record["id"]),
                        "@type": "uco-observable:ContentDataFacet",
                        "uco-observable:mimeType": record["media_type"],
                        "uco-observable:hash": [
                            _hash(record["id"], "SHA256", record["sha256"]),
                            _hash(record["id"], "SHA1", record["sha1"]),
                            _hash(record["id"], "MD5", record["md5"]),
                        ],
                    },
                ],
            }
        )
        for ev in record["custody"]:
            person = people.setdefault(
                ev["actor_id"] or ev["actor_label"],
                _node("identity", ev["actor_id"] or ev["actor_label"]),
            )
            graph.append(
                {
                    "@id": _node("custody-event", ev["id"]),
                    "@type": "case-investigation:InvestigativeAction",
                    "uco-core:name": ev["action"],
                    "uco-core:description": f"{ev['purpose']}: {ev['note']}".rstrip(": "),
                    "uco-action:startTime": {"@type": "xsd:dateTime", "@value": ev["occurred_at"]},
                    "uco-action:performer": {"@id": person},
                    "uco-action:object": [{"@id": file_id}],
                }
            )
    for label, node in people.items():
        graph.append({"@id": node, "@type": "uco-identity:Identity", "uco-core:name": label})
    graph.append(
        {
            "@id": _node("provenance-record", package_id),
            "@type": "case-investigation:ProvenanceRecord",
            "case-investigation:exhibitNumber": package_id,
            "uco-core:object": files,
        }
    )
    return {"@context": CONTEXT, "@graph": graph}


# -- verifying a package (no account, no database) -----------------------------------------------


def verify_package(path: Path, public_key_pem: str | None = None) -> list[str]:
    """Every problem with the package, each naming the file or item; empty when it verifies."""
    import bagit

    # bagit logs each problem itself; they are returned (and printed once) here instead.
    logging.getLogger("bagit").setLevel(logging.CRITICAL)
    if not path.is_dir():
        raise PackageError(f"{path}: not a directory")
    problems: list[str] = []
    signature_path = path / SIGNATURE_FILE
    try:
        signature = json.loads(signature_path.read_text())
    except (OSError, ValueError) as exc:
        problems.append(f"{SIGNATURE_FILE}: cannot be read ({exc.__class__.__name__}); unsigned")
        signature = None
    if signature is not None:
        problems += [
            f"{SIGNATURE_FILE}: {p}" for p in service.verify_document(signature, public_key_pem)
        ]
        try:
            signed = (path / signature["signed_file"]).read_bytes()
            if hashlib.sha512(signed).hexdigest() != signature["sha512"]:
                problems.append(
                    f"{signature['signed_file']}: changed after signing (SHA-512 differs)"
                )
        except (OSError, KeyError, TypeError):
            problems.append(f"{SIGNATURE_FILE}: names no readable signed file")
    try:
        bag = bagit.Bag(str(path))
    except bagit.BagError as exc:
        raise PackageError(f"{path}: not a BagIt bag: {exc}") from None
    for _attempt in range(2):
        try:
            bag.validate()
            break
        except bagit.BagValidationError as exc:
            details = getattr(exc, "details", None) or []
            if details:
                problems += [f"manifest does not match: {d}" for d in details]
                break
            problems.append(f"manifest does not match: {exc.message}")
            # The size check stops bagit before the checksums; without it each file is named.
            if bag.info.pop("Payload-Oxum", None) is None:
                break
    try:
        custody = json.loads((path / CUSTODY_FILE).read_text())
    except (OSError, ValueError):
        problems.append(f"{CUSTODY_FILE}: missing or not JSON")
        return problems
    for record in custody.get("items", []):
        prev = service.GENESIS
        for ev in record.get("custody", []):
            if (
                service.hash_event_fields(record["id"], ev) != ev.get("event_hash")
                or ev.get("prev_hash") != prev
            ):
                problems.append(
                    f"item {record['id']}: custody event {ev.get('seq')} changed "
                    "(its hash or link does not match)"
                )
            prev = ev.get("event_hash")
        data_file = path / record.get("file", "")
        if data_file.is_file() and not data_file.name.endswith(SUFFIX):  # sealed: see decrypt
            digest = hashlib.sha256()
            with open(data_file, "rb") as handle:
                while chunk := handle.read(1024 * 1024):
                    digest.update(chunk)
            if digest.hexdigest() != record["sha256"]:
                problems.append(f"item {record['id']}: {record['file']} differs from its SHA-256")
    return problems


def import_package(
    session: Session,
    vault: Vault,
    path: Path,
    *,
    actor: service.EvidenceActor,
    public_key_pem: str | None = None,
    note: str | None = None,
) -> list[service.PutResult]:
    """Store a verified package's items; each keeps its custody history from the sender."""
    problems = verify_package(path, public_key_pem)
    if problems:
        raise service.EvidenceError(f"{path}: package does not verify: {problems[0]}")
    custody = json.loads((path / CUSTODY_FILE).read_text())
    signature = json.loads((path / SIGNATURE_FILE).read_text())
    if any(r["file"].endswith(SUFFIX) for r in custody["items"]):
        raise service.EvidenceError(
            f"{path}: the material is encrypted to a recipient; import needs a clear package"
        )
    results = []
    for record in custody["items"]:
        with open(path / record["file"], "rb") as handle:
            result = service.put(
                session,
                vault,
                handle,
                source_kind="transfer",
                actor=actor,
                purpose="intake",
                note=note,
                original_name=record["file"].removeprefix("data/"),
                media_type=record["media_type"],
                method="evidence package import",
                source_ref=custody["package_id"],
            )
        service._custody(
            session,
            result.item,
            "transfer",
            actor,
            "intake",
            f"received in package {custody['package_id']}",
            {
                "package": custody["package_id"],
                "signer_fingerprint": signature["signer"]["fingerprint"],
                "sender_item_id": record["id"],
                "sender_custody": record["custody"],
                "sender_acquisitions": record["acquisitions"],
            },
        )
        results.append(result)
    return results
