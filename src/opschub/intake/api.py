"""Partner API: online services and other hotlines submit reports in batches.

``POST /api/v1/reports`` (token with ``reports.submit``) takes up to 1,000 reports, stores them
in one transaction and answers 202 with their ids; ``GET /api/v1/reports/{id}`` gives a report's
status. The request body is limited in bytes before it is parsed, and deep nesting is refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
from collections.abc import Callable, Coroutine, Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from opschub import taxonomy
from opschub.accounts.permissions import AUTHENTICATED
from opschub.db import Database
from opschub.ids import is_id
from opschub.intake import service
from opschub.intake.models import STATED_AGE_BANDS, Report
from opschub.intake.ratelimit import Limiter, make_rate_limiter, retry_after_header
from opschub.intake.urls import UrlError, normalise_url
from opschub.web.auth import Principal, requires
from opschub.web.deps import get_db

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_REPORTS = 1000
MAX_ERRORS = 100
# Per token: a burst of this many reports, refilled at this rate (reports per second).
API_BURST = 20_000
API_RATE = 2_000.0


# -- size and shape limits, before FastAPI parses the body --------------------------------------


def _too_large() -> JSONResponse:
    return JSONResponse(
        {"detail": f"request body is larger than {MAX_BODY_BYTES} bytes"}, status_code=413
    )


def _bad_json(message: str) -> JSONResponse:
    return JSONResponse(
        {"detail": "invalid request", "errors": [{"field": "/", "message": message}]},
        status_code=400,
    )


def _pointer_token(part: object) -> object:
    """Escape a key for a JSON pointer (RFC 6901), e.g. an unknown field named "a/b"."""
    return part.replace("~", "~0").replace("/", "~1") if isinstance(part, str) else part


class LimitedBodyRoute(APIRoute):
    """Reads at most MAX_BODY_BYTES (by Content-Length and as streamed), parses the JSON once,
    refuses nesting too deep for the parser and caps the list of field errors."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            if request.method in ("POST", "PUT", "PATCH"):
                declared = request.headers.get("content-length")
                try:
                    if declared is not None and int(declared) > MAX_BODY_BYTES:
                        return _too_large()
                except ValueError:
                    return JSONResponse({"detail": "bad Content-Length"}, status_code=400)
                body = bytearray()
                async for chunk in request.stream():
                    body.extend(chunk)
                    if len(body) > MAX_BODY_BYTES:
                        return _too_large()
                request._body = bytes(body)
                if body and "json" in request.headers.get("content-type", ""):
                    try:
                        request._json = json.loads(body)
                    except RecursionError:
                        return _bad_json("JSON nested too deeply")
                    except (ValueError, UnicodeDecodeError) as exc:
                        return _bad_json(f"not valid JSON: {exc}")
                    reports = (
                        request._json.get("reports") if isinstance(request._json, dict) else None
                    )
                    if isinstance(reports, list) and len(reports) > MAX_REPORTS:
                        return JSONResponse(
                            {
                                "detail": "invalid request",
                                "errors": [
                                    {
                                        "field": "/reports",
                                        "message": f"at most {MAX_REPORTS} reports per request",
                                    }
                                ],
                            },
                            status_code=400,
                        )
            try:
                return await handler(request)
            except RequestValidationError as exc:
                errors = [
                    {
                        **e,
                        "loc": tuple(_pointer_token(part) for part in e.get("loc", ())),
                        "msg": str(e.get("msg", "")).removeprefix("Value error, "),
                    }
                    for e in list(exc.errors())[:MAX_ERRORS]
                ]
                raise RequestValidationError(errors) from None

        return limited


router = APIRouter(prefix="/api/v1", tags=["reports"], route_class=LimitedBodyRoute)


# -- request and response bodies ---------------------------------------------------------------


def _check_url(value: str) -> str:
    try:
        normalise_url(value)
    except UrlError as exc:
        raise ValueError(exc.reason) from None
    return value


def _check_incident_type(value: str) -> str:
    if value not in service.INCIDENT_TYPES:
        raise ValueError(f"unknown incident type; known: {', '.join(service.INCIDENT_TYPES)}")
    return value


IncidentType = Annotated[
    str,
    Field(json_schema_extra={"enum": list(service.INCIDENT_TYPES)}, max_length=64),
    AfterValidator(_check_incident_type),
]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        # PostgreSQL cannot store NUL in text: refuse it here, naming the field, not with a 500.
        raise ValueError("contains a NUL character")
    return value


PlainText = Annotated[str, AfterValidator(_no_nul)]
UrlText = Annotated[
    str,
    Field(min_length=1, max_length=2048, examples=["https://example.org/page"]),
    AfterValidator(_check_url),
]


