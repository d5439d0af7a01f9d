"""Case pages: the list (filters), opening a case, the case page (people, forms, links, edit with
optimistic locking), the case file as PDF, and the administrator's page of regions and scopes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opschub import taxonomy
from opschub.cases import export, service
from opschub.cases.models import PRIORITIES, ROLES, SCOPES, STATUSES, VULNERABILITIES
from opschub.orgunits import service as orgunits
from opschub.text import N_
from opschub.web.auth import Principal, requires
from opschub.web.deps import DbSession
from opschub.web.nav import NavItem
from opschub.web.templating import link, render

router = APIRouter(include_in_schema=False)

NAV = [
    NavItem("Cases", "/cases", "cases.read", order=70),
    NavItem("Regions and case scopes", "/admin/orgunits", "users.manage", order=95),
]
FormText = Annotated[str, Form()]
NO_STORE = {"Cache-Control": "no-store"}


def _choices() -> dict[str, Any]:
    return {
        "statuses": STATUSES,
        "priorities": PRIORITIES,
        "roles": ROLES,
        "vulnerabilities": VULNERABILITIES,
        "scopes": SCOPES,
        "settings": taxonomy.SETTING.values,
        "forms": taxonomy.FORM_OF_EXPLOITATION.values,
        "participations": taxonomy.PARTICIPATION.values,
        "sexes": taxonomy.SEX.values,
        "offender_categories": taxonomy.OFFENDER_CATEGORY.values,
        "relationships": taxonomy.RELATIONSHIP.values,
    }


def _units(session: DbSession, lang: str) -> list[tuple[str, str]]:
    return [
        (
            u.code,
            ("\u3000" * (u.level - 1) if lang.startswith("zh") else "\u00a0\u00a0" * (u.level - 1))
            + u.name(lang),
        )
        for u in orgunits.units(session)
        if u.active
    ]


def _unit_names(session: DbSession, lang: str) -> dict[str, str]:
    return {u.code: u.name(lang) for u in orgunits.units(session)}


def _errors(request: Request, errors: list[service.FieldError]) -> dict[str, str]:
    gettext = request.state.gettext
    return {e.field: e.text(gettext) for e in errors}


@router.get("/cases", response_class=HTMLResponse)
def case_list(
    request: Request,
    principal: Annotated[Principal, requires("cases.read")],
    session: DbSession,
    status: str = "",
    org_unit: str = "",
    form: str = "",
    q: str = "",
    mine: str = "",
    before: str = "",
) -> HTMLResponse:
    cursor = None
    if before:
        at, _, last = before.partition("_")
        try:
            cursor = (datetime.fromisoformat(at), last)
        except ValueError:
            cursor = None
    filters = service.CaseFilter(
        status=status if status in STATUSES else None,
        org_unit=org_unit or None,
        form=form if form in taxonomy.FORM_OF_EXPLOITATION else None,
        assigned_to_me=bool(mine),
        text=q[:100] or None,
    )
    rows = service.list_cases(session, principal, filters, before=cursor)
    following = None
    if len(rows) == service.PAGE_SIZE:
        following = link(
            request,
            "/cases",
            status=status,
            org_unit=org_unit,
            form=form,
            q=q,
            mine=mine,
            before=f"{rows[-1].opened_at.isoformat()}_{rows[-1].id}",
        )
    lang = request.state.lang
    return render(
        request,
        "cases/list.html",
        {
            "rows": rows,
            "filters": {"status": status, "org_unit": org_unit, "form": form, "q": q, "mine": mine},
            "units": _units(session, lang),
            "unit_names": _unit_names(session, lang),
            "next_page": following,
            "scope": service.scope_of(session, principal),
            **_choices(),
        },
        headers=NO_STORE,
    )


def _new_page(
    request: Request,
    session: DbSession,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "cases/new.html",
        {
            "values": values or {"priority": "normal", "participation": "committed"},
            "errors": errors or {},
            "units": _units(session, request.state.lang),
            **_choices(),
        },
        status_code=status_code,
        headers=NO_STORE,
    )


@router.get("/cases/new", response_class=HTMLResponse)
def case_new(
    request: Request,
    principal: Annotated[Principal, requires("cases.manage")],
    session: DbSession,
    report: str = "",
) -> HTMLResponse:
    return _new_page(
        request,
        session,
        values={"priority": "normal", "participation": "committed", "report_ids": report},
    )


@router.post("/cases/new", response_class=HTMLResponse, response_model=None)
async def case_create(
    request: Request,
    principal: Annotated[Principal, requires("cases.manage")],
    session: DbSession,
) -> Response:
    form_data = await request.form()
    values = {k: str(v) for k, v in form_data.items() if k != "forms"}
    chosen = [str(v) for v in form_data.getlist("forms")]
    values["forms"] = chosen  # type: ignore[assignment]
    participation = values.get("participation", "committed")
    data = service.CaseIn(
        title=values.get("title", ""),
        org_unit=values.get("org_unit", ""),
        setting=values.get("setting") or None,
        priority=values.get("priority", "normal"),
        team=values.get("team") or None,
        restricted=values.get("restricted") == "1",
        forms=[(f, participation) for f in chosen],
        report_ids=[r.strip() for r in values.get("report_ids", "").split(",") if r.strip()],
    )
    try:
        with session.begin_nested():
            case = service.open_case(session, principal, data)
    except service.CaseInvalid as exc:
        return _new_page(
            request, session, values=values, errors=_errors(request, exc.errors), status_code=400
        )
    return RedirectResponse(link(request, f"/cases/{case.id}"), status_code=303)


def _case_page(
    request: Request,
    session: DbSession,
    principal: Principal,
    case_id: str,
    *,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    stale: dict[str, object] | None = None,
    person_values: dict[str, Any] | None = None,
    revealed: dict[str, str | None] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    try:
        view = service.get_case(session, principal, case_id)
    except service.NotFound:
        return render(request, "cases/missing.html", {}, status_code=404, headers=NO_STORE)
    lang = request.state.lang
    aliases = {p.id: p.alias for p in view.people}
    hints = service.duplicate_hints_for_case(session, principal, view, limit=5)
    return render(
        request,
        "cases/case.html",
        {
            "case": view,
            "aliases": aliases,
            "hints": hints,
            "linked": dict(view.linked_references),
            "unit_names": _unit_names(session, lang),
            "units": _units(session, lang),
            "errors": errors or {},
            "message": message,
            "stale": stale,
            "person_values": person_values or {"sex": "unknown"},
            "revealed": revealed or {},
            "can_manage": principal.can("cases.manage"),
            "can_identify": principal.can("cases.identify"),
            "can_confirm": principal.can("cases.protected")
            and service.scope_of(session, principal).senior,
            **_choices(),
        },
        status_code=status_code,
        headers=NO_STORE,
    )


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    request: Request,
    case_id: str,
    principal: Annotated[Principal, requires("cases.read")],
    session: DbSession,
) -> HTMLResponse:
    return _case_page(request, session, principal, case_id)


@router.post("/cases/{case_id}/edit", response_class=HTMLResponse, response_model=None)
def case_edit(
    request: Request,
    case_id: str,
    principal: Annotated[Principal, requires("cases.manage")],
    session: DbSession,
    version: FormText = "0",
    status: FormText = "",
    priority: FormText = "",
    team: FormText = "",
    seen_status: FormText = "",
    seen_priority: FormText = "",
    seen_team: FormText = "",
) -> Response:
    gettext = request.state.gettext
    try:
        number = int(version)
    except ValueError:
        number = 0
    try:
        with session.begin_nested():
            service.update_case(
                session,
                principal,
                case_id,
                version=number,
                changes={"status": status, "priority": priority, "team": team or None},
                seen={"status": seen_status, "priority": seen_priority, "team": seen_team or None},
            )
    except service.StaleEdit as exc:
        return _case_page(request, session, principal, case_id, stale=exc.changed, status_code=409)
    except service.CaseInvalid as exc:
        return _case_page(
            request,
            session,
            principal,
            case_id,
            errors=_errors(request, exc.errors),
            status_code=400,
        )
    except service.NotFound:
        return _case_page(request, session, principal, case_id)
    return _case_page(request, session, principal, case_id, message=gettext("Saved."))


def _optional_int(value: str) -> int | None:
    try:
        return int(value) if value.strip() else None
    except ValueError:
        return -1  # reported by the service as out of range


def _optional_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value.strip() else None
    except ValueError:
        return date(1, 1, 1)  # reported by the service as before 1900


@router.post("/cases/{case_id}/people", response_class=HTMLResponse, response_model=None)
async def person_add(
    request: Request,
    case_id: str,
    principal: Annotated[Principal, requires("cases.manage")],
    session: DbSession,
) -> Response:
    form_data = await request.form()
    values = {k: str(v) for k, v in form_data.items() if k not in ("vulnerabilities", "acts")}
    flags = [str(v) for v in form_data.getlist("vulnerabilities")]
    acts = [str(v) for v in form_data.getlist("acts")]
    data = service.PersonIn(
        role=values.get("role", ""),
        alias=values.get("alias") or None,
        real_name=values.get("real_name") or None,
        sex=values.get("sex") or "unknown",
        birth_date=_optional_date(values.get("birth_date", "")),
        birth_month=values.get("birth_month") or None,
        estimated_age=_optional_int(values.get("estimated_age", "")),
        nationality=(values.get("nationality") or "").upper() or None,
        residence=values.get("residence") or None,
        vulnerabilities=flags,
        offender_category=values.get("offender_category") or None,
        victim_person_id=values.get("victim_person_id") or None,
        reason=values.get("reason") or None,
        acts=acts,
    )
    values.pop("real_name", None)  # never echoed back into the page
    try:
        with session.begin_nested():
            service.add_person(session, principal, case_id, data)
    except service.CaseInvalid as exc:
        return _case_page(
            request,
            session,
            principal,
            case_id,
            errors=_errors(request, exc.errors),
            person_values=values,
            status_code=400,
        )
    except service.Refused as exc:
        if isinstance(exc, service.SelfImagesRefused):
            # The attempt's savepoint is rolled back; the refusal itself is kept on record.
            service.record_self_images_refusal(session, principal, exc)
        return _case_page(
            request,
            session,
            principal,
            case_id,
            errors={"acts": exc.text(request.state.gettext)},
            person_values=values,
            status_code=400,
        )
    except service.NotFound:
        return _case_page(request, session, principal, case_id)
    return RedirectResponse(link(request, f"/cases/{case_id}") + "#people", status_code=303)


@router.post("/cases/{case_id}/people/{person_id}/name", response_class=HTMLResponse)
def person_name(
    request: Request,
    case_id: str,
    person_id: str,
    principal: Annotated[Principal, requires("cases.identify")],
    session: DbSession,
) -> HTMLResponse:
    """Show a real name once (the read is audited)."""
    try:
        name = service.read_real_name(session, principal, person_id)
    except service.NotFound:
        return _case_page(request, session, principal, case_id)
    return _case_page(request, session, principal, case_id, revealed={person_id: name})


@router.post("/cases/{case_id}/people/{person_id}/confirm", response_class=HTMLResponse)
def person_confirm(
    request: Request,
    case_id: str,
    person_id: str,
    principal: Annotated[Principal, requires("cases.manage")],
    session: DbSession,
) -> HTMLResponse:
    gettext = request.state.gettext
    try:
        with session.begin_nested():
            service.confirm_suspect(session, principal, person_id)
    except service.Refused as exc:
        return _case_page(
            request,
            session,
            principal,
            case_id,
            errors={"confirm": exc.text(gettext)},
            status_code=403,
        )
    except service.NotFound:
        return _case_page(request, session, principal, case_id)
    return _case_page(request, session, principal, case_id, message=gettext("Confirmed."))


def _person_fields(values: Any, prefix: str = "") -> dict[str, Any]:
    """The editable fields of a person from a submitted form (``prefix`` "seen_": as shown)."""
    flags: list[str]
    if prefix:
        flags = [v for v in str(values.get(prefix + "vulnerabilities", "")).split(",") if v]
    else:
        flags = [str(v) for v in values.getlist("vulnerabilities")]
    text = {
        name: str(values.get(prefix + name, "")).strip()
        for name in (
            "alias",
            "sex",
            "nationality",
            "residence",
            "birth_date",
            "birth_month",
            "estimated_age",
        )
    }
    return {
        "alias": text["alias"],
        "sex": text["sex"] or "unknown",
        "nationality": text["nationality"].upper() or None,
        "residence": text["residence"] or None,
        "vulnerabilities": flags,
        "birth_date": _optional_date(text["birth_date"]),
        "birth_month": text["birth_month"] or None,
        "estimated_age": _optional_int(text["estimated_age"]),
    }


def _person_page(
    request: Request,
    session: DbSession,
    principal: Principal,
    case_id: str,
    person_id: str,
    *,
    errors: dict[str, str] | None = None,
    stale: dict[str, object] | None = None,
    values: dict[str, Any] | None = None,
    revealed: str | None = None,
    shown_name: bool = False,
    rel_errors: dict[str, str] | None = None,
    rel_values: dict[str, str] | None = None,
    rel_row: str | None = None,
    rel_done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    try:
        person = service.get_person(session, principal, case_id, person_id)
        reference = service.references(session, [case_id]).get(case_id, case_id)
        relationships = service.person_relationships(session, principal, case_id, person_id)
        candidates = service.relationship_candidates(session, principal, case_id, person_id)
    except service.NotFound:
        return render(request, "cases/missing.html", {}, status_code=404, headers=NO_STORE)
    lang = request.state.lang
    shown = {
        "alias": person.alias,
        "sex": person.sex,
        "nationality": person.nationality or "",
        "residence": person.residence or "",
        "vulnerabilities": list(person.vulnerabilities),
        "birth_date": person.birth_date.isoformat() if person.birth_date else "",
        "birth_month": person.birth_month or "",
        "estimated_age": "" if person.estimated_age is None else person.estimated_age,
    }
    return render(
        request,
        "cases/person_edit.html",
        {
            "case_id": case_id,
            "reference": reference,
            "person": person,
            "shown": shown,
            "values": values or shown,
            "errors": errors or {},
            "stale": stale,
            "revealed": revealed,
            "shown_name": shown_name,
            "unit_names": _unit_names(session, lang),
            "units": _units(session, lang),
            "can_identify": principal.can("cases.identify"),
            "relations": relationships,
            "candidates": candidates,
            "rel_errors": rel_errors or {},
            "rel_values": rel_values or {},
            "rel_row": rel_row,
            "rel_done": REL_DONE.get(rel_done or ""),
            **_choices(),
        },
        status_code=status_code,
        headers=NO_STORE,
    )


# What the person edit page says after a relationship was changed (codes in the redirect).
REL_DONE = {
    "added": N_("Relationship added."),
    "changed": N_("Relationship changed."),
    "removed": N_("Relationship removed."),
}


@router.get(
    "/cases/{case_id}/people/{person_id}/edit", response_class=HTMLResponse, response_model=None
)
def person_edit_page(
    request: Request,
    case_id: str,
    person_id: str,
    principal: Annotated[Principal, requires("cases.manage")],
    session: DbSession,
    done: str = "",
) -> Response:
    return _person_page(request, session, principal, case_id, person_id, rel_done=done)


@router.post(
    "/cases/{case_id}/people/{person_id}/edit", response_class=HTMLResponse, response_model=None
)
async def person_edit(
    request: Request,
    case_id: str,
    person_id: str,
    principal: Annotated[Principal, requires("cases.manage")],
    session: DbSession,
) -> Response:
    """Correct a person (optimistic: a stale form is refused, saying what changed since)."""
    form_data = await request.form()
    changes = _person_fields(form_data)
    seen = _person_fields(form_data, "seen_")
    real_name = str(form_data.get("real_name", "")).strip()
    if real_name:
        changes["real_name"] = real_name
    elif form_data.get("clear_real_name"):
        changes["real_name"] = None
    try:
        version = int(str(form_data.get("version", "0")))
    except ValueError:
        version = 0
    echo = {
        k: str(v)
        for k, v in form_data.items()
        if k not in ("vulnerabilities", "real_name") and not k.startswith("seen_")
    }
    echo["vulnerabilities"] = [str(v) for v in form_data.getlist("vulnerabilities")]  # type: ignore[assignment]
    try:
        with session.begin_nested():
            service.update_person(
                session,
                principal,
                person_id,
                version=version,
                changes=changes,
                case_id=case_id,
                seen=seen,
            )
    except service.StaleEdit as exc:
        return _person_page(
            request, session, principal, case_id, person_id, stale=exc.changed, status_code=409
        )
    except service.CaseInvalid as exc:
        return _person_page(
            request,
            session,
            principal,
            case_id,
            person_id,
            errors=_errors(request, exc.errors),
            values=echo,
            status_code=400,
        )
    except service.Refused as exc:
        return _person_page(
            request,
            session,
            principal,
            case_id,
            person_id,
            errors={"real_name": exc.text(request.state.gettext)},
            values=echo,
            status_code=403,
        )
    except service.NotFound:
        return render(request, "cases/missing.html", {}, status_code=404, headers=NO_STORE)
    return RedirectResponse(link(request, f"/cases/{case_id}") + "#people", status_code=303)


@router.post(
    "/cases/{case_id}/people/{person_id}/edit/name",
    response_class=HTMLResponse,
    response_model=None,
)
def person_edit_name(
    request: Request,
    case_id: str,
    person_id: str,
    principal: Annotated[Principal, requires("cases.identify")],
    session: DbSession,
) -> Response:
    """Show the real name on the edit form (the read is audited)."""
    if not principal.can("cases.manage"):  # the case page shows names to those who only read
        return RedirectResponse(link(request, f"/cases/{case_id}"), status_code=303)
    try:
        service.get_person(session, principal, case_id, person_id)
        name = service.read_real_name(session, principal, person_id)
    except service.NotFound:
        return render(request, "cases/missing.html", {}, status_code=404, headers=NO_STORE)
    return _person_page(
        request, session, principal, case_id, person_id, revealed=name, shown_name=True
    )


def _relationship_saved(request: Request, case_id: str, person_id: str, done: str) -> Response:
    url = link(request, f"/cases/{case_id}/people/{person_id}/edit", done=done)
    return RedirectResponse(url + "#relationships", status_code=303)


def _relationship_refused(
    request: Request,
    session: DbSession,
    principal: Principal,
    case_id: str,
    person_id: str,
    exc: service.CasesError,
    *,
    values: dict[str, str] | None = None,
    row: str | None = None,
) -> Response:
    if isinstance(exc, service.NotFound):
        return render(request, "cases/missing.html", {}, status_code=404, headers=NO_STORE)
    if isinstance(exc, service.CaseInvalid):
        errors = _errors(request, exc.errors)
        status_code = 400
    elif isinstance(exc, service.Refused):
        errors = {"relationship": exc.text(request.state.gettext)}
        status_code = 403
    else:
        raise exc
    return _person_page(
        request,
        session,
        principal,
        case_id,
        person_id,
        rel_errors=errors,
        rel_values=values,
        rel_row=row,
        status_code=status_code,
    )


@router.post(
    "/cases/{case_id}/people/{person_id}/relationships",
    response_class=HTMLResponse,
    response_model=None,
)
def relationship_add(
    request: Request,
    case_id: str,
    person_id: str,
    principal: Annotated[Principal, requires("cases.manage")],
    session: DbSession,
    other_person_id: FormText = "",
    relationship: FormText = "",
) -> Response:
    """Relate this person to another person of the case."""
    values = {"other_person_id": other_person_id, "relationship": relationship}
    try:
        with session.begin_nested():
            # the page's own person must be one the actor may change (else: not found)
            service.person_relationships(session, principal, case_id, person_id)
            service.add_relationship(
                session, principal, case_id, person_id, other_person_id, relationship
            )
    except service.CasesError as exc:
        return _relationship_refused(
            request, session, principal, case_id, person_id, exc, values=values
        )
    return _relationship_saved(request, case_id, person_id, "added")


@router.post(
    "/cases/{case_id}/people/{person_id}/relationships/{relationship_id}/edit",
    response_class=HTMLResponse,
    response_model=None,
)
def relationship_change(
    request: Request,
    case_id: str,
    person_id: str,
    relationship_id: str,
    principal: Annotated[Principal, requires("cases.manage")],
    session: DbSession,
    relationship: FormText = "",
) -> Response:
    """Change the kind of one of this person's relationships."""
    try:
        with session.begin_nested():
            service.change_relationship(
                session, principal, case_id, person_id, relationship_id, relationship
            )
    except service.CasesError as exc:
        return _relationship_refused(
            request, session, principal, case_id, person_id, exc, row=relationship_id
        )
    return _relationship_saved(request, case_id, person_id, "changed")


