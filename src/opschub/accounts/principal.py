"""Who is acting: a person (by their session) or a machine client (by its API token).

Lives in ``accounts`` (not ``web``) so that services can take a principal without importing the
web layer; audit only needs the structural :class:`opschub.audit.service.Actor`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opschub.accounts.permissions import AUTHENTICATED, PUBLIC, Role


@dataclass(frozen=True)
class Principal:
    kind: str  # "user" or "token"
    id: str
    name: str
    role: Role
    permissions: frozenset[str]
    session_id: str | None = None
    csrf_token: str | None = None
    must_change_password: bool = False
    totp_pending: bool = False
    language: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def can(self, permission: str) -> bool:
        if permission in (PUBLIC, AUTHENTICATED):
            return True
        return permission in self.permissions