class FingerprintBody(BaseModel):
    """One hash of a file. ``quality`` (0-100) is for PDQ; PDQ hashes of quality < 50 are
    stored but not matched."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["sha256", "md5", "sha1", "pdq"]
    value: str = Field(pattern=r"^[0-9a-fA-F]{32,64}$", description="lower- or upper-case hex")
    quality: int | None = Field(default=None, ge=0, le=100)

    @model_validator(mode="after")
    def _length(self) -> FingerprintBody:
        try:
            service.validate_fingerprint(service.FingerprintIn(self.type, self.value, self.quality))
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        return self


class ReportBody(BaseModel):
    """One report: at least one URL or fingerprint."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "anyOf": [
                {"required": ["urls"], "properties": {"urls": {"minItems": 1}}},
                {"required": ["fingerprints"], "properties": {"fingerprints": {"minItems": 1}}},
            ]
        },
    )

    incident_types: list[IncidentType] = Field(
        min_length=1, max_length=service.MAX_INCIDENT_TYPES, description="taxonomy codes"
    )
    urls: list[UrlText] = Field(default_factory=list, max_length=service.MAX_URLS)
    fingerprints: list[FingerprintBody] = Field(
        default_factory=list, max_length=service.MAX_FINGERPRINTS
    )
    incident_time: datetime | None = Field(
        default=None,
        description="when it happened or was seen (RFC 3339, with time zone; stored in UTC; "
        "from 1970-01-01 to a day after now)",
    )
    org_reference: PlainText | None = Field(
        default=None, max_length=service.MAX_REFERENCE, description="your own reference"
    )
    setting: Literal["online", "offline", "both"] | None = None
    description: PlainText | None = Field(default=None, max_length=service.MAX_DESCRIPTION)
    stated_age_band: Literal["0-9", "10-12", "13-14", "15-17"] | None = None

    @model_validator(mode="after")
    def _something_to_act_on(self) -> ReportBody:
        if not self.urls and not self.fingerprints:
            raise ValueError("give at least one URL or fingerprint")
        return self

    @field_validator("incident_time")
    @classmethod
    def _plausible_time(cls, value: datetime | None) -> datetime | None:
        return None if value is None else service.incident_time_utc(value)


class ReportBatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "reports": [
                        {
                            "incident_types": ["csam"],
                            "urls": ["https://example.org/gallery/123"],
                            "fingerprints": [
                                {"type": "pdq", "value": "f" * 64, "quality": 90},
                                {"type": "sha256", "value": "0" * 64},
                            ],
                            "incident_time": "2026-01-31T12:00:00Z",
                            "org_reference": "ticket-4711",
                        }
                    ]
                }
            ]
        },
    )

    reports: list[ReportBody] = Field(min_length=1, max_length=MAX_REPORTS)


class Accepted(BaseModel):
    received: int
    ids: list[str]


class ReportStatus(BaseModel):
    id: str
    status: Literal[
        "received",
        "assessing",
        "action_taken",
        "not_illegal",
        "duplicate",
        "out_of_jurisdiction",
        "closed",
    ]
    received_at: datetime
    status_changed_at: datetime
    org_reference: str | None


class ErrorItem(BaseModel):
    field: str = Field(description="JSON pointer into the request body, e.g. /reports/3/urls/0")
    message: str


class ErrorBody(BaseModel):
    detail: str
    errors: list[ErrorItem] | None = None


assert set(STATED_AGE_BANDS) == {"0-9", "10-12", "13-14", "15-17"}
assert {c.code for c in taxonomy.SETTING} == {"online", "offline", "both"}

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "invalid request; each bad field named"},
    401: {"model": ErrorBody, "description": "missing, unknown, expired or revoked token"},
    403: {"model": ErrorBody, "description": "the token lacks the permission"},
}


# -- routes ------------------------------------------------------------------------------------


def _limiter(request: Request) -> Limiter:
    state = request.app.state
    limiter: Limiter | None = getattr(state, "intake_api_limiter", None)
    if limiter is None:
        # Shared by every web worker through Redis when it is configured.
        limiter = state.intake_api_limiter = make_rate_limiter(
            API_BURST, API_RATE, name="intake.api", settings=state.settings
        )
    return limiter