@router.post(
    "/cases/{case_id}/people/{person_id}/relationships/{relationship_id}/delete",
    response_class=HTMLResponse,
    response_model=None,
)
def relationship_remove(
    request: Request,
    case_id: str,
    person_id: str,
    relationship_id: str,
    principal: Annotated[Principal, requires("cases.manage")],
    session: DbSession,
) -> Response:
    """Remove one of this person's relationships."""
    try:
        with session.begin_nested():
            service.remove_relationship(session, principal, case_id, person_id, relationship_id)
    except service.CasesError as exc:
        return _relationship_refused(
            request, session, principal, case_id, person_id, exc, row=relationship_id
        )
    return _relationship_saved(request, case_id, person_id, "removed")


def _pdf_words(gettext: Any) -> dict[str, str]:
    words = {
        "case_file": gettext("Case file"),
        "field": gettext("Field"),
        "value": gettext("Value"),
        "status": gettext("Status"),
        "priority": gettext("Priority"),
        "setting": gettext("Setting"),
        "region": gettext("Region"),
        "opened": gettext("Opened (UTC)"),
        "closed": gettext("Closed (UTC)"),
        "exported": gettext("Exported"),
        "forms": gettext("Forms of exploitation"),
        "form": gettext("Form"),
        "participation": gettext("Participation"),
        "people": gettext("People"),
        "alias": gettext("Alias"),
        "role": gettext("Role"),
        "sex": gettext("Sex"),
        "age_at_opening": gettext("Age when the case opened"),
        "residence": gettext("Residence"),
        "reports": gettext("Reports"),
        "reference": gettext("Reference"),
        "received": gettext("Received (UTC)"),
        "evidence": gettext("Evidence references"),
        "size": gettext("Size (bytes)"),
        "media_type": gettext("Type"),
        "evidence_note": gettext(
            "Evidence is referenced by hash; the material stays in the evidence vault."
        ),
    }
    return words


