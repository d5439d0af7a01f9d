"""Settings: one validated object, read from ``OPSCHUB_*`` environment variables.

A wrong value stops start-up with one line naming the variable and what is wrong
(see :func:`load_settings`).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import stat
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SUPPORTED_LANGUAGES = ("zh-Hans", "en")
SECRET_KEY_FILE = "secret.key"


class SettingsError(Exception):
    """A setting has a wrong value; the message is one line naming the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPSCHUB_", extra="ignore")

    data_dir: Path = Field(
        default=Path("var"), description="Directory for the database, keys, indexes"
    )
    database_url: str = Field(
        default="", description="SQLAlchemy URL; empty means SQLite in data_dir"
    )
    secret_key: str = Field(
        default="", description="Master key; generated into data_dir when empty"
    )
    base_url: str = Field(default="http://127.0.0.1:8000", description="Public base URL")
    languages: Annotated[tuple[str, ...], NoDecode] = Field(default=SUPPORTED_LANGUAGES)
    default_language: str = "en"
    login_max_failures: int = Field(default=5, ge=1, le=100)
    login_lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    session_hours: int = Field(default=8, ge=1, le=24 * 30)
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Reverse proxies (addresses or networks) whose X-Forwarded-For is believed",
    )
    audit_anchor_dir: Path | None = Field(
        default=None,
        description="Where signed audit checkpoints go; keep it off the database's host",
    )
    audit_checkpoint_minutes: int = Field(default=5, ge=0, le=24 * 60)

    @field_validator("languages", mode="before")
    @classmethod
    def _split_languages(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [lang for lang in value if lang not in SUPPORTED_LANGUAGES]
        if unknown:
            raise ValueError(
                f"unknown language {unknown[0]!r}; supported: {', '.join(SUPPORTED_LANGUAGES)}"
            )
        if not value:
            raise ValueError("at least one language is needed")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/24)"
                ) from None
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:// or postgresql:// URL")
        if value.startswith("postgresql://"):
            # psycopg 3 is the driver we ship.
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        if value and len(value) < 32:
            raise ValueError("must be at least 32 characters")
        return value

    @property
    def https(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'opschub.sqlite3').resolve()}"

    def ensure_data_dir(self) -> Path:
        """The data directory, created (or tightened to) 0700: it holds keys and personal data."""
        return private_dir(self.data_dir)

    @property
    def resolved_audit_anchor_dir(self) -> Path:
        """Signed audit checkpoints; by default inside the data directory (see docs/audit.md)."""
        return self.audit_anchor_dir or self.data_dir / "audit-anchors"

    def resolved_secret_key(self) -> str:
        """The master key: from the environment, else from ``data_dir/secret.key`` (0600)."""
        if self.secret_key:
            return self.secret_key
        path = self.ensure_data_dir() / SECRET_KEY_FILE
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise SettingsError(f"{path}: secret key file must have mode 0600, has {mode:o}")
        return path.read_text().strip()


PRIVATE_UMASK = 0o077


def private_files() -> None:
    """Make every file this process creates readable by its owner only (0600, directories 0700).

    Called by the ``opschub`` command before anything else, so that the database (and SQLite's
    -wal and -shm files, which copy its mode), hash lists, indexes and keys are readable by no
    one else.
    """
    os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) 0700; an existing one readable by others is tightened."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        # Not ours to change (PermissionError): the operator chose it (docs/operators.md).
        with contextlib.suppress(PermissionError):
            path.chmod(mode & 0o700)
    return path


def load_settings() -> Settings:
    """Read and validate settings, turning the first problem into one clear line."""
    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"OPSCHUB_{field.upper()}: {message}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
