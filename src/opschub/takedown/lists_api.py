"""Partner API: the URL block list and the hash list, signed, for online services' own filters.

``GET /api/v1/lists`` lists them; ``GET /api/v1/lists/{name}`` gives the current version (or
``?version=N``) in one of the matching engine's formats (``?format=``), or with ``?since=N`` the
changes since version N (JSON Lines, ``"change": "added"|"removed"``). Every answer carries an
``ETag`` (``If-None-Match`` gives 304 while nothing changed) and its detached signature in the
``X-Opschub-List-Signature`` header (base64 of the signature file); the same file is at
``GET /api/v1/lists/{name}/signature`` with the same query. Saved as ``FILE`` and ``FILE.sig``,
``opschub lists verify FILE --key PUBKEY`` checks both. Token permission: ``lists.read``.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from opschub.takedown import lists_service
from opschub.takedown.lists_models import SERVED_LISTS
from opschub.takedown.signed_lists import ListError, SignedExport
from opschub.web.auth import Principal, requires
from opschub.web.deps import get_db

router = APIRouter(prefix="/api/v1", tags=["lists"])

MEDIA_TYPES = {
    "jsonl": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "tx-csv": "text/csv; charset=utf-8",
    "lines": "text/plain; charset=utf-8",
    "vics": "application/json",
}
SIGNATURE_HEADER = "X-Opschub-List-Signature"
VERSION_HEADER = "X-Opschub-List-Version"


class ErrorBody(BaseModel):
    detail: str


class ListSummary(BaseModel):
    name: str
    kind: str
    version: int
    entries: int
    updated_at: str
    remove_when_gone: bool
    formats: list[str]


class ListIndex(BaseModel):
    lists: list[ListSummary]


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "bad format, version or since"},
    401: {"model": ErrorBody, "description": "missing, unknown, expired or revoked token"},
    403: {"model": ErrorBody, "description": "the token lacks the permission lists.read"},
    404: {"model": ErrorBody, "description": "no such list"},
}

ListName = Annotated[str, Path(max_length=64, description="urls or hashes")]
Format = Annotated[
    str,
    Query(max_length=16, description="jsonl (default), csv, tx-csv, lines, vics (hashes only)"),
]
Since = Annotated[
    int | None, Query(ge=0, description="only the changes since this version (jsonl)")
]
Version = Annotated[int | None, Query(ge=0, description="this version instead of the current")]


@router.get(
    "/lists",
    response_model=ListIndex,
    responses={k: v for k, v in ERRORS.items() if k in (401, 403)},
    summary="The lists served to online services",
)
def lists_index(
    request: Request, principal: Annotated[Principal, requires("lists.read")]
) -> ListIndex:
    """Each list's name, kind, current version, number of entries and export formats."""
    with get_db(request).read() as session:
        found = lists_service.index(session)
    return ListIndex(lists=[ListSummary.model_validate(i.to_json()) for i in found])


def _export(
    request: Request, name: str, format: str, since: int | None, version: int | None
) -> tuple[SignedExport | None, str]:
    """(signed export, ETag); the export is None when the client's copy is current."""
    if name not in SERVED_LISTS:
        raise HTTPException(status_code=404, detail=f"no list named {name!r}")
    with get_db(request).read() as session:
        current = lists_service.info(session, name).version
        target = current if version is None else version
        tag = f'"{name}.v{target}.{format}' + (f".since{since}" if since is not None else "") + '"'
        if target <= current and _matches(request, tag):  # versions never change
            return None, tag
        try:
            export = lists_service.signed(
                session, name, format=format, since=since, version=version
            )
        except ListError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
    return export, tag


def _matches(request: Request, tag: str) -> bool:
    header = request.headers.get("if-none-match", "")
    return any(part.strip().removeprefix("W/") == tag for part in header.split(",")) or (
        header.strip() == "*"
    )


@router.get(
    "/lists/{name}",
    responses={
        **ERRORS,
        200: {"description": "the list, in the format asked for", "content": {}},
        304: {"description": "unchanged since the ETag sent in If-None-Match"},
    },
    response_class=Response,
    summary="A list (current version, a given version, or the changes since a version)",
)
def list_download(
    request: Request,
    name: ListName,
    principal: Annotated[Principal, requires("lists.read")],
    format: Format = "jsonl",
    since: Since = None,
    version: Version = None,
) -> Response:
    """The payload exactly as ``opschub lists verify`` checks it; the signature in a header."""
    export, tag = _export(request, name, format, since, version)
    headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
    if export is None:
        return Response(status_code=304, headers=headers)
    headers[VERSION_HEADER] = str(export.manifest["version"])
    headers[SIGNATURE_HEADER] = base64.b64encode(export.signature_file()).decode()
    return Response(
        export.payload, media_type=MEDIA_TYPES.get(format, "text/plain"), headers=headers
    )


@router.get(
    "/lists/{name}/signature",
    responses={**ERRORS, 200: {"description": "the detached signature file (JSON)"}},
    response_class=Response,
    summary="The detached signature of a list download (save it as FILE.sig)",
)
def list_signature(
    request: Request,
    name: ListName,
    principal: Annotated[Principal, requires("lists.read")],
    format: Format = "jsonl",
    since: Since = None,
    version: Version = None,
) -> Response:
    """Ask with the same query as the download and after it: the signature names the version."""
    export, tag = _export(request, name, format, since, version)
    if export is None:
        return Response(status_code=304, headers={"ETag": tag})
    return Response(export.signature_file(), media_type="application/json")
