"""JSON API ``/api/v1/cases``: the same rules as the pages (scopes, restricted cases, the
protected track), for police and court systems with API tokens (``cases.read`` /
``cases.manage``).

Errors: 422 ``{"errors": [{"field", "message"}]}`` naming every bad field, 403 ``{"error"}`` for
a refused rule, 404 for a case the caller may not see (the same as one that does not exist),
409 ``{"error", "version", "changed"}`` for a stale edit (nothing saved).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from opschub.cases import export, service
from opschub.web.auth import Principal, requires
from opschub.web.deps import DbSession

router = APIRouter(prefix="/api/v1", tags=["cases"])


class FormIn(BaseModel):
    form: str
    participation: str = "committed"


class CaseBody(BaseModel):
    title: str = Field(max_length=1000)
    org_unit: str = Field(description="organisation unit code, e.g. XA-01-02")
    setting: str | None = None
    priority: str = "normal"
    status: str = "open"
    team: str | None = None
    restricted: bool = False
    forms: list[FormIn] = Field(default_factory=list, max_length=20)
    report_ids: list[str] = Field(default_factory=list, max_length=100)


class CasePatch(BaseModel):
    version: int = Field(description="the version the change is based on (optimistic locking)")
    changes: dict[str, Any]
    seen: dict[str, Any] | None = Field(
        default=None, description="the values the editor was shown, to say what changed since"
    )


class PersonBody(BaseModel):
    role: str
    alias: str | None = None
    real_name: str | None = None
    sex: str = "unknown"
    birth_date: date | None = None
    birth_month: str | None = None
    estimated_age: int | None = None
    nationality: str | None = None
    residence: str | None = None
    vulnerabilities: list[str] = Field(default_factory=list, max_length=20)
    offender_category: str | None = None
    victim_person_id: str | None = None
    reason: str | None = None
    acts: list[str] = Field(default_factory=list, max_length=20)


class PersonPatch(BaseModel):
    version: int = Field(description="the version the change is based on (optimistic locking)")
    changes: dict[str, Any] = Field(
        description="alias, sex, birth_date (YYYY-MM-DD), birth_month (YYYY-MM), estimated_age, "
        "nationality, residence, vulnerabilities; real_name with cases.identify (null removes "
        "it). Giving one of the birth fields replaces the other two."
    )
    seen: dict[str, Any] | None = Field(
        default=None, description="the values the editor was shown, to say what changed since"
    )


class LinkBody(BaseModel):
    report_id: str | None = None
    evidence_item_id: str | None = None
    case_id: str | None = None


def _errors(exc: service.CaseInvalid) -> JSONResponse:
    return JSONResponse({"errors": [e.to_json() for e in exc.errors]}, status_code=422)


def _failure(exc: service.CasesError) -> JSONResponse:
    if isinstance(exc, service.CaseInvalid):
        return _errors(exc)
    if isinstance(exc, service.NotFound):
        return JSONResponse({"error": "no such case, person or relationship"}, status_code=404)
    if isinstance(exc, service.StaleEdit):
        return JSONResponse(
            {
                "error": str(exc),
                "version": exc.current_version,
                "changed": jsonable_encoder(exc.changed),
            },
            status_code=409,
        )
    if isinstance(exc, service.Refused):
        return JSONResponse({"error": exc.text()}, status_code=403)
    return JSONResponse({"error": str(exc)}, status_code=400)


def _row(row: service.CaseRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "reference": row.reference,
        "title": row.title,
        "status": row.status,
        "priority": row.priority,
        "setting": row.setting,
        "org_unit": row.org_unit_code,
        "opened_at": row.opened_at.isoformat(),
        "restricted": row.restricted,
    }


@router.get("/cases")
def list_cases(
    principal: Annotated[Principal, requires("cases.read")],
    session: DbSession,
    status: str | None = None,
    org_unit: str | None = None,
    form: str | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    before: Annotated[
        str | None, Query(description="the 'next' value of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = service.PAGE_SIZE,
) -> JSONResponse:
    """The cases the caller may see, newest first, a page at a time."""
    cursor = None
    if before:
        at, _, last_id = before.partition("_")
        try:
            cursor = (datetime.fromisoformat(at), last_id)
        except ValueError:
            return JSONResponse(
                {"errors": [{"field": "before", "message": "not a page cursor"}]}, status_code=422
            )
    rows = service.list_cases(
        session,
        principal,
        service.CaseFilter(status=status, org_unit=org_unit, form=form, text=q),
        before=cursor,
        limit=limit,
    )
    following = f"{rows[-1].opened_at.isoformat()}_{rows[-1].id}" if len(rows) == limit else None
    return JSONResponse({"cases": [_row(r) for r in rows], "next": following})


@router.post("/cases", status_code=201)
def open_case(
    body: CaseBody, principal: Annotated[Principal, requires("cases.manage")], session: DbSession
) -> JSONResponse:
    """Open a case, from reports (``report_ids``) or directly."""
    data = service.CaseIn(
        title=body.title,
        org_unit=body.org_unit,
        setting=body.setting,
        priority=body.priority,
        status=body.status,
        team=body.team,
        restricted=body.restricted,
        forms=[(f.form, f.participation) for f in body.forms],
        report_ids=body.report_ids,
    )
    try:
        case = service.open_case(session, principal, data)
    except service.CasesError as exc:
        return _failure(exc)
    return JSONResponse(
        {"id": case.id, "reference": case.reference, "version": case.version_id}, status_code=201
    )


@router.get("/cases/{case_id}")
def get_case(
    case_id: str, principal: Annotated[Principal, requires("cases.read")], session: DbSession
) -> JSONResponse:
    """A case as the caller may see it (no real names; protected-track people only with
    ``cases.protected``)."""
    try:
        view = service.get_case(session, principal, case_id)
    except service.CasesError as exc:
        return _failure(exc)
    return JSONResponse(export.case_json(view))


@router.patch("/cases/{case_id}")
def update_case(
    case_id: str,
    body: CasePatch,
    principal: Annotated[Principal, requires("cases.manage")],
    session: DbSession,
) -> JSONResponse:
    """Change fields of a case; a stale ``version`` is refused (409) with what changed."""
    try:
        case = service.update_case(
            session, principal, case_id, version=body.version, changes=body.changes, seen=body.seen
        )
    except service.CasesError as exc:
        return _failure(exc)
    return JSONResponse({"id": case.id, "version": case.version_id})


@router.post("/cases/{case_id}/people", status_code=201)
def add_person(
    case_id: str,
    body: PersonBody,
    principal: Annotated[Principal, requires("cases.manage")],
    session: DbSession,
) -> JSONResponse:
    """Add a victim, suspect, guardian or witness under a pseudonymous alias."""
    try:
        with session.begin_nested():
            person = service.add_person(
                session, principal, case_id, service.PersonIn(**body.model_dump())
            )
    except service.CasesError as exc:
        if isinstance(exc, service.SelfImagesRefused):
            # The attempt is rolled back; the refusal itself is kept on record.
            service.record_self_images_refusal(session, principal, exc)
        return _failure(exc)
    body_out: dict[str, Any] = {"id": person.id, "alias": person.alias}
    if person.suspect_confirmation:
        body_out["suspect_confirmation"] = person.suspect_confirmation
    return JSONResponse(body_out, status_code=201)


def _dates(values: dict[str, Any]) -> dict[str, Any]:
    """``birth_date`` as a date when it reads as one (otherwise the service names the field)."""
    found = values.get("birth_date")
    if isinstance(found, str):
        try:
            return {**values, "birth_date": date.fromisoformat(found) if found else None}
        except ValueError:
            pass
    return values


@router.patch("/cases/{case_id}/people/{person_id}")
def update_person(
    case_id: str,
    person_id: str,
    body: PersonPatch,
    principal: Annotated[Principal, requires("cases.manage")],
    session: DbSession,
) -> JSONResponse:
    """Correct a person; a corrected birth moves the limitation deadlines of offences against
    them. A stale ``version`` is refused (409) with what changed."""
    try:
        with session.begin_nested():
            person = service.update_person(
                session,
                principal,
                person_id,
                version=body.version,
                changes=_dates(body.changes),
                case_id=case_id,
                seen=_dates(body.seen) if body.seen is not None else None,
            )
    except service.CasesError as exc:
        return _failure(exc)
    return JSONResponse(
        {
            "id": person.id,
            "alias": person.alias,
            "version": person.version_id,
            "age_at_opening": person.age_at_opening,
            "protected_track": person.protected_track,
        }
    )


class RelationshipBody(BaseModel):
    other_person_id: str = Field(description="another person of the same case")
    relationship: str = Field(
        description="family, position_of_trust, acquaintance, online_contact, stranger or unknown"
    )


class RelationshipPatch(BaseModel):
    relationship: str = Field(description="the new kind of the relationship")


def _relationship(view: service.RelationshipView) -> dict[str, Any]:
    return {
        "id": view.id,
        "other_person_id": view.other_person_id,
        "other_alias": view.other_alias,
        "other_role": view.other_role,
        "relationship": view.relationship,
        "outgoing": view.outgoing,
    }


def _relationships(
    session: DbSession, principal: Principal, case_id: str, person_id: str
) -> JSONResponse:
    views = service.person_relationships(session, principal, case_id, person_id)
    return JSONResponse({"relationships": [_relationship(v) for v in views]})


@router.get("/cases/{case_id}/people/{person_id}/relationships")
def list_relationships(
    case_id: str,
    person_id: str,
    principal: Annotated[Principal, requires("cases.manage")],
    session: DbSession,
) -> JSONResponse:
    """A person's relationships, in either direction, by the other person's alias (never a real
    name; a protected-track person only with ``cases.protected``)."""
    try:
        return _relationships(session, principal, case_id, person_id)
    except service.CasesError as exc:
        return _failure(exc)


@router.post("/cases/{case_id}/people/{person_id}/relationships", status_code=201)
def add_relationship(
    case_id: str,
    person_id: str,
    body: RelationshipBody,
    principal: Annotated[Principal, requires("cases.manage")],
    session: DbSession,
) -> JSONResponse:
    """Relate the person to another person of the case (one relationship per pair: a second
    one is refused, 422, naming ``other_person_id``)."""
    try:
        with session.begin_nested():
            service.person_relationships(session, principal, case_id, person_id)
            row = service.add_relationship(
                session, principal, case_id, person_id, body.other_person_id, body.relationship
            )
    except service.CasesError as exc:
        return _failure(exc)
    return JSONResponse(
        {
            "id": row.id,
            "person_id": row.person_id,
            "other_person_id": row.other_person_id,
            "relationship": row.relationship,
        },
        status_code=201,
    )


@router.patch("/cases/{case_id}/people/{person_id}/relationships/{relationship_id}")
def change_relationship(
    case_id: str,
    person_id: str,
    relationship_id: str,
    body: RelationshipPatch,
    principal: Annotated[Principal, requires("cases.manage")],
    session: DbSession,
) -> JSONResponse:
    """Change the kind of one of the person's relationships."""
    try:
        with session.begin_nested():
            row = service.change_relationship(
                session, principal, case_id, person_id, relationship_id, body.relationship
            )
    except service.CasesError as exc:
        return _failure(exc)
    return JSONResponse({"id": row.id, "relationship": row.relationship})


