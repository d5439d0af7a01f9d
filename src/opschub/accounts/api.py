"""JSON API of the accounts capability."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from opschub.accounts.permissions import AUTHENTICATED
from opschub.web.auth import Principal, requires

router = APIRouter(prefix="/api/v1", tags=["accounts"])


class Me(BaseModel):
    """Who the caller is and what they may do."""

    kind: str = Field(description="'user' for a person, 'token' for an API token")
    id: str
    name: str = Field(description="username, or the token's name")
    role: str
    permissions: list[str] = Field(description="named permissions, sorted")
    language: str | None = Field(default=None, description="preferred language of a person")


@router.get("/me", response_model=Me)
def me(principal: Annotated[Principal, requires(AUTHENTICATED)]) -> Me:
    """The caller: a logged-in person or the API token in ``Authorization: Bearer``."""
    return Me(
        kind=principal.kind,
        id=principal.id,
        name=principal.name,
        role=principal.role.value,
        permissions=sorted(principal.permissions),
        language=principal.language,
    )
