"""The vault's moving parts, built once from settings: storage backend, key service, signer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from opschub.config import Settings, get_settings
from opschub.evidence.keys import FileKeyService, KeyService
from opschub.evidence.signing import Signer
from opschub.evidence.storage import Backend, LocalBackend, S3Backend


@dataclass
class Vault:
    backend: Backend
    keys: KeyService
    signer: Signer
    four_eyes: bool = False
    matching_dir: Path | None = None


def key_file(settings: Settings) -> Path:
    return settings.evidence_key_file or settings.data_dir / "keys" / "evidence-kek.json"


def signing_key_file(settings: Settings) -> Path:
    return settings.evidence_signing_key_file or (
        settings.data_dir / "keys" / "evidence-signing.pem"
    )


def vault_from_settings(settings: Settings | None = None) -> Vault:
    settings = settings or get_settings()
    backend: Backend
    if settings.evidence_storage == "s3":
        backend = S3Backend.from_settings(
            settings.evidence_s3_endpoint, settings.evidence_s3_bucket, settings.evidence_s3_prefix
        )
    else:
        backend = LocalBackend(settings.data_dir / "evidence")
    return Vault(
        backend=backend,
        keys=FileKeyService(key_file(settings)),
        signer=Signer(signing_key_file(settings)),
        four_eyes=settings.evidence_four_eyes,
        matching_dir=settings.data_dir / "matching",
    )
