"""The case worker's pages for following a case up: the dashboard (/cases/dashboard: stage
alarms, limitation deadlines, informing reminders, overdue referrals), a case's follow-up page
(referrals, proceedings, offences, what the child was told) and the services directory.

Every form posts back to the page's own address family and is checked by the same service
functions as the API; errors are shown next to the fields, in the person's language.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opschub import taxonomy
from opschub.cases import followup_port, informing, proceedings, referrals
from opschub.cases.followup_common import (
    FieldError,
    FollowupInvalid,
    FollowupNotFound,
    FollowupRefused,
    StaleEdit,
)
from opschub.cases.followup_models import (
    CONSENT_BY,
    DELIVERY_CHANNELS,
    INFORMED_FORMS,
    INFORMED_WHO,
    REFERRAL_STATUSES,
    SERVICE_KINDS,
)
from opschub.cases.stages import STEPS, WITH_AMOUNT
from opschub.clock import utcnow
from opschub.text import N_
from opschub.web.auth import Principal, requires
from opschub.web.deps import DbSession, get_db
from opschub.web.nav import NavItem
from opschub.web.templating import link, render

router = APIRouter(include_in_schema=False)

NAV = [
    NavItem(N_("Case dashboard"), "/cases/dashboard", "cases.read", order=40),
    NavItem(N_("Services directory"), "/cases/services", "cases.read", order=41),
]
FormText = Annotated[str, Form()]
OptionalText = Annotated[str, Form()]

# Field error messages as people read them (the services name fields in English for scripts).
FIELD_LABELS = {
    "service_id": N_("Service"),
    "consent_by": N_("Consent"),
    "override_reason": N_("Reason for referring without consent"),
    "due_on": N_("Due date"),
    "person_id": N_("Person"),
    "status": N_("Status"),
    "note": N_("Note"),
    "next_due_on": N_("Next follow-up"),
    "suspect_id": N_("Suspect"),
    "kind": N_("Step"),
    "on": N_("Date"),
    "amount": N_("Amount"),
    "outcome": N_("Outcome"),
    "offence_code": N_("Offence"),
    "committed_on": N_("Committed on"),
    "victim_id": N_("Victim"),
    "told_on": N_("Told on"),
    "who": N_("Told to"),
    "language": N_("Language"),
    "form": N_("How"),
    "what": N_("What was told"),
    "steps": N_("Steps told of"),
    "org_unit_code": N_("Region"),
    "name": N_("Name"),
    "languages": N_("Languages"),
    "delivery": N_("Send referrals by"),
    "email": N_("Email address"),
    "webhook_url": N_("Webhook address"),
    "webhook_secret": N_("Webhook secret"),
}
# The problems the rules name by code, translated (opschub.cases.stages.MESSAGES and the services).
PROBLEM_TEXT = {
    "requires": N_("needs an earlier step first"),
    "before_required": N_("is dated before the step it needs"),
    "in_future": N_("is dated in the future"),
    "twice": N_("is already recorded for this suspect"),
    "other_judgment": N_("contradicts the judgment already recorded (record an appeal first)"),
    "amount": N_("needs an amount of at least 0"),
    "amount_not_allowed": N_("takes no amount"),
    "before_opened": N_("is dated before the case was opened"),
    "unknown_step": N_("unknown step"),
    "invalid": N_("is missing or not valid"),
}


def _error_lines(request: Request, errors: list[FieldError]) -> list[tuple[str, str]]:
    _ = request.state.gettext
    return [
        (
            _(FIELD_LABELS.get(e.field, e.field)),
            _(PROBLEM_TEXT[e.code]) if e.code in PROBLEM_TEXT else _(PROBLEM_TEXT["invalid"]),
        )
        for e in errors
    ]


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


# --- dashboard ----------------------------------------------------------------------------------


PAGE = 50  # rows of a dashboard list at a time
COUNT_CAP = 1000  # a list longer than this says "more than 1,000"


def _from(value: str | None) -> int:
    try:
        start = int(value or 0)
    except ValueError:
        return 0
    return max(0, min(start, 100_000)) // PAGE * PAGE


@router.get("/cases/dashboard", response_class=HTMLResponse)
def dashboard(
    request: Request,
    principal: Annotated[Principal, requires("cases.read")],
    session: DbSession,
    alarms_from: str | None = None,
    reminders_from: str | None = None,
    warnings_from: str | None = None,
    overdue_from: str | None = None,
) -> HTMLResponse:
    from opschub.cases.models import case_reference

    settings = request.app.state.settings
    today = utcnow().date()
    visible = followup_port.visible_case_ids(session, principal)
    targets = settings.cases_stage_targets
    first_alarm, first_reminder = _from(alarms_from), _from(reminders_from)
    first_warning, first_overdue = _from(warnings_from), _from(overdue_from)
    warn_days = settings.cases_limitation_warn_days
    return render(
        request,
        "cases/followup_dashboard.html",
        {
            "today": today,
            "page": PAGE,
            "count_cap": COUNT_CAP,
            "alarms": proceedings.stage_alarms(
                session,
                today=today,
                targets=targets,
                case_ids=visible,
                limit=PAGE,
                offset=first_alarm,
            ),
            "alarms_from": first_alarm,
            "alarms_total": proceedings.count_stage_alarms(
                session, today=today, targets=targets, case_ids=visible, cap=COUNT_CAP
            ),
            "warnings": proceedings.limitation_warnings(
                session,
                today=today,
                warn_days=warn_days,
                case_ids=visible,
                limit=PAGE,
                offset=first_warning,
            ),
            "warnings_from": first_warning,
            "warnings_total": proceedings.count_limitation_warnings(
                session, today=today, warn_days=warn_days, case_ids=visible, cap=COUNT_CAP
            ),
            "reminders": informing.reminders(
                session,
                today=today,
                within_days=settings.cases_inform_within_days,
                case_ids=visible,
                limit=PAGE,
                offset=first_reminder,
            ),
            "reminders_from": first_reminder,
            "reminders_total": informing.count_reminders(session, case_ids=visible, cap=COUNT_CAP),
            "overdue": referrals.overdue(
                session, today=today, case_ids=visible, limit=PAGE, offset=first_overdue
            ),
            "overdue_from": first_overdue,
            "overdue_total": referrals.count_overdue(
                session, today=today, case_ids=visible, cap=COUNT_CAP
            ),
            # cases are named by their reference (C-XXXX-XXXX), as on every other page
            "reference": case_reference,
        },
    )


# --- a case's follow-up page ------------------------------------------------------------------


def _case_page(
    request: Request,
    session: Any,
    principal: Principal,
    case_id: str,
    *,
    errors: dict[str, list[tuple[str, str]]] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    settings = request.app.state.settings
    brief = followup_port.require_case(session, principal, case_id)
    today = utcnow().date()
    people = followup_port.people_of(session, case_id)
    codes = None
    if brief.org_unit_code:
        from opschub.orgunits import service as orgunits

        codes = orgunits.ancestors(session, brief.org_unit_code)
    steps = proceedings.steps_of(session, case_id)
    return render(
        request,
        "cases/followup_case.html",
        {
            "case": brief,
            "today": today,
            "people": people,
            "suspects": [p for p in people if p.role == "suspect"],
            "victims": [p for p in people if p.role == "victim"],
            "services": referrals.services(session, org_unit_codes=codes),
            "referrals": referrals.referrals_of(session, case_id),
            "steps": steps,
            "offences": proceedings.offences_of(session, case_id),
            "alarms": proceedings.stage_alarms(
                session, today=today, targets=settings.cases_stage_targets, case_ids=[case_id]
            ),
            "log": informing.log_of(session, case_id),
            "reminders": informing.reminders(
                session,
                today=today,
                within_days=settings.cases_inform_within_days,
                case_ids=[case_id],
            ),
            "consent_choices": [
                c for c in CONSENT_BY if c != "override" or principal.can("cases.consent_override")
            ],
            "statuses": REFERRAL_STATUSES,
            "step_kinds": STEPS,
            "with_amount": WITH_AMOUNT,
            "informed_who": INFORMED_WHO,
            "informed_forms": INFORMED_FORMS,
            "form_codes": taxonomy.FORM_OF_EXPLOITATION.values,
            "problem_texts": {
                code: request.state.gettext(text) for code, text in PROBLEM_TEXT.items()
            },
            "errors": errors or {},
            "values": values or {},
        },
        status_code=status_code,
    )


@router.get("/cases/{case_id}/follow-up", response_class=HTMLResponse)
def case_follow_up(
    request: Request,
    case_id: str,
    principal: Annotated[Principal, requires("cases.read")],
    session: DbSession,
) -> Response:
    try:
        return _case_page(request, session, principal, case_id)
    except FollowupNotFound:
        return render(request, "cases/followup_missing.html", {}, status_code=404)


def _after(
    request: Request,
    principal: Principal,
    case_id: str,
    section: str,
    action: Any,
    values: dict[str, str],
) -> Response:
    """Run ``action(session)``; on success back to the page (at ``section``), else the page with
    the errors of ``section``."""
    database = get_db(request)
    try:
        with database.read() as session:
            followup_port.require_case(session, principal, case_id)
    except FollowupNotFound:
        return render(request, "cases/followup_missing.html", {}, status_code=404)
    try:
        with database.transaction() as session:
            action(session)
    except FollowupInvalid as exc:
        with database.read() as session:
            return _case_page(
                request,
                session,
                principal,
                case_id,
                errors={section: _error_lines(request, exc.errors)},
                values=values,
                status_code=400,
            )
    except StaleEdit:
        _ = request.state.gettext
        with database.read() as session:
            return _case_page(
                request,
                session,
                principal,
                case_id,
                errors={section: [(_("Referral"), _("someone else changed it; check and retry"))]},
                status_code=409,
            )
    except FollowupRefused:
        _ = request.state.gettext
        with database.transaction() as session:
            referrals.record_refusal(session, principal, case_id=case_id, why=section)
        with database.read() as session:
            return _case_page(
                request,
                session,
                principal,
                case_id,
                errors={
                    section: [
                        (
                            _("Consent"),
                            _("Referring without consent needs a permission you do not have."),
                        )
                    ]
                },
                values=values,
                status_code=403,
            )
    except FollowupNotFound:
        return render(request, "cases/followup_missing.html", {}, status_code=404)
    return RedirectResponse(
        link(request, f"/cases/{case_id}/follow-up") + f"#{section}", status_code=303
    )


@router.post("/cases/{case_id}/follow-up/referrals", response_class=HTMLResponse)
def post_referral(
    request: Request,
    case_id: str,
    principal: Annotated[Principal, requires("cases.manage")],
    service_id: FormText = "",
    consent_by: FormText = "",
    person_id: FormText = "",
    override_reason: FormText = "",
    due_on: FormText = "",
    note: FormText = "",
) -> Response:
    values = {"service_id": service_id, "consent_by": consent_by, "due_on": due_on}

    def act(session: Any) -> None:
        due = _date(due_on)
        if due_on and due is None:
            raise FollowupInvalid([FieldError("due_on", "not a date")])
        referrals.refer(
            session,
            principal,
            case_id=case_id,
            service_id=service_id,
            consent_by=consent_by,
            person_id=person_id or None,
            override_reason=override_reason or None,
            due_on=due,
            note=note or None,
        )

    return _after(request, principal, case_id, "referrals", act, values)


@router.post("/cases/{case_id}/follow-up/referrals/{referral_id}", response_class=HTMLResponse)
def post_follow_up(
    request: Request,
    case_id: str,
    referral_id: str,
    principal: Annotated[Principal, requires("cases.manage")],
    status: FormText = "",
    version: FormText = "0",
    note: FormText = "",
    next_due_on: FormText = "",
) -> Response:
    def act(session: Any) -> None:
        if referrals.referral_case(session, referral_id) != case_id:
            raise FollowupNotFound(referral_id)
        due = _date(next_due_on)
        if next_due_on and due is None:
            raise FollowupInvalid([FieldError("next_due_on", "not a date")])
        referrals.follow_up(
            session,
            principal,
            referral_id,
            to_status=status,
            expected_version=int(version) if version.isdigit() else -1,
            note=note or None,
            next_due_on=due,
        )

    return _after(request, principal, case_id, "referrals", act, {})


@router.post("/cases/{case_id}/follow-up/proceedings", response_class=HTMLResponse)
def post_step(
    request: Request,
    case_id: str,
    principal: Annotated[Principal, requires("cases.manage")],
    suspect_id: FormText = "",
    kind: FormText = "",
    on: FormText = "",
    outcome: FormText = "",
    amount: FormText = "",
) -> Response:
    values = {"suspect_id": suspect_id, "kind": kind, "on": on, "amount": amount}

    def act(session: Any) -> None:
        day = _date(on)
        if day is None:
            raise FollowupInvalid([FieldError("on", "not a date")])
        proceedings.record_step(
            session,
            principal,
            case_id=case_id,
            suspect_id=suspect_id,
            kind=kind,
            on=day,
            outcome=outcome or None,
            amount=amount or None,
        )

    return _after(request, principal, case_id, "proceedings", act, values)


@router.post("/cases/{case_id}/follow-up/offences", response_class=HTMLResponse)
def post_offence(
    request: Request,
    case_id: str,
    principal: Annotated[Principal, requires("cases.manage")],
    offence_code: FormText = "",
    committed_on: FormText = "",
    victim_id: FormText = "",
    suspect_id: FormText = "",
) -> Response:
    values = {"offence_code": offence_code, "committed_on": committed_on}

    def act(session: Any) -> None:
        day = _date(committed_on)
        if day is None:
            raise FollowupInvalid([FieldError("committed_on", "not a date")])
        proceedings.add_offence(
            session,
            principal,
            case_id=case_id,
            offence_code=offence_code,
            committed_on=day,
            victim_id=victim_id or None,
            suspect_id=suspect_id or None,
        )

    return _after(request, principal, case_id, "limitation", act, values)


@router.post("/cases/{case_id}/follow-up/informed", response_class=HTMLResponse)
def post_informed(
    request: Request,
    case_id: str,
    principal: Annotated[Principal, requires("cases.manage")],
    told_on: FormText = "",
    who: FormText = "",
    language: FormText = "",
    form: FormText = "",
    what: FormText = "",
    steps: Annotated[list[str] | None, Form()] = None,
) -> Response:
    values = {"told_on": told_on, "who": who, "language": language, "form": form, "what": what}

    def act(session: Any) -> None:
        day = _date(told_on)
        if day is None:
            raise FollowupInvalid([FieldError("told_on", "not a date")])
        informing.log_told(
            session,
            principal,
            case_id=case_id,
            told_on=day,
            who=who,
            language=language,
            form=form,
            what=what,
            steps=[s for s in (steps or []) if s],
        )

    return _after(request, principal, case_id, "informed", act, values)


# --- the services directory -------------------------------------------------------------------


def _services_page(
    request: Request,
    session: Any,
    *,
    errors: list[tuple[str, str]] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    from opschub.orgunits import service as orgunits

    return render(
        request,
        "cases/followup_services.html",
        {
            "services": referrals.services(session),
            "units": orgunits.units(session),
            "kinds": SERVICE_KINDS,
            "deliveries": DELIVERY_CHANNELS,
            "errors": errors or [],
            "values": values or {},
        },
        status_code=status_code,
    )


@router.get("/cases/services", response_class=HTMLResponse)
def services_page(
    request: Request, principal: Annotated[Principal, requires("cases.read")], session: DbSession
) -> HTMLResponse:
    return _services_page(request, session)


@router.post("/cases/services", response_class=HTMLResponse)
def services_add(
    request: Request,
    principal: Annotated[Principal, requires("cases.manage")],
    org_unit_code: FormText = "",
    kind: FormText = "",
    name: FormText = "",
    languages: FormText = "",
    contact: FormText = "",
    delivery: FormText = "none",
    email: FormText = "",
    webhook_url: FormText = "",
    webhook_secret: FormText = "",
) -> Response:
    database = get_db(request)
    values = {"org_unit_code": org_unit_code, "kind": kind, "name": name, "languages": languages}
    try:
        with database.transaction() as session:
            referrals.add_service(
                session,
                principal,
                org_unit_code=org_unit_code,
                kind=kind,
                name=name,
                languages=[p.strip() for p in languages.split(",") if p.strip()],
                contact=contact or None,
                delivery=delivery,
                email=email or None,
                webhook_url=webhook_url or None,
                webhook_secret=webhook_secret or None,
            )
    except FollowupInvalid as exc:
        with database.read() as session:
            return _services_page(
                request,
                session,
                errors=_error_lines(request, exc.errors),
                values=values,
                status_code=400,
            )
    return RedirectResponse(link(request, "/cases/services"), status_code=303)
