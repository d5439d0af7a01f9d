"""JSON API ``/api/v1/stats/submissions``: the counterpart of ``opschub stats import`` and
``opschub stats submissions``, for a ministry's system sending its regions' figures.

``POST /api/v1/stats/submissions?format=csv|xlsx|dhis2&file_name=NAME`` takes the file itself as
the body (a filled-in regional template as CSV or XLSX, or a DHIS2 ``dataValueSets`` document;
without ``format`` the Content-Type says which). All or nothing: 201 with the submissions made
(each waits for approval), or 422 ``{"errors": [...]}`` naming every problem's file, row and
column in the caller's language (``Accept-Language``), nothing stored. ``GET`` lists the
submissions, newest first. Permission: ``stats.publish``, as for the staff upload page.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from opschub.stats import service
from opschub.web.auth import Principal, requires
from opschub.web.deps import get_db
from opschub.web.middleware import BodyLimit

router = APIRouter(prefix="/api/v1", tags=["stats"])

MAX_BODY_BYTES = 10 * 1024 * 1024
BODY_LIMITS = {"/api/v1/stats/submissions": BodyLimit(MAX_BODY_BYTES)}
CONTENT_FORMATS = {
    "text/csv": "csv",
    "application/json": "dhis2",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}


class SubmissionOut(BaseModel):
    id: str
    org_unit: str
    period: str
    version: int
    status: str
    figures: int


class SubmissionList(BaseModel):
    submissions: list[SubmissionOut]


class ImportErrors(BaseModel):
    errors: list[str]


def _out(view: service.SubmissionView) -> dict[str, Any]:
    return {
        "id": view.id,
        "org_unit": view.org_unit_code,
        "period": view.period,
        "version": view.version,
        "status": view.status,
        "figures": view.figures,
    }


REQUEST_BODY = {
    "required": True,
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/json": {"schema": {"type": "object"}},
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
            "schema": {"type": "string", "format": "binary"}
        },
    },
}


@router.post(
    "/stats/submissions",
    status_code=201,
    response_model=SubmissionList,
    responses={422: {"model": ImportErrors, "description": "every problem named; nothing stored"}},
    openapi_extra={"requestBody": REQUEST_BODY},
)
async def import_submissions(
    request: Request,
    principal: Annotated[Principal, requires("stats.publish")],
    format: Annotated[Literal["csv", "xlsx", "dhis2"] | None, Query()] = None,
    file_name: Annotated[str, Query(min_length=1, max_length=200)] = "api-upload",
) -> JSONResponse:
    gettext = request.state.gettext
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt = format or CONTENT_FORMATS.get(content_type)
    if fmt is None:
        message = gettext("Say the file's format: ?format=csv, xlsx or dhis2, or its Content-Type.")
        return JSONResponse({"errors": [message]}, status_code=422)
    data = await request.body()
    try:
        with get_db(request).transaction() as session:
            created = service.import_figures(session, principal, data, file_name, fmt)
    except service.ImportInvalid as exc:
        with get_db(request).transaction() as session:
            service.record_refused(session, principal, file_name, fmt, len(exc.errors))
        return JSONResponse({"errors": [e.render(gettext) for e in exc.errors]}, status_code=422)
    return JSONResponse({"submissions": [_out(v) for v in created]}, status_code=201)


@router.get("/stats/submissions", response_model=SubmissionList)
def list_submissions(
    request: Request,
    principal: Annotated[Principal, requires("stats.publish")],
    status: Annotated[
        Literal["pending", "approved", "rejected", "superseded"] | None, Query()
    ] = None,
) -> dict[str, Any]:
    with get_db(request).read() as session:
        rows = service.submissions(session, status=status)
    return {"submissions": [_out(v) for v in rows]}