@router.delete("/cases/{case_id}/people/{person_id}/relationships/{relationship_id}")
def remove_relationship(
    case_id: str,
    person_id: str,
    relationship_id: str,
    principal: Annotated[Principal, requires("cases.manage")],
    session: DbSession,
) -> JSONResponse:
    """Remove one of the person's relationships."""
    try:
        with session.begin_nested():
            service.remove_relationship(session, principal, case_id, person_id, relationship_id)
    except service.CasesError as exc:
        return _failure(exc)
    return JSONResponse({"ok": True})


@router.post("/cases/{case_id}/links")
def add_link(
    case_id: str,
    body: LinkBody,
    principal: Annotated[Principal, requires("cases.manage")],
    session: DbSession,
) -> JSONResponse:
    """Link a report, an evidence item (a reference, never the material) or another case."""
    try:
        if body.report_id:
            service.link_report(session, principal, case_id, body.report_id)
        if body.evidence_item_id:
            service.link_evidence(session, principal, case_id, body.evidence_item_id)
        if body.case_id:
            service.link_cases(session, principal, case_id, body.case_id)
    except service.CasesError as exc:
        return _failure(exc)
    return JSONResponse({"ok": True})


@router.post("/cases/people/{person_id}/real-name")
def read_real_name(
    person_id: str,
    principal: Annotated[Principal, requires("cases.identify")],
    session: DbSession,
) -> JSONResponse:
    """A person's real name (a POST: every read is recorded in the audit log)."""
    try:
        name = service.read_real_name(session, principal, person_id)
    except service.CasesError as exc:
        return _failure(exc)
    return JSONResponse({"real_name": name})


@router.get("/cases/{case_id}/export.json")
def export_json(
    case_id: str, principal: Annotated[Principal, requires("cases.read")], session: DbSession
) -> JSONResponse:
    """The case file for a court or a transfer: evidence references, never material; no child
    suspect (the protected track is never exported)."""
    try:
        document = export.export_document(session, principal, case_id)
    except service.CasesError as exc:
        return _failure(exc)
    return JSONResponse(
        document,
        headers={
            "Content-Disposition": f'attachment; filename="{document["case"]["reference"]}.json"'
        },
    )
