"""Tables of the accounts capability. Only :mod:`opschub.accounts.service` writes them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from opschub.accounts.permissions import HUMAN_ROLES, Role
from opschub.config import get_settings
from opschub.crypto import EncryptedText
from opschub.db import Base, IdMixin, TimestampMixin

# Stored as VARCHAR (no native enum): adding a role needs no migration.
RoleColumn = Enum(
    Role,
    native_enum=False,
    create_constraint=False,
    length=32,
    values_callable=lambda roles: [role.value for role in roles],
    validate_strings=True,
)


def totp_required_for(role: Role) -> bool:
    return role.value in get_settings().totp_required_roles


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[Role] = mapped_column(RoleColumn)
    password_hash: Mapped[str] = mapped_column(String(255))
    password_changed_at: Mapped[datetime | None] = mapped_column(default=None)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    # TOTP secrets are encrypted at rest; the pending one is being set up and not yet confirmed.
    totp_secret: Mapped[str | None] = mapped_column(
        EncryptedText("users.totp_secret"), default=None
    )
    totp_pending_secret: Mapped[str | None] = mapped_column(
        EncryptedText("users.totp_pending_secret"), default=None
    )
    # Last accepted TOTP time step: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(Integer, default=None)
    # Set when someone else reset this person's password or second factor: they are told who and
    # when at their next login, and must acknowledge it (cleared then).
    reset_notice_by: Mapped[str | None] = mapped_column(String(200), default=None)
    reset_notice_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def totp_enabled(self) -> bool:
        return self.totp_secret is not None

    @property
    def totp_required(self) -> bool:
        """Two-factor login is mandatory for this role (``OPSCHUB_TOTP_REQUIRED_ROLES``)."""
        return totp_required_for(self.role)

    @property
    def is_human_role(self) -> bool:
        return self.role in HUMAN_ROLES


class UserSession(IdMixin, TimestampMixin, Base):
    """A login. The cookie holds a random value; only its SHA-256 is stored."""

    __tablename__ = "user_sessions"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    totp_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    # Idle timeout: written at most once a minute (see service.note_session_use).
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    # When the password was last entered in this session (login or re-authentication): sensitive
    # changes need it to be recent ("sudo mode").
    authenticated_at: Mapped[datetime | None] = mapped_column(default=None)


class ApiToken(IdMixin, TimestampMixin, Base):
    """A machine client's credential ``opschub_<id>_<secret>``; only its SHA-256 is kept."""

    __tablename__ = "api_tokens"

    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(RoleColumn)
    permissions: Mapped[list[str]] = mapped_column(JSON)
    created_by_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def is_partner(self) -> bool:
        return self.role is Role.PARTNER
