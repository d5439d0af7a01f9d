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
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SUPPORTED_LANGUAGES = ("zh-Hans", "en")
SECRET_KEY_FILE = "secret.key"
# Periodic jobs: task kind -> cron expression (UTC); OPSCHUB_SCHEDULES replaces them (JSON).
DEFAULT_SCHEDULES = {
    "jobs.prune": "17 3 * * *",
    "audit.checkpoint": "*/5 * * * *",
    "accounts.credential_review": "30 6 * * 1",
    "evidence.retention_review": "45 5 * * *",
    "cases.stage_alarms": "20 5 * * *",
}


def _default_limitation_rules() -> dict[str, str]:
    from opschub.cases.limitation import DEFAULT_RULES

    return dict(DEFAULT_RULES)


def _default_stage_targets() -> dict[str, int]:
    from opschub.cases.stages import DEFAULT_TARGETS

    return dict(DEFAULT_TARGETS)


class SettingsError(Exception):
    """A setting has a wrong value; the message is one line naming the variable."""


class DeprecatedSetting(FutureWarning):
    """A setting is read under an old name; the message names the one to set instead.
    (A FutureWarning, so that an operator sees it without asking.)"""


# Old setting -> the one that replaced it. The old names are still read, with a warning.
# Notices (takedown) and referrals (cases) each had their own mail server; the installation has
# one outgoing mail server (OPSCHUB_SMTP_*).
DEPRECATED_SETTINGS = {
    "notice_smtp_host": "smtp_host",
    "notice_smtp_port": "smtp_port",
    "notice_smtp_username": "smtp_username",
    "notice_smtp_password": "smtp_password",
    "notice_smtp_require_tls": "smtp_require_tls",
    "notice_smtp_ca_file": "smtp_ca_file",
    "cases_smtp_host": "smtp_host",
    "cases_smtp_port": "smtp_port",
}


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
    # accounts hardening (docs/security.md, "Accounts, logins and sessions")
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    token_max_days: int = Field(default=365, ge=1, le=3650)
    reauth_minutes: int = Field(default=10, ge=1, le=24 * 60)
    # Roles that must use two-factor login; by default the administrator and every role that can
    # read reporters' data (``reports.read``); a test keeps this default in step with the table.
    totp_required_roles: Annotated[tuple[str, ...], NoDecode] = Field(
        default=("admin", "analyst", "senior_analyst", "police_liaison")
    )
    # Background jobs (opschub.jobs): no broker means the embedded worker inside `opschub serve`.
    broker_url: str = Field(default="", description="redis:// or amqp:// URL of the job broker")
    redis_url: str = Field(default="", description="Redis for shared rate limits")
    # Installations sharing one broker keep apart by queue name.
    job_queue: str = Field(default="opschub", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    job_threads: int = Field(default=2, ge=1, le=64)
    job_stale_seconds: int = Field(default=60, ge=1, le=24 * 3600)
    job_redeliver_seconds: int = Field(default=600, ge=1, le=7 * 24 * 3600)
    sweep_seconds: float = Field(default=60.0, gt=0, le=3600)
    # Set by `opschub serve` when no broker is configured: the web process runs jobs too.
    run_jobs: bool = False
    task_modules: Annotated[tuple[str, ...], NoDecode] = Field(default=())
    schedules: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=lambda: dict(DEFAULT_SCHEDULES)
    )
    evidence_key_file: Path | None = Field(
        default=None, description="Evidence key-encryption key file (0600); default data_dir/keys"
    )
    evidence_signing_key_file: Path | None = Field(
        default=None, description="Ed25519 key that signs certificates and packages"
    )
    evidence_storage: str = Field(default="local", pattern="^(local|s3)$")
    evidence_s3_endpoint: str = Field(default="", description="S3-compatible endpoint URL")
    evidence_s3_bucket: str = Field(default="", description="bucket for evidence blobs")
    evidence_s3_prefix: str = Field(default="evidence/", description="key prefix in the bucket")
    evidence_four_eyes: bool = Field(
        default=False, description="a second person approves evidence export and destruction"
    )
    # The on-call alert: a signed webhook when an urgent or high report arrives (docs/analysts.md).
    oncall_webhook_url: str = Field(default="", description="https:// URL of the on-call alert")
    oncall_webhook_secret: str = Field(default="", description="HMAC secret shared with it")
    # The installation's outgoing mail server: notices (takedown), referrals (cases), both sent
    # through opschub.mail.
    smtp_host: str = Field(default="", description="outgoing mail server (SMTP relay)")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str = Field(default="")
    smtp_password: str = Field(default="")
    smtp_require_tls: bool = Field(default=False, description="refuse without STARTTLS")
    smtp_ca_file: Path | None = Field(default=None, description="CA for the relay's cert")
    # takedown: the fetcher (docs/takedown.md)
    fetch_allowed_addresses: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), description="Non-public addresses/networks the fetcher may reach (tests)"
    )
    fetch_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    fetch_max_media: int = Field(default=50, ge=0, le=10_000)
    fetch_max_redirects: int = Field(default=10, ge=0, le=50)
    fetch_timeout_seconds: float = Field(default=20.0, gt=0, le=600)
    fetch_total_timeout_seconds: float = Field(default=120.0, gt=0, le=3600)
    fetch_host_interval_seconds: float = Field(default=1.0, ge=0, le=3600)
    # takedown: notices, re-checks until removal, escalation (td-notify; docs/takedown.md)
    notice_sender_org: str = Field(default="opschub hotline", description="who notices are from")
    notice_sender_email: str = Field(default="notices@hotline.example")
    notice_sender_domain: str = Field(default="hotline.example", description="Message-ID domain")
    notice_sender_address: str = Field(default="", description="postal address in the body")
    notice_webhook_secret: str = Field(default="", description="HMAC secret, providers' webhooks")
    notice_police_name: str = Field(default="", description="the police unit told of each target")
    notice_police_channel: str = Field(default="email", pattern="^(email|webhook)$")
    notice_police_address: str = Field(default="", description="its email address or webhook URL")
    notice_police_language: str = Field(default="en", pattern="^(en|zh-Hans)$")
    notice_police_secret: str = Field(default="", description="HMAC secret of its webhook")
    notice_home_country: str = Field(default="", description="ISO 3166 code; abroad = partner")
    notice_resend_hours: float = Field(default=24.0, gt=0, le=24 * 90)
    notice_escalate_hours: float = Field(default=72.0, gt=0, le=24 * 365)
    notice_max_attempts: int = Field(default=8, ge=1, le=50)
    recheck_interval_minutes: float = Field(default=60.0, gt=0, le=7 * 24 * 60)
    recheck_host_interval_seconds: float = Field(default=2.0, ge=0, le=3600)
    # takedown: capture, assessment, classification (docs/takedown.md, "For analysts")
    fetch_max_media_bytes: int = Field(
        default=200 * 1024 * 1024, ge=1024, description="largest medium a capture stores"
    )
    takedown_four_eyes: bool = Field(
        default=True, description="a second analyst confirms an 'illegal' decision"
    )
    takedown_hash_list: str = Field(
        default="takedown-confirmed",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
        description="hash list that confirmed items join",
    )
    takedown_break_after: int = Field(
        default=40, ge=1, le=10_000, description="items revealed in a day before a break reminder"
    )
    # takedown: the lists served to online services (docs/takedown.md, "Lists for online
    # services"). The lists named here drop an entry once its content is gone from every URL
    # that carried it; the others keep it (a hash stays useful after one copy is removed).
    lists_remove_when_gone: Annotated[tuple[str, ...], NoDecode] = Field(default=("urls",))
    # --- cases follow-up (docs/cases.md: referrals, proceedings, limitation, informing) ---
    # offence code -> "none" | "N" | "Ny" | "Ny-offence" (JSON); "*" is the default for others
    cases_limitation_rules: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=lambda: _default_limitation_rules()
    )
    cases_leap_day_birthday: str = Field(default="march_1", pattern="^(march_1|february_28)$")
    cases_limitation_warn_days: int = Field(default=730, ge=1, le=36500)
    # waiting stage -> days before an alarm (JSON)
    cases_stage_targets: Annotated[dict[str, int], NoDecode] = Field(
        default_factory=lambda: _default_stage_targets()
    )
    cases_inform_within_days: int = Field(default=7, ge=0, le=365)
    # Referrals sent by email (through the installation's mail server, smtp_*): the sender.
    cases_mail_from: str = Field(default="", description="sender address of referral emails")

    @model_validator(mode="before")
    @classmethod
    def _deprecated_names(cls, data: Any) -> Any:
        """Read the old names of settings (given as keywords or in the environment) into the
        new ones, with a warning; a new name that is set wins. Two old names that disagree
        about one new setting stop start-up."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        given_by: dict[str, str] = {}
        for old, new in DEPRECATED_SETTINGS.items():
            variable = f"OPSCHUB_{old.upper()}"
            value = data.pop(old, None)
            if value is None:
                value = os.environ.get(variable)
            if value is None:
                continue
            replacement = f"OPSCHUB_{new.upper()}"
            if new in data and new not in given_by:
                warnings.warn(
                    f"{variable} is no longer used and is ignored: {replacement} is set",
                    DeprecatedSetting,
                    stacklevel=2,
                )
                continue
            warnings.warn(
                f"{variable} is deprecated: set {replacement} instead (the installation's "
                "outgoing mail server)",
                DeprecatedSetting,
                stacklevel=2,
            )
            if new in given_by:
                if str(data[new]) != str(value):
                    raise SettingsError(
                        f"{given_by[new]} and {variable} differ: set {replacement} "
                        "(one outgoing mail server) and remove both"
                    )
                continue
            data[new] = value
            given_by[new] = variable
        return data

    # Every list setting is written comma-separated in the environment.
    @field_validator(
        "languages",
        "trusted_proxies",
        "totp_required_roles",
        "task_modules",
        "fetch_allowed_addresses",
        "lists_remove_when_gone",
        mode="before",
    )
    @classmethod
    def _split_lists(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("lists_remove_when_gone")
    @classmethod
    def _served_lists(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in value if name not in ("urls", "hashes")]
        if unknown:
            raise ValueError(f"unknown list {unknown[0]!r}; the served lists are urls, hashes")
        return value

    @field_validator("cases_limitation_rules", "cases_stage_targets", mode="before")
    @classmethod
    def _json_cases_tables(cls, value: object) -> object:
        if isinstance(value, str):
            import json

            try:
                return json.loads(value)
            except ValueError:
                raise ValueError(
                    'must be JSON, e.g. {"grooming": "10y"} or {"charged": 60}'
                ) from None
        return value

    @field_validator("cases_limitation_rules")
    @classmethod
    def _limitation_rules(cls, value: dict[str, str]) -> dict[str, str]:
        from opschub.cases.limitation import check_rules

        check_rules(value)
        return value

    @field_validator("cases_stage_targets")
    @classmethod
    def _stage_targets(cls, value: dict[str, int]) -> dict[str, int]:
        from opschub.cases.stages import check_targets

        return check_targets(value)

    @field_validator("oncall_webhook_url")
    @classmethod
    def _webhook_url(cls, value: str) -> str:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must be an https:// (or, for a test receiver, http://) URL")
        return value

    @field_validator("oncall_webhook_secret", "notice_webhook_secret", "notice_police_secret")
    @classmethod
    def _webhook_secret(cls, value: str) -> str:
        if value and len(value) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    @field_validator("broker_url", "redis_url")
    @classmethod
    def _known_broker(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "amqp://", "amqps://")):
            raise ValueError("must be a redis:// or amqp:// URL")
        return value

    @field_validator("schedules", mode="before")
    @classmethod
    def _json_schedules(cls, value: object) -> object:
        if isinstance(value, str):
            import json

            try:
                return json.loads(value)
            except ValueError:
                raise ValueError(
                    'must be JSON mapping task kinds to cron, e.g. {"jobs.prune": "17 3 * * *"}'
                ) from None
        return value

    @field_validator("schedules")
    @classmethod
    def _cron_expressions(cls, value: dict[str, str]) -> dict[str, str]:
        from croniter import croniter

        for kind, expression in value.items():
            if not croniter.is_valid(expression):
                raise ValueError(f"{kind}: {expression!r} is not a cron expression")
        return value

    @property
    def shared_redis_url(self) -> str:
        """Redis for state shared by web workers: OPSCHUB_REDIS_URL, else a redis broker."""
        if self.redis_url:
            return self.redis_url
        return self.broker_url if self.broker_url.startswith("redis") else ""

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

    @field_validator("trusted_proxies", "fetch_allowed_addresses")
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

    @field_validator("totp_required_roles")
    @classmethod
    def _known_roles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from opschub.accounts.permissions import HUMAN_ROLES

        known = [role.value for role in HUMAN_ROLES]
        unknown = [role for role in value if role not in known]
        if unknown:
            raise ValueError(f"unknown role {unknown[0]!r}; known roles: {', '.join(known)}")
        if "admin" not in value:
            raise ValueError("admin must stay in the list: administrators always use two factors")
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
