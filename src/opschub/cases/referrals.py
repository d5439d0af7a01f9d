"""Referrals of a child to services (paras 24, 96): the directory of services per region, the
referral with the recorded consent of the child or the guardian, its follow-ups, and sending it
to the partner by email or signed webhook through the job worker.

The only writer of ``referral_services``, ``case_referrals`` and ``case_referral_followups``;
every change writes an audit event in the same transaction. No web imports.

Consent. A referral records who agreed: the child or the guardian. Without either, a person
holding ``cases.consent_override`` may refer anyway, with a reason (encrypted; the audit event
says that a reason was given, not what it is). Anyone else is refused and the refusal is audited.

What leaves the system. The message to the partner carries the referral's id, the kind of
service, the due date, the languages the child speaks and a link back; never a name, the notes
or the reason: the partner calls the case worker for the rest. It is written in the service's
language (the first of Chinese or English among the service's languages, else the operator's
default language): the email says so in ``Content-Language``, the webhook body in ``language``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from opschub.audit import service as audit
from opschub.cases import stages_state
from opschub.cases.followup_common import (
    CaseIds,
    FieldError,
    FollowupActor,
    FollowupInvalid,
    FollowupNotFound,
    FollowupRefused,
    StaleEdit,
    few_cases,
    rows_of_cases,
)
from opschub.cases.followup_models import (
    CONSENT_BY,
    DELIVERY_CHANNELS,
    REFERRAL_STATUSES,
    SERVICE_KINDS,
    CaseReferral,
    ReferralFollowUp,
    ReferralService,
)
from opschub.clock import utcnow

SEND_KIND = "cases.send_referral"
OVERRIDE_PERMISSION = "cases.consent_override"
# Allowed moves of a referral (a follow-up may also keep the status and add a note).
MOVES: dict[str, tuple[str, ...]] = {
    "sent": ("accepted", "declined", "closed"),
    "accepted": ("service_given", "closed"),
    "declined": ("closed",),
    "service_given": ("closed",),
    "closed": (),
}
OPEN_STATUSES = ("sent", "accepted")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


@dataclass(frozen=True)
class ServiceView:
    id: str
    org_unit_code: str
    kind: str
    name: str
    languages: tuple[str, ...]
    contact: str | None
    delivery: str
    active: bool


@dataclass(frozen=True)
class ReferralView:
    id: str
    case_id: str
    person_id: str | None
    service_id: str
    service_name: str
    service_kind: str
    status: str
    sent_on: date
    due_on: date | None
    consent_by: str
    delivery_state: str
    version: int
    note: str | None
    overdue: bool


def _service_view(row: ReferralService) -> ServiceView:
    return ServiceView(
        row.id,
        row.org_unit_code,
        row.kind,
        row.name,
        tuple(row.languages or ()),
        row.contact,
        row.delivery,
        row.active,
    )


def add_service(
    session: Session,
    actor: FollowupActor,
    *,
    org_unit_code: str,
    kind: str,
    name: str,
    languages: Sequence[str] = (),
    contact: str | None = None,
    delivery: str = "none",
    email: str | None = None,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
) -> ServiceView:
    """Add a service to the directory; every bad field is named, nothing is stored."""
    errors: list[FieldError] = []
    if not org_unit_code.strip():
        errors.append(FieldError("org_unit_code", "is required"))
    if kind not in SERVICE_KINDS:
        errors.append(FieldError("kind", f"must be one of {', '.join(SERVICE_KINDS)}"))
    if not name.strip() or len(name) > 200:
        errors.append(FieldError("name", "is required, at most 200 characters"))
    bad_langs = [lang for lang in languages if not _LANG.match(lang)]
    if bad_langs:
        errors.append(FieldError("languages", f"{bad_langs[0]!r} is not a language tag"))
    if delivery not in DELIVERY_CHANNELS:
        errors.append(FieldError("delivery", f"must be one of {', '.join(DELIVERY_CHANNELS)}"))
    if delivery == "email" and not (email and _EMAIL.match(email)):
        errors.append(FieldError("email", "an email address is needed to send by email"))
    if delivery == "webhook":
        if not (webhook_url and webhook_url.startswith(("https://", "http://"))):
            errors.append(FieldError("webhook_url", "an https:// URL is needed"))
        if not webhook_secret or len(webhook_secret) < 16:
            errors.append(FieldError("webhook_secret", "at least 16 characters"))
    if errors:
        raise FollowupInvalid(errors)
    row = ReferralService(
        org_unit_code=org_unit_code.strip(),
        kind=kind,
        name=name.strip(),
        languages=list(languages),
        contact=contact or None,
        delivery=delivery,
        email=email or None,
        webhook_url=webhook_url or None,
        webhook_secret=webhook_secret or None,
        active=True,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        action="cases.service.added",
        actor=actor,
        target_type="referral_service",
        target_id=row.id,
        details={"service_kind": kind, "org_unit": row.org_unit_code, "delivery": delivery},
    )
    return _service_view(row)


def remove_unused_services(session: Session, *, name: str, actor_label: str) -> int:
    """Delete the directory entries called ``name`` that no referral names (the demo's one-stop
    centres, when ``opschub demo remove`` has taken the demo cases); one audit event."""
    used = select(CaseReferral.service_id).distinct()
    ids = list(
        session.scalars(
            select(ReferralService.id).where(
                ReferralService.name == name, ReferralService.id.not_in(used)
            )
        )
    )
    if ids:
        session.execute(delete(ReferralService).where(ReferralService.id.in_(ids)))
        audit.record(
            session,
            action="cases.service.removed",
            actor_label=actor_label,
            target_type="referral_service",
            details={"services": len(ids), "name": name},
        )
    return len(ids)


def services(
    session: Session, *, org_unit_codes: Sequence[str] | None = None, kind: str | None = None
) -> list[ServiceView]:
    """The directory: active services in the given regions (all when None)."""
    query = select(ReferralService).where(ReferralService.active.is_(True))
    if org_unit_codes is not None:
        query = query.where(ReferralService.org_unit_code.in_(list(org_unit_codes)))
    if kind is not None:
        query = query.where(ReferralService.kind == kind)
    rows = session.scalars(
        query.order_by(ReferralService.org_unit_code, ReferralService.kind, ReferralService.name)
    )
    return [_service_view(row) for row in rows]


def get_service(session: Session, service_id: str) -> ServiceView:
    row = session.get(ReferralService, service_id)
    if row is None:
        raise FollowupNotFound(f"no service {service_id}")
    return _service_view(row)


def _view(row: CaseReferral, service: ReferralService, today: date) -> ReferralView:
    return ReferralView(
        id=row.id,
        case_id=row.case_id,
        person_id=row.person_id,
        service_id=row.service_id,
        service_name=service.name,
        service_kind=service.kind,
        status=row.status,
        sent_on=row.sent_on,
        due_on=row.due_on,
        consent_by=row.consent_by,
        delivery_state=row.delivery_state,
        version=row.version_id,
        note=row.note,
        overdue=bool(row.due_on and row.due_on < today and row.status in OPEN_STATUSES),
    )


def refer(
    session: Session,
    actor: FollowupActor,
    *,
    case_id: str,
    service_id: str,
    consent_by: str,
    person_id: str | None = None,
    override_reason: str | None = None,
    due_on: date | None = None,
    note: str | None = None,
    send: bool = True,
) -> ReferralView:
    """Refer the child of ``case_id`` to a service. ``consent_by`` "override" needs the
    permission ``cases.consent_override`` and a reason; a refusal raises
    :class:`FollowupRefused` (the caller audits it in its own transaction: see
    :func:`record_refusal`)."""
    from opschub.cases import followup_port

    followup_port.require_case(session, actor, case_id, write=True)
    today = utcnow().date()
    errors: list[FieldError] = []
    service = session.get(ReferralService, service_id)
    if service is None or not service.active:
        errors.append(FieldError("service_id", "no such service in the directory"))
    if consent_by not in CONSENT_BY:
        errors.append(FieldError("consent_by", "say who agreed: the child or the guardian"))
    reason = (override_reason or "").strip()
    if consent_by == "override":
        if not actor.can(OVERRIDE_PERMISSION):
            raise FollowupRefused(
                "referring without the consent of the child or the guardian needs the "
                "permission cases.consent_override"
            )
        if len(reason) < 10:
            errors.append(FieldError("override_reason", "give the reason (at least 10 characters)"))
    if due_on is not None and due_on < today:
        errors.append(FieldError("due_on", "must not be in the past"))
    if person_id is not None and not followup_port.person_in_case(session, case_id, person_id):
        errors.append(FieldError("person_id", "is not a person of this case"))
    if errors:
        raise FollowupInvalid(errors)
    assert service is not None
    row = CaseReferral(
        case_id=case_id,
        person_id=person_id,
        service_id=service_id,
        status="sent",
        sent_on=today,
        due_on=due_on,
        consent_by=consent_by,
        override_reason=reason if consent_by == "override" else None,
        note=note or None,
        delivery_state="not_sent",
        created_by_id=actor.id,
        status_changed_at=utcnow(),
    )
    session.add(row)
    session.flush()
    if send and service.delivery != "none":
        from opschub.jobs import service as jobs

        row.delivery_state = "queued"
        jobs.schedule(
            session, kind=SEND_KIND, key=f"{SEND_KIND}:{row.id}", payload={"referral_id": row.id}
        )
    audit.record(
        session,
        action="cases.referral.created",
        actor=actor,
        target_type="case_referral",
        target_id=row.id,
        details={
            "case": case_id,
            "service_kind": service.kind,
            "consent_by": consent_by,
            "with_reason": consent_by == "override",
            "delivery": service.delivery if send else "none",
        },
    )
    session.flush()
    return _view(row, service, today)


def record_refusal(session: Session, actor: FollowupActor, *, case_id: str, why: str) -> None:
    """Audit a refused consent override (in a transaction of its own)."""
    audit.record(
        session,
        action="cases.referral.override_refused",
        actor=actor,
        target_type="case",
        target_id=case_id,
        outcome="refused",
        details={"permission": OVERRIDE_PERMISSION, "why": why[:200]},
    )


def follow_up(
    session: Session,
    actor: FollowupActor,
    referral_id: str,
    *,
    to_status: str,
    expected_version: int,
    note: str | None = None,
    next_due_on: date | None = None,
) -> ReferralView:
    """Record a follow-up: a move to ``to_status`` (or the same status with a note) and the next
    due date. ``expected_version`` is the version the person saw: a stale edit is refused."""
    from opschub.cases import followup_port

    row = session.get(CaseReferral, referral_id)
    if row is None:
        raise FollowupNotFound(f"no referral {referral_id}")
    followup_port.require_case(session, actor, row.case_id, write=True)
    if row.version_id != expected_version:
        raise StaleEdit(
            "someone else changed this referral since you opened it",
            {"status": row.status, "due_on": row.due_on.isoformat() if row.due_on else None},
        )
    today = utcnow().date()
    errors: list[FieldError] = []
    if to_status not in REFERRAL_STATUSES:
        errors.append(FieldError("status", f"must be one of {', '.join(REFERRAL_STATUSES)}"))
    elif to_status != row.status and to_status not in MOVES[row.status]:
        allowed = ", ".join(MOVES[row.status]) or "none"
        errors.append(
            FieldError("status", f"a referral {row.status} cannot become {to_status} ({allowed})")
        )
    elif to_status == row.status and not (note or "").strip() and next_due_on is None:
        errors.append(FieldError("note", "write what happened, or change the status"))
    if next_due_on is not None and next_due_on < today:
        errors.append(FieldError("next_due_on", "must not be in the past"))
    if errors:
        raise FollowupInvalid(errors)
    from_status = row.status
    session.add(
        ReferralFollowUp(
            referral_id=row.id,
            from_status=from_status,
            to_status=to_status,
            note=(note or "").strip() or None,
            next_due_on=next_due_on,
            actor_id=actor.id,
            actor_name=actor.name,
        )
    )
    if to_status != from_status:
        row.status = to_status
        row.status_changed_at = utcnow()
    row.due_on = next_due_on if to_status in OPEN_STATUSES else None
    session.flush()
    audit.record(
        session,
        action="cases.referral.followed_up",
        actor=actor,
        target_type="case_referral",
        target_id=row.id,
        details={"referral_from": from_status, "referral_to": to_status},
    )
    service = session.get(ReferralService, row.service_id)
    assert service is not None
    return _view(row, service, today)


def referrals_of(session: Session, case_id: str) -> list[ReferralView]:
    today = utcnow().date()
    rows = session.execute(
        select(CaseReferral, ReferralService)
        .join(ReferralService, ReferralService.id == CaseReferral.service_id)
        .where(CaseReferral.case_id == case_id)
        .order_by(CaseReferral.created_at)
    ).all()
    return [_view(r, s, today) for r, s in rows]


def _overdue_of_cases(session: Session, ids: list[str], *, today: date) -> list[Any]:
    """The overdue referrals of a few cases (a narrow scope), oldest due first, read by case."""
    pairs = [
        (referral, service)
        for referral, service in rows_of_cases(
            session,
            select(CaseReferral, ReferralService).join(
                ReferralService, ReferralService.id == CaseReferral.service_id
            ),
            CaseReferral.case_id,
            ids,
        )
        if referral.status in OPEN_STATUSES and referral.due_on and referral.due_on < today
    ]
    pairs.sort(key=lambda pair: (pair[0].due_on, pair[0].id))
    return pairs


def _overdue_queries(*, today: date, case_ids: CaseIds) -> list[Any]:
    """Per open status, a walk of ix_case_referrals_due (status, due_on) that stops after the
    page, the visible cases tested row by row (a correlated EXISTS)."""
    return [
        stages_state.scoped(
            select(CaseReferral, ReferralService)
            .join(ReferralService, ReferralService.id == CaseReferral.service_id)
            .where(CaseReferral.status == status, CaseReferral.due_on < today),
            CaseReferral.case_id,
            case_ids,
        )
        for status in OPEN_STATUSES
    ]


def overdue(
    session: Session,
    *,
    today: date,
    case_ids: CaseIds = None,
    limit: int = 200,
    offset: int = 0,
) -> list[ReferralView]:
    """Open referrals past their due date, oldest first; ``limit`` of them after ``offset``."""
    few = few_cases(case_ids)
    if few is not None:
        rows = _overdue_of_cases(session, few, today=today)
    else:
        rows = []
        for query in _overdue_queries(today=today, case_ids=case_ids):
            rows.extend(session.execute(query.order_by(CaseReferral.due_on).limit(offset + limit)))
        rows.sort(key=lambda pair: (pair[0].due_on, pair[0].id))
    return [_view(r, s, today) for r, s in rows[offset : offset + limit]]


def count_overdue(
    session: Session, *, today: date, case_ids: CaseIds = None, cap: int = 1000
) -> int:
    """How many :func:`overdue` referrals there are in all, counted up to ``cap + 1``."""
    few = few_cases(case_ids)
    if few is not None:
        return min(len(_overdue_of_cases(session, few, today=today)), cap + 1)
    total = 0
    for query in _overdue_queries(today=today, case_ids=case_ids):
        ids = query.with_only_columns(CaseReferral.id).limit(cap + 1).subquery()
        total += session.scalar(select(func.count()).select_from(ids)) or 0
    return min(total, cap + 1)


@dataclass(frozen=True)
class Outgoing:
    """A referral message ready to go: where, how, and the body (no personal data), with its
    texts in ``language`` (the service's: see :func:`message_language`)."""

    referral_id: str
    delivery: str
    email: str | None
    webhook_url: str | None
    webhook_secret: str | None
    body: dict[str, object]
    language: str = "en"
    subject: str = ""
    text: str = ""


def message_language(service_languages: Sequence[str], default: str) -> str:
    """The language a message to a service is written in: the first of its languages that
    opschub writes (Chinese or English, e.g. ``zh``, ``zh-CN``, ``en-GB``), else ``default``
    (the operator's default language)."""
    from opschub.config import SUPPORTED_LANGUAGES
    from opschub.i18n import match_language

    for tag in service_languages:
        found = match_language(tag, SUPPORTED_LANGUAGES)
        if found is not None:
            return found
    return default if default in SUPPORTED_LANGUAGES else "en"


def _language_name(tag: str, lang: str) -> str:
    """``bo`` -> "Tibetan" / "藏语": a partner reads the child's languages as names."""
    from babel import Locale, UnknownLocaleError

    try:
        name = Locale.parse(tag, sep="-").get_display_name(lang.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return tag
    return name or tag


def _texts(body: dict[str, object], lang: str) -> tuple[str, str]:
    """The subject and the plain text of a referral message in ``lang``."""
    from opschub import labels
    from opschub.i18n import translations
    from opschub.terms.checker import ensure_clean

    gettext = translations(lang).gettext
    kind = labels.label("service_kind", str(body["service_kind"]), gettext, lang)
    tags = body["languages"]
    assert isinstance(tags, list)
    spoken = [_language_name(str(t), lang) for t in tags]
    values = {
        "referral": body["referral_id"],
        "service": kind,
        "due": body["due_on"] or "–",
        "languages": gettext("; ").join(spoken) if spoken else "–",
        "link": body["link"],
    }
    subject = gettext("Referral of a child to your service (%(service)s)") % values
    text = (
        gettext(
            "A child has been referred to your service. Please contact the case worker "
            "through the link below; no personal data is sent in this message."
        )
        + "\n\n"
        + gettext("Referral: %(referral)s") % values
        + "\n"
        + gettext("Service: %(service)s") % values
        + "\n"
        + gettext("Please respond by: %(due)s") % values
        + "\n"
        + gettext("Languages the child speaks: %(languages)s") % values
        + "\n"
        + gettext("Link: %(link)s") % values
        + "\n"
    )
    check_lang = "en" if lang == "en" else "zh"
    ensure_clean(subject, lang=check_lang, markup=False)
    ensure_clean(text, lang=check_lang, markup=False)
    return subject, text


def outgoing(
    session: Session, referral_id: str, *, base_url: str, default_language: str = "en"
) -> Outgoing | None:
    """What the job sends for ``referral_id``; None when it is no longer to be sent.

    Its texts are in the service's language (:func:`message_language`); the body names that
    language (``language``) and carries the same text (``text``)."""
    row = session.get(CaseReferral, referral_id)
    if row is None or row.delivery_state == "delivered":
        return None
    service = session.get(ReferralService, row.service_id)
    if service is None or service.delivery == "none":
        return None
    from opschub.cases import followup_port

    body: dict[str, object] = {
        "event": "cases.referral",
        "referral_id": row.id,
        "service_kind": service.kind,
        "sent_on": row.sent_on.isoformat(),
        "due_on": row.due_on.isoformat() if row.due_on else None,
        "languages": followup_port.languages_of(session, row.case_id, row.person_id),
        "link": f"{base_url}/cases/{row.case_id}/follow-up#referrals",
    }
    lang = message_language(service.languages or (), default_language)
    subject, text = _texts(body, lang)
    body["language"] = lang
    body["subject"] = subject
    body["text"] = text
    return Outgoing(
        row.id,
        service.delivery,
        service.email,
        service.webhook_url,
        service.webhook_secret,
        body,
        lang,
        subject,
        text,
    )


def mark_delivered(session: Session, referral_id: str, *, how: str) -> None:
    row = session.get(CaseReferral, referral_id)
    if row is None or row.delivery_state == "delivered":
        return
    row.delivery_state = "delivered"
    row.delivered_at = utcnow()
    audit.record(
        session,
        action="cases.referral.delivered",
        actor_label="system",
        target_type="case_referral",
        target_id=referral_id,
        details={"delivery": how},
    )


def mark_failed(session: Session, referral_id: str, *, error: str) -> None:
    row = session.get(CaseReferral, referral_id)
    if row is None or row.delivery_state == "delivered":
        return
    row.delivery_state = "failed"
    audit.record(
        session,
        action="cases.referral.delivery_failed",
        actor_label="system",
        target_type="case_referral",
        target_id=referral_id,
        outcome="failed",
        details={"error": error[:300]},
    )


def body_bytes(message: Outgoing) -> bytes:
    return json.dumps(message.body, ensure_ascii=False, sort_keys=True).encode()


def referral_case(session: Session, referral_id: str) -> str | None:
    """The case a referral belongs to (None: no such referral)."""
    row = session.get(CaseReferral, referral_id)
    return None if row is None else row.case_id
