"""JSON API of a case's follow-up: referrals, proceedings and offences, and the informed log,
under /api/v1/cases/{case_id}/..., with the same rules as the pages (a police or court system
sends proceedings steps here with a token); the services directory under
/api/v1/referral-services."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from opschub.cases import followup_port, informing, proceedings, referrals
from opschub.cases.followup_common import (
    FieldError,
    FollowupInvalid,
    FollowupNotFound,
    FollowupRefused,
    StaleEdit,
)
from opschub.web.auth import Principal, requires
from opschub.web.deps import get_db

router = APIRouter(prefix="/api/v1", tags=["cases"])


def _invalid(errors: list[FieldError]) -> JSONResponse:
    return JSONResponse(
        {
            "detail": "invalid request",
            "errors": [
                {"field": f"/{e.field}", "message": e.message, "code": e.code} for e in errors
            ],
        },
        status_code=400,
    )


def _not_found(exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc) or "not found"}, status_code=404)


def _errors(exc: Exception) -> JSONResponse:
    if isinstance(exc, FollowupInvalid):
        return _invalid(exc.errors)
    if isinstance(exc, FollowupNotFound):
        return _not_found(exc)
    if isinstance(exc, StaleEdit):
        return JSONResponse({"detail": str(exc), "current": exc.current}, status_code=409)
    if isinstance(exc, FollowupRefused):
        return JSONResponse({"detail": str(exc)}, status_code=403)
    raise exc


# --- the services directory -------------------------------------------------------------------


class ServiceIn(BaseModel):
    org_unit_code: str = Field(max_length=32)
    kind: str = Field(max_length=32)
    name: str = Field(max_length=200)
    languages: list[str] = Field(default_factory=list, max_length=20)
    contact: str | None = Field(default=None, max_length=2000)
    delivery: str = Field(default="none", max_length=16)
    email: str | None = Field(default=None, max_length=320)
    webhook_url: str | None = Field(default=None, max_length=2000)
    webhook_secret: str | None = Field(default=None, max_length=200)


class ServiceOut(BaseModel):
    id: str
    org_unit_code: str
    kind: str
    name: str
    languages: list[str]
    contact: str | None
    delivery: str


def _service_out(view: referrals.ServiceView) -> ServiceOut:
    return ServiceOut(
        id=view.id,
        org_unit_code=view.org_unit_code,
        kind=view.kind,
        name=view.name,
        languages=list(view.languages),
        contact=view.contact,
        delivery=view.delivery,
    )


@router.get(
    "/referral-services",
    response_model=list[ServiceOut],
    responses={400: {"description": "an unknown region"}},
)
def list_services(
    request: Request,
    principal: Annotated[Principal, requires("cases.read")],
    region: str | None = None,
    kind: str | None = None,
) -> list[ServiceOut] | JSONResponse:
    """Services in ``region`` and the regions above it (all without ``region``)."""
    from opschub.orgunits import service as orgunits

    with get_db(request).read() as session:
        codes = None
        if region:
            try:
                codes = orgunits.ancestors(session, region)
            except orgunits.UnknownUnit:
                return _invalid([FieldError("region", "is not a known region", "unknown")])
        return [
            _service_out(v) for v in referrals.services(session, org_unit_codes=codes, kind=kind)
        ]


@router.post("/referral-services", response_model=ServiceOut, status_code=201)
def add_service(
    request: Request, body: ServiceIn, principal: Annotated[Principal, requires("cases.manage")]
) -> ServiceOut | JSONResponse:
    try:
        with get_db(request).transaction() as session:
            view = referrals.add_service(session, principal, **body.model_dump())
    except (FollowupInvalid, FollowupNotFound, FollowupRefused) as exc:
        return _errors(exc)
    return _service_out(view)


# --- referrals ----------------------------------------------------------------------------------


class ReferralIn(BaseModel):
    service_id: str = Field(max_length=32)
    consent_by: str = Field(description="child, guardian or override", max_length=16)
    person_id: str | None = Field(default=None, max_length=32)
    override_reason: str | None = Field(default=None, max_length=2000)
    due_on: date | None = None
    note: str | None = Field(default=None, max_length=5000)
    send: bool = Field(default=True, description="send to the service by its email or webhook")


class FollowUpIn(BaseModel):
    status: str = Field(max_length=16)
    version: int = Field(description="the referral's version as last read (stale edits: 409)")
    note: str | None = Field(default=None, max_length=5000)
    next_due_on: date | None = None


class ReferralOut(BaseModel):
    id: str
    service_id: str
    service_kind: str
    status: str
    sent_on: date
    due_on: date | None
    consent_by: str
    delivery_state: str
    version: int
    overdue: bool


def _referral_out(view: referrals.ReferralView) -> ReferralOut:
    return ReferralOut(
        id=view.id,
        service_id=view.service_id,
        service_kind=view.service_kind,
        status=view.status,
        sent_on=view.sent_on,
        due_on=view.due_on,
        consent_by=view.consent_by,
        delivery_state=view.delivery_state,
        version=view.version,
        overdue=view.overdue,
    )


@router.get("/cases/{case_id}/referrals", response_model=list[ReferralOut])
def list_referrals(
    request: Request, case_id: str, principal: Annotated[Principal, requires("cases.read")]
) -> list[ReferralOut] | JSONResponse:
    with get_db(request).read() as session:
        try:
            followup_port.require_case(session, principal, case_id)
        except FollowupNotFound as exc:
            return _not_found(exc)
        return [_referral_out(v) for v in referrals.referrals_of(session, case_id)]


def refer_with_audit(request: Request, principal: Principal, case_id: str, body: Any) -> Any:
    """Refer (shared by the page and the API); a refused override is audited on its own."""
    database = get_db(request)
    try:
        with database.transaction() as session:
            return referrals.refer(session, principal, case_id=case_id, **body)
    except FollowupRefused as exc:
        with database.transaction() as session:
            referrals.record_refusal(session, principal, case_id=case_id, why=str(exc))
        raise


@router.post("/cases/{case_id}/referrals", response_model=ReferralOut, status_code=201)
def create_referral(
    request: Request,
    case_id: str,
    body: ReferralIn,
    principal: Annotated[Principal, requires("cases.manage")],
) -> ReferralOut | JSONResponse:
    try:
        view = refer_with_audit(request, principal, case_id, body.model_dump())
    except (FollowupInvalid, FollowupNotFound, FollowupRefused) as exc:
        return _errors(exc)
    return _referral_out(view)


@router.post("/cases/{case_id}/referrals/{referral_id}/follow-ups", response_model=ReferralOut)
def follow_up(
    request: Request,
    case_id: str,
    referral_id: str,
    body: FollowUpIn,
    principal: Annotated[Principal, requires("cases.manage")],
) -> ReferralOut | JSONResponse:
    try:
        with get_db(request).transaction() as session:
            if referrals.referral_case(session, referral_id) != case_id:
                raise FollowupNotFound(f"no referral {referral_id} in case {case_id}")
            view = referrals.follow_up(
                session,
                principal,
                referral_id,
                to_status=body.status,
                expected_version=body.version,
                note=body.note,
                next_due_on=body.next_due_on,
            )
    except (FollowupInvalid, FollowupNotFound, FollowupRefused, StaleEdit) as exc:
        return _errors(exc)
    return _referral_out(view)


# --- proceedings and offences ---------------------------------------------------------------


class StepIn(BaseModel):
    suspect_id: str = Field(max_length=32)
    kind: str = Field(max_length=32)
    on: date
    outcome: str | None = Field(default=None, max_length=2000)
    amount: Decimal | None = Field(default=None, ge=0, le=Decimal("999999999999"))


class StepOut(BaseModel):
    id: str
    suspect_id: str
    kind: str
    on: date
    outcome: str | None
    amount: Decimal | None


class OffenceIn(BaseModel):
    offence_code: str = Field(max_length=40)
    committed_on: date
    victim_id: str | None = Field(default=None, max_length=32)
    suspect_id: str | None = Field(default=None, max_length=32)


class OffenceOut(BaseModel):
    id: str
    offence_code: str
    committed_on: date
    rule: str
    starts_on: date | None
    falls_on: date | None
    exact: bool
    state: str = Field(description="none, running, warning or lapsed")


class ProceedingsOut(BaseModel):
    steps: list[StepOut]
    offences: list[OffenceOut]


class CheckOut(BaseModel):
    ok: bool
    errors: list[dict[str, str]]


def _step_out(view: proceedings.StepView) -> StepOut:
    return StepOut(
        id=view.id,
        suspect_id=view.suspect_id,
        kind=view.kind,
        on=view.on,
        outcome=view.outcome,
        amount=view.amount,
    )


def _offence_out(view: proceedings.OffenceView) -> OffenceOut:
    return OffenceOut(
        id=view.id,
        offence_code=view.offence_code,
        committed_on=view.committed_on,
        rule=view.rule,
        starts_on=view.starts_on,
        falls_on=view.falls_on,
        exact=view.exact,
        state=view.state,
    )


@router.get("/cases/{case_id}/proceedings", response_model=ProceedingsOut)
def list_proceedings(
    request: Request, case_id: str, principal: Annotated[Principal, requires("cases.read")]
) -> ProceedingsOut | JSONResponse:
    with get_db(request).read() as session:
        try:
            followup_port.require_case(session, principal, case_id)
        except FollowupNotFound as exc:
            return _not_found(exc)
        return ProceedingsOut(
            steps=[_step_out(v) for v in proceedings.steps_of(session, case_id)],
            offences=[_offence_out(v) for v in proceedings.offences_of(session, case_id)],
        )


@router.post("/cases/{case_id}/proceedings/check", response_model=CheckOut)
def check_step(
    request: Request,
    case_id: str,
    body: StepIn,
    principal: Annotated[Principal, requires("cases.read")],
) -> CheckOut | JSONResponse:
    """The problems recording this step would meet, without recording it (forms call it as the
    person types)."""
    with get_db(request).read() as session:
        try:
            followup_port.require_case(session, principal, case_id)
        except FollowupNotFound as exc:
            return _not_found(exc)
        errors = proceedings.check(
            session,
            case_id=case_id,
            suspect_id=body.suspect_id,
            kind=body.kind,
            on=body.on,
            amount=body.amount,
        )
    return CheckOut(
        ok=not errors,
        errors=[{"field": f"/{e.field}", "message": e.message, "code": e.code} for e in errors],
    )


@router.post("/cases/{case_id}/proceedings", response_model=StepOut, status_code=201)
def record_step(
    request: Request,
    case_id: str,
    body: StepIn,
    principal: Annotated[Principal, requires("cases.manage")],
) -> StepOut | JSONResponse:
    try:
        with get_db(request).transaction() as session:
            view = proceedings.record_step(session, principal, case_id=case_id, **body.model_dump())
    except (FollowupInvalid, FollowupNotFound, FollowupRefused) as exc:
        return _errors(exc)
    return _step_out(view)


@router.post("/cases/{case_id}/offences", response_model=OffenceOut, status_code=201)
def add_offence(
    request: Request,
    case_id: str,
    body: OffenceIn,
    principal: Annotated[Principal, requires("cases.manage")],
) -> OffenceOut | JSONResponse:
    try:
        with get_db(request).transaction() as session:
            view = proceedings.add_offence(session, principal, case_id=case_id, **body.model_dump())
    except (FollowupInvalid, FollowupNotFound, FollowupRefused) as exc:
        return _errors(exc)
    return _offence_out(view)


# --- keeping the child informed -----------------------------------------------------------------


class InformedIn(BaseModel):
    told_on: date
    who: str = Field(max_length=24)
    language: str = Field(max_length=16)
    form: str = Field(max_length=16)
    what: str = Field(max_length=5000)
    steps: list[str] = Field(default_factory=list, max_length=50)


class InformedOut(BaseModel):
    id: str
    told_on: date
    who: str
    language: str
    form: str
    what: str
    steps: list[str]


def _informed_out(view: informing.InformedView) -> InformedOut:
    return InformedOut(
        id=view.id,
        told_on=view.told_on,
        who=view.who,
        language=view.language,
        form=view.form,
        what=view.what,
        steps=list(view.steps),
    )


@router.get("/cases/{case_id}/informed", response_model=list[InformedOut])
def list_informed(
    request: Request, case_id: str, principal: Annotated[Principal, requires("cases.read")]
) -> list[InformedOut] | JSONResponse:
    with get_db(request).read() as session:
        try:
            followup_port.require_case(session, principal, case_id)
        except FollowupNotFound as exc:
            return _not_found(exc)
        return [_informed_out(v) for v in informing.log_of(session, case_id)]


@router.post("/cases/{case_id}/informed", response_model=InformedOut, status_code=201)
def log_informed(
    request: Request,
    case_id: str,
    body: InformedIn,
    principal: Annotated[Principal, requires("cases.manage")],
) -> InformedOut | JSONResponse:
    try:
        with get_db(request).transaction() as session:
            view = informing.log_told(session, principal, case_id=case_id, **body.model_dump())
    except (FollowupInvalid, FollowupNotFound, FollowupRefused) as exc:
        return _errors(exc)
    return _informed_out(view)


# --- the dashboard's lists: stage alarms and informing reminders, paged -------------------------

COUNT_CAP = 1000


class AlarmOut(BaseModel):
    case_id: str
    suspect_id: str | None
    stage: str
    since: date
    days: int
    target: int


class AlarmsOut(BaseModel):
    total: int = Field(description=f"how many in all, counted up to {COUNT_CAP + 1}")
    more_than_counted: bool
    items: list[AlarmOut]


class ReminderOut(BaseModel):
    case_id: str
    step_id: str
    kind: str
    on: date
    days: int
    overdue: bool


class RemindersOut(BaseModel):
    total: int = Field(description=f"how many in all, counted up to {COUNT_CAP + 1}")
    more_than_counted: bool
    items: list[ReminderOut]


def _page(offset: int, limit: int) -> JSONResponse | None:
    errors = []
    if not 0 <= offset <= 100_000:
        errors.append(FieldError("offset", "must be 0 to 100000"))
    if not 1 <= limit <= 500:
        errors.append(FieldError("limit", "must be 1 to 500"))
    return _invalid(errors) if errors else None


@router.get("/case-follow-up/alarms", response_model=AlarmsOut)
def list_alarms(
    request: Request,
    principal: Annotated[Principal, requires("cases.read")],
    offset: int = 0,
    limit: int = 50,
) -> AlarmsOut | JSONResponse:
    """Proceedings waiting longer than their target in the cases the caller may see, longest
    over first (the dashboard's list)."""
    from opschub.clock import utcnow

    refused = _page(offset, limit)
    if refused is not None:
        return refused
    targets = request.app.state.settings.cases_stage_targets
    today = utcnow().date()
    with get_db(request).read() as session:
        visible = followup_port.visible_case_ids(session, principal)
        items = proceedings.stage_alarms(
            session, today=today, targets=targets, case_ids=visible, limit=limit, offset=offset
        )
        total = proceedings.count_stage_alarms(
            session, today=today, targets=targets, case_ids=visible, cap=COUNT_CAP
        )
    return AlarmsOut(
        total=total,
        more_than_counted=total > COUNT_CAP,
        items=[
            AlarmOut(
                case_id=a.case_id,
                suspect_id=a.suspect_id,
                stage=a.stage,
                since=a.since,
                days=a.days,
                target=a.target,
            )
            for a in items
        ],
    )


@router.get("/case-follow-up/reminders", response_model=RemindersOut)
def list_reminders(
    request: Request,
    principal: Annotated[Principal, requires("cases.read")],
    offset: int = 0,
    limit: int = 50,
) -> RemindersOut | JSONResponse:
    """Steps that must be told and were not, in the cases the caller may see, oldest first."""
    from opschub.clock import utcnow

    refused = _page(offset, limit)
    if refused is not None:
        return refused
    within = request.app.state.settings.cases_inform_within_days
    with get_db(request).read() as session:
        visible = followup_port.visible_case_ids(session, principal)
        items = informing.reminders(
            session,
            today=utcnow().date(),
            within_days=within,
            case_ids=visible,
            limit=limit,
            offset=offset,
        )
        total = informing.count_reminders(session, case_ids=visible, cap=COUNT_CAP)
    return RemindersOut(
        total=total,
        more_than_counted=total > COUNT_CAP,
        items=[
            ReminderOut(
                case_id=r.case_id,
                step_id=r.step_id,
                kind=r.kind,
                on=r.on,
                days=r.days,
                overdue=r.overdue,
            )
            for r in items
        ],
    )
