"""Follow-up tables of a case: the services directory, referrals, proceedings, offences with their
limitation deadline, and the log of what the child was told.

Written only by the service modules :mod:`opschub.cases.referrals` (services, referrals and their
follow-ups), :mod:`opschub.cases.proceedings` (proceedings and offences) and
:mod:`opschub.cases.informing` (the informed log), each change with an audit event.

Nothing here names a person in clear: people are referred to by their ids in the case
(cases-core's people table); contact details of services that may be a person's, reasons for a
consent override, outcomes and what the child was told are encrypted at rest. A service's webhook
secret is encrypted too.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from opschub.cases.stages import STEPS, WAITING_STAGES
from opschub.clock import utcnow
from opschub.crypto import EncryptedText
from opschub.db import Base, IdMixin, TimestampMixin

SERVICE_KINDS = (
    "one_stop_centre",
    "medical",
    "psychosocial",
    "legal_aid",
    "shelter",
    "family_tracing",
    "compensation_scheme",
)
DELIVERY_CHANNELS = ("none", "email", "webhook")
REFERRAL_STATUSES = ("sent", "accepted", "declined", "service_given", "closed")
# Who agreed to the referral; "override": nobody could or did, a person with
# cases.consent_override decided, with a reason.
CONSENT_BY = ("child", "guardian", "override")
DELIVERY_STATES = ("not_sent", "queued", "delivered", "failed")
INFORMED_WHO = ("child", "guardian", "child_and_guardian")
INFORMED_FORMS = ("in_person", "phone", "video", "letter", "message")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ReferralService(IdMixin, TimestampMixin, Base):
    """A service a child can be referred to, in a region (an org unit code)."""

    __tablename__ = "referral_services"
    __table_args__ = (
        CheckConstraint(_in("kind", SERVICE_KINDS), name="kind"),
        CheckConstraint(_in("delivery", DELIVERY_CHANNELS), name="delivery"),
        Index("ix_referral_services_unit", "org_unit_code", "kind"),
    )

    org_unit_code: Mapped[str] = mapped_column(String(32), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    languages: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    # Telephone, address, opening hours: may name a person, so encrypted.
    contact: Mapped[str | None] = mapped_column(EncryptedText("referral_services.contact"))
    delivery: Mapped[str] = mapped_column(String(16), nullable=False, default="none")
    email: Mapped[str | None] = mapped_column(EncryptedText("referral_services.email"))
    webhook_url: Mapped[str | None] = mapped_column(Text)
    webhook_secret: Mapped[str | None] = mapped_column(
        EncryptedText("referral_services.webhook_secret")
    )
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class CaseReferral(IdMixin, TimestampMixin, Base):
    __tablename__ = "case_referrals"
    __table_args__ = (
        CheckConstraint(_in("status", REFERRAL_STATUSES), name="status"),
        CheckConstraint(_in("consent_by", CONSENT_BY), name="consent_by"),
        CheckConstraint(_in("delivery_state", DELIVERY_STATES), name="delivery_state"),
        CheckConstraint(
            "consent_by <> 'override' OR override_reason IS NOT NULL", name="override_reason"
        ),
        Index("ix_case_referrals_case", "case_id", "created_at"),
        Index("ix_case_referrals_due", "status", "due_on"),
        # Deleting a person sets person_id to NULL here: found by this index, not a scan.
        Index("ix_case_referrals_person_id", "person_id"),
    )

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), nullable=False)
    person_id: Mapped[str | None] = mapped_column(
        ForeignKey("case_people.id", ondelete="SET NULL")
    )  # the child referred
    service_id: Mapped[str] = mapped_column(ForeignKey("referral_services.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="sent")
    sent_on: Mapped[date] = mapped_column(Date, nullable=False)
    due_on: Mapped[date | None] = mapped_column(Date)
    consent_by: Mapped[str] = mapped_column(String(16), nullable=False)
    override_reason: Mapped[str | None] = mapped_column(
        EncryptedText("case_referrals.override_reason")
    )
    note: Mapped[str | None] = mapped_column(EncryptedText("case_referrals.note"))
    delivery_state: Mapped[str] = mapped_column(String(16), nullable=False, default="not_sent")
    delivered_at: Mapped[datetime | None] = mapped_column()
    created_by_id: Mapped[str | None] = mapped_column(String(32))
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    version_id: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__: dict[str, Any] = {"version_id_col": version_id}  # noqa: RUF012


class ReferralFollowUp(IdMixin, TimestampMixin, Base):
    """One follow-up of a referral: a status change and/or a note, and the next due date."""

    __tablename__ = "case_referral_followups"
    __table_args__ = (Index("ix_case_referral_followups_referral", "referral_id", "created_at"),)

    referral_id: Mapped[str] = mapped_column(
        ForeignKey("case_referrals.id", ondelete="CASCADE"), nullable=False
    )
    from_status: Mapped[str] = mapped_column(String(16), nullable=False)
    to_status: Mapped[str] = mapped_column(String(16), nullable=False)
    note: Mapped[str | None] = mapped_column(EncryptedText("case_referral_followups.note"))
    next_due_on: Mapped[date | None] = mapped_column(Date)
    actor_id: Mapped[str | None] = mapped_column(String(32))
    actor_name: Mapped[str | None] = mapped_column(String(200))


class CaseProceeding(IdMixin, TimestampMixin, Base):
    """One step of the proceedings against one suspect (see :mod:`opschub.cases.stages`)."""

    __tablename__ = "case_proceedings"
    __table_args__ = (
        CheckConstraint(_in("kind", STEPS), name="kind"),
        CheckConstraint("amount IS NULL OR amount >= 0", name="amount"),
        Index("ix_case_proceedings_case", "case_id", "suspect_id", "occurred_on"),
        Index("ix_case_proceedings_on", "occurred_on"),
        # The informing reminders (opschub.cases.stages_state): untold steps, oldest first.
        Index("ix_case_proceedings_untold", "told", "occurred_on", "case_id", "id"),
        # Deleting a suspect cascades here (ix_case_proceedings_case starts with case_id).
        Index("ix_case_proceedings_suspect_id", "suspect_id"),
    )

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), nullable=False)
    suspect_id: Mapped[str] = mapped_column(
        ForeignKey("case_people.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    occurred_on: Mapped[date] = mapped_column(Date, nullable=False)
    outcome: Mapped[str | None] = mapped_column(EncryptedText("case_proceedings.outcome"))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    created_by_id: Mapped[str | None] = mapped_column(String(32))
    # Steps the child must be told of (stages.MUST_TELL): whether the informed log says they were
    # (the rule of opschub.cases.informing_rules.is_told); None for the other steps. Kept by
    # opschub.cases.stages_state.
    told: Mapped[bool | None] = mapped_column(Boolean)


class CaseStageWait(Base):
    """Where one suspect's proceedings wait now and since when (:func:`opschub.cases.stages.waiting`
    stored at write time): one row for the main track unless it is finished, one for compensation
    ordered and not paid. Only suspects of open cases off the protected track have rows. Written
    only by :mod:`opschub.cases.stages_state`; the alarms compare ``since`` with the stage targets
    at query time, so a change of the targets needs no rewrite."""

    __tablename__ = "case_stage_waits"
    __table_args__ = (
        CheckConstraint("track IN ('main', 'compensation')", name="track"),
        CheckConstraint(_in("stage", WAITING_STAGES), name="stage"),
        Index("ix_case_stage_waits_stage", "stage", "since", "case_id", "suspect_id"),
        Index("ix_case_stage_waits_case", "case_id"),
    )

    suspect_id: Mapped[str] = mapped_column(
        ForeignKey("case_people.id", ondelete="CASCADE"), primary_key=True
    )
    track: Mapped[str] = mapped_column(String(16), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), nullable=False)
    stage: Mapped[str] = mapped_column(String(32), nullable=False)
    since: Mapped[date] = mapped_column(Date, nullable=False)


class CaseOffence(IdMixin, TimestampMixin, Base):
    """An offence in a case with the limitation rule it falls under and its deadline, computed
    when the offence is recorded and again when what is known of the victim's birth changes or
    the national rule for its offence code changes (:mod:`opschub.cases.proceedings`)."""

    __tablename__ = "case_offences"
    __table_args__ = (
        Index("ix_case_offences_case", "case_id"),
        Index("ix_case_offences_falls", "falls_on"),
        # Deleting a person sets victim_id / suspect_id to NULL here: found by these indexes.
        Index("ix_case_offences_victim_id", "victim_id"),
        Index("ix_case_offences_suspect_id", "suspect_id"),
    )

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), nullable=False)
    victim_id: Mapped[str | None] = mapped_column(ForeignKey("case_people.id", ondelete="SET NULL"))
    suspect_id: Mapped[str | None] = mapped_column(
        ForeignKey("case_people.id", ondelete="SET NULL")
    )
    offence_code: Mapped[str] = mapped_column(String(40), nullable=False)
    committed_on: Mapped[date] = mapped_column(Date, nullable=False)
    rule: Mapped[str] = mapped_column(String(16), nullable=False)  # e.g. "20y", "none"
    starts_on: Mapped[date | None] = mapped_column(Date)
    falls_on: Mapped[date | None] = mapped_column(Date)
    exact: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class CaseInformed(IdMixin, TimestampMixin, Base):
    """What the child and/or guardian were told, when, by whom, in which language and form."""

    __tablename__ = "case_informed_log"
    __table_args__ = (
        CheckConstraint(_in("who", INFORMED_WHO), name="who"),
        CheckConstraint(_in("form", INFORMED_FORMS), name="form"),
        Index("ix_case_informed_log_case", "case_id", "told_on"),
    )

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), nullable=False)
    told_on: Mapped[date] = mapped_column(Date, nullable=False)
    who: Mapped[str] = mapped_column(String(24), nullable=False)
    language: Mapped[str] = mapped_column(String(16), nullable=False)
    form: Mapped[str] = mapped_column(String(16), nullable=False)
    what: Mapped[str] = mapped_column(EncryptedText("case_informed_log.what"), nullable=False)
    # ids of the proceedings steps this told of; empty: everything up to told_on
    steps: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    told_by_id: Mapped[str | None] = mapped_column(String(32))
    told_by_name: Mapped[str | None] = mapped_column(String(200))