def _labelled(document: dict[str, Any], request: Request) -> dict[str, Any]:
    """Codes in the PDF as the reader's words."""
    from opschub import labels

    gettext, lang = request.state.gettext, request.state.lang
    case = document["case"]

    def lab(kind: str, code: str | None) -> str | None:
        return None if code is None else labels.label(kind, code, gettext, lang)

    case["status"] = lab("case_status", case["status"])
    case["priority"] = lab("priority_level", case["priority"])
    case["setting"] = lab("setting", case["setting"])
    case["forms"] = [
        {
            "form": lab("form_of_exploitation", f["form"]),
            "participation": lab("participation", f["participation"]),
        }
        for f in case["forms"]
    ]
    for p in case["people"]:
        p["role"] = lab("person_role", p["role"])
        p["sex"] = lab("sex", p["sex"])
    return document


@router.get("/cases/{case_id}/export.pdf", response_model=None)
def case_pdf(
    request: Request,
    case_id: str,
    principal: Annotated[Principal, requires("cases.read")],
    session: DbSession,
) -> Response:
    try:
        document = export.export_document(session, principal, case_id)
    except service.NotFound:
        return render(request, "cases/missing.html", {}, status_code=404, headers=NO_STORE)
    pdf = export.export_pdf(_labelled(document, request), labels=_pdf_words(request.state.gettext))
    reference = document["case"]["reference"]
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{reference}.pdf"', **NO_STORE},
    )