def _body_hash(batch: ReportBatch) -> str:
    canonical = json.dumps(batch.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _to_input(body: ReportBody) -> service.ReportIn:
    return service.ReportIn(
        channel="partner",
        incident_types=body.incident_types,
        urls=body.urls,
        fingerprints=[service.FingerprintIn(f.type, f.value, f.quality) for f in body.fingerprints],
        setting=body.setting,
        description=body.description,
        stated_age_band=body.stated_age_band,
        incident_at=body.incident_time,
        partner_reference=body.org_reference,
    )


def _replay(record: Any, body_hash: str) -> JSONResponse:
    if record.body_hash != body_hash:
        raise HTTPException(
            status_code=409,
            detail="Idempotency-Key was already used with a different request body",
        )
    return JSONResponse(
        record.response, status_code=record.status_code, headers={"Idempotent-Replayed": "true"}
    )


@router.post(
    "/reports",
    status_code=202,
    response_model=Accepted,
    responses={
        **ERRORS,
        409: {"model": ErrorBody, "description": "Idempotency-Key reused with another body"},
        503: {"model": ErrorBody, "description": "database busy; retry (see Retry-After)"},
        413: {"model": ErrorBody, "description": f"body larger than {MAX_BODY_BYTES} bytes"},
        429: {"model": ErrorBody, "description": "too many reports; see Retry-After"},
    },
    summary="Submit up to 1,000 reports",
)
def submit_reports(
    request: Request,
    batch: ReportBatch,
    principal: Annotated[Principal, requires("reports.submit")],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=200,
            description="Repeat a request safely: the same key and body give the same answer.",
        ),
    ] = None,
) -> JSONResponse:
    """Store the reports in one transaction (all or none) and match them on arrival."""
    wait = _limiter(request).hit(f"token:{principal.id}", cost=len(batch.reports))
    if wait is not None:
        raise HTTPException(
            status_code=429,
            detail="too many reports from this token; retry later",
            headers={"Retry-After": retry_after_header(wait)},
        )
    body_hash = _body_hash(batch)
    database = get_db(request)
    inputs = [_to_input(r) for r in batch.reports]
    try:
        # Validation and matching (the slow part) before the write lock is taken.
        prepared = service.prepare_reports(inputs)
    except service.IntakeInvalid as exc:
        errors = [{"field": e.field or "/", "message": e.message} for e in exc.errors]
        return JSONResponse(
            {"detail": "invalid request", "errors": errors[:MAX_ERRORS]}, status_code=400
        )
    try:
        with _writer(database):
            return _store(database, principal, prepared, idempotency_key, body_hash)
    except IntegrityError:
        # The same key committed concurrently by another request: answer as it did.
        if idempotency_key is None:
            raise
        with database.transaction() as session:
            earlier = service.find_idempotent(session, principal.id, idempotency_key)
            if earlier is None:
                raise
            return _replay(earlier, body_hash)
    except OperationalError as exc:
        # SQLite busy beyond its timeout, or the database unreachable: nothing was stored.
        log.warning("partner reports not stored, database unavailable: %s", type(exc).__name__)
        raise HTTPException(
            status_code=503,
            detail="database busy; nothing was stored, retry with the same Idempotency-Key",
            headers={"Retry-After": "1"},
        ) from None


_sqlite_writer = threading.Lock()


@contextlib.contextmanager
def _writer(database: Database) -> Iterator[None]:
    """SQLite has one writer at a time: this worker's threads queue here, in order, instead of
    polling the file lock (whose back-off wastes time and times out under load)."""
    if database.engine.dialect.name != "sqlite":
        yield
        return
    with _sqlite_writer:
        yield


def _store(
    database: Database,
    principal: Principal,
    prepared: service.Prepared,
    idempotency_key: str | None,
    body_hash: str,
) -> JSONResponse:
    with database.transaction() as session:
        if idempotency_key is not None:
            earlier = service.find_idempotent(session, principal.id, idempotency_key)
            if earlier is not None:
                return _replay(earlier, body_hash)
        submitted = service.store_prepared(session, prepared, actor=principal)
        body = {"received": len(submitted), "ids": [s.id for s in submitted]}
        if idempotency_key is not None:
            service.save_idempotent(session, principal.id, idempotency_key, body_hash, 202, body)
    # Committed (durably: SQLite synchronous=FULL, PostgreSQL fsync) before the 202 is sent.
    return JSONResponse(body, status_code=202)


@router.get(
    "/reports/{report_id}",
    response_model=ReportStatus,
    responses={**ERRORS, 404: {"model": ErrorBody, "description": "no such report"}},
    summary="Status of a report",
)
def report_status(
    request: Request,
    report_id: Annotated[str, Path(max_length=64)],
    principal: Annotated[Principal, requires(AUTHENTICATED)],
) -> ReportStatus:
    """The submitting token sees its own reports; holders of ``reports.read`` see any."""
    # One permission per route is the frame's rule; callers with neither reports.read nor
    # reports.submit simply see no reports (404), like a token asking for another's report.
    if not is_id(report_id):  # e.g. a NUL character, which PostgreSQL refuses with an error
        raise HTTPException(status_code=404, detail="no such report")
    with get_db(request).read() as session:
        # Only the columns answered: a column this answer does not need (say, an incident time
        # stored by an older version that the driver cannot read) cannot break it.
        report = session.execute(
            select(
                Report.id,
                Report.status,
                Report.created_at,
                Report.status_changed_at,
                Report.partner_reference,
                Report.partner_token_id,
            ).where(Report.id == report_id)
        ).one_or_none()
        visible = report is not None and (
            principal.can("reports.read") or report.partner_token_id == principal.id
        )
        if report is None or not visible:
            raise HTTPException(status_code=404, detail="no such report")
        return ReportStatus(
            id=report.id,
            status=report.status,
            received_at=report.created_at,
            status_changed_at=report.status_changed_at,
            org_reference=report.partner_reference,
        )