@router.get("/admin/orgunits", response_class=HTMLResponse)
def orgunits_page(
    request: Request,
    principal: Annotated[Principal, requires("users.manage")],
    session: DbSession,
) -> HTMLResponse:
    return _orgunits_page(request, session)


def _orgunits_page(
    request: Request,
    session: DbSession,
    *,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lang = request.state.lang
    return render(
        request,
        "cases/orgunits.html",
        {
            "units": orgunits.units(session),
            "unit_choices": _units(session, lang),
            "errors": errors or {},
            "message": message,
            "lang": lang,
            **_choices(),
        },
        status_code=status_code,
        headers=NO_STORE,
    )


@router.post("/admin/case-scopes", response_class=HTMLResponse)
def set_scope(
    request: Request,
    principal: Annotated[Principal, requires("users.manage")],
    session: DbSession,
    username: FormText = "",
    scope: FormText = "own",
    team: FormText = "",
    org_unit: FormText = "",
    senior: FormText = "",
) -> HTMLResponse:
    from opschub.accounts import service as accounts

    gettext = request.state.gettext
    user = accounts.find_user(session, username.strip()) if username.strip() else None
    if user is None:
        return _orgunits_page(
            request, session, errors={"username": gettext("No such person.")}, status_code=400
        )
    try:
        with session.begin_nested():
            service.set_scope(
                session,
                principal,
                user.id,
                scope=scope,
                team=team or None,
                org_unit=org_unit or None,
                senior=senior == "1",
            )
    except service.CaseInvalid as exc:
        return _orgunits_page(
            request, session, errors=_errors(request, exc.errors), status_code=400
        )
    return _orgunits_page(request, session, message=gettext("Saved."))
