"""Case tables. Written only by :mod:`opschub.cases.service` (cases-follow adds its own tables in
its own modules and writes them through its own service).

People are pseudonymous: a case-local alias is what pages, lists and exports show; the real name is
a separate encrypted column whose every read is audited. A child suspect is on the protected track
(``protected_track``): never listed with offenders or exported, counted only in aggregate. Codes
come from :mod:`opschub.taxonomy` (forms, participation, sex, setting, offender category,
relationship) or from the tuples below; constraints check them.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    column,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from opschub import taxonomy
from opschub.clock import utcnow
from opschub.crypto import EncryptedText
from opschub.db import Base, IdMixin, TimestampMixin

STATUSES = ("open", "in_progress", "on_hold", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
ROLES = ("victim", "suspect", "guardian", "witness")
VULNERABILITIES = (
    "disability",
    "migrant",
    "unaccompanied",
    "alternative_care",
    "street_connected",
    "out_of_school",
    "child_labour",
    "other",
)
# A suspect recorded for a child victim (para 67): pending until a senior confirms it.
SUSPECT_CONFIRMATIONS = ("pending", "confirmed")
# Making images of oneself: never recorded against a child (para 67).
SELF_GENERATED = "self_generated_images"
# Record-level scope of a person's case access (on top of their role's permissions).
SCOPES = ("own", "team", "region", "all")
# Who may see a case that is not restricted: everyone whose scope reaches it. A restricted case:
# only its named members (and nobody else, whatever their scope).
AGE_BANDS = taxonomy.AGE_BAND.values
MAX_TITLE = 200
MAX_ALIAS = 60
MAX_TEAM = 64
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def case_reference(case_id: str) -> str:
    """The short reference people read and type (``C-7KQ2-M9XD``), derived from the id (see
    :func:`opschub.intake.models.report_reference`; a search by reference lists every match)."""
    value = int.from_bytes(hashlib.sha256(case_id.encode("ascii")).digest()[:5], "big")
    symbols = "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(35, -1, -5))
    return f"C-{symbols[:4]}-{symbols[4:]}"


def _reference_default(context: Any) -> str:
    return case_reference(context.get_current_parameters()["id"])


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Case(IdMixin, TimestampMixin, Base):
    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint(_in("priority", PRIORITIES), name="priority"),
        CheckConstraint(
            f"setting IS NULL OR {_in('setting', taxonomy.SETTING.values)}", name="setting"
        ),
        CheckConstraint("closed_at IS NULL OR closed_at >= opened_at", name="closed_after_opened"),
        # The case list's orders and filters: newest first within a scope, stopping at a page.
        Index("ix_cases_opened", "opened_at", "id"),
        Index("ix_cases_unit_opened", "org_unit_id", "opened_at", "id"),
        Index("ix_cases_assignee_opened", "assigned_to_id", "opened_at", "id"),
        Index("ix_cases_team_opened", "team", "opened_at", "id"),
        Index("ix_cases_status_opened", "status", "opened_at", "id"),
        # The cases a person opened (their record-level scope, service.visible_ids_if_few).
        Index("ix_cases_creator", "created_by_id"),
    )

    reference: Mapped[str] = mapped_column(
        String(12), nullable=False, index=True, default=_reference_default
    )
    # A short description for the case list; never a person's name (people have aliases).
    title: Mapped[str] = mapped_column(String(MAX_TITLE), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    priority: Mapped[str] = mapped_column(String(8), nullable=False, default="normal")
    setting: Mapped[str | None] = mapped_column(String(8))
    org_unit_id: Mapped[str] = mapped_column(ForeignKey("org_units.id"), nullable=False)
    team: Mapped[str | None] = mapped_column(String(MAX_TEAM))
    assigned_to_id: Mapped[str | None] = mapped_column(String(32))
    restricted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    opened_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    # The calendar day of opened_at (UTC), stored for counting by day on both engines.
    opened_on: Mapped[date] = mapped_column(Date, nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column()
    created_by_id: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    is_demo: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    version_id: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version_id}  # noqa: RUF012


class CaseForm(IdMixin, Base):
    """A form of exploitation in the case, with how the suspects took part."""

    __tablename__ = "case_forms"
    __table_args__ = (
        CheckConstraint(_in("form", taxonomy.FORM_OF_EXPLOITATION.values), name="form"),
        CheckConstraint(_in("participation", taxonomy.PARTICIPATION.values), name="participation"),
        UniqueConstraint("case_id", "form"),
    )

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), nullable=False)
    form: Mapped[str] = mapped_column(String(32), nullable=False)
    participation: Mapped[str] = mapped_column(String(16), nullable=False, default="committed")


class CaseReport(IdMixin, TimestampMixin, Base):
    """An intake report the case came from or was linked to later."""

    __tablename__ = "case_reports"
    __table_args__ = (UniqueConstraint("case_id", "report_id"),)

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), nullable=False)
    report_id: Mapped[str] = mapped_column(
        ForeignKey("intake_reports.id", ondelete="CASCADE"), nullable=False, index=True
    )
    added_by_id: Mapped[str | None] = mapped_column(String(32))


class CaseEvidence(IdMixin, TimestampMixin, Base):
    """A reference to an evidence item in the vault (never the material itself)."""

    __tablename__ = "case_evidence"
    __table_args__ = (UniqueConstraint("case_id", "evidence_item_id"),)

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), nullable=False)
    evidence_item_id: Mapped[str] = mapped_column(
        ForeignKey("evidence_items.id"), nullable=False, index=True
    )
    added_by_id: Mapped[str | None] = mapped_column(String(32))


class CaseLink(IdMixin, TimestampMixin, Base):
    """Two related cases (stored once, ``case_id`` < ``other_case_id``)."""

    __tablename__ = "case_links"
    __table_args__ = (
        CheckConstraint("case_id < other_case_id", name="ordered_pair"),
        UniqueConstraint("case_id", "other_case_id"),
    )

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), nullable=False)
    other_case_id: Mapped[str] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True
    )
    added_by_id: Mapped[str | None] = mapped_column(String(32))


class CasePerson(IdMixin, TimestampMixin, Base):
    __tablename__ = "case_people"
    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="role"),
        CheckConstraint(_in("sex", taxonomy.SEX.values), name="sex"),
        CheckConstraint(
            "offender_category IS NULL OR "
            + _in("offender_category", taxonomy.OFFENDER_CATEGORY.values),
            name="offender_category",
        ),
        CheckConstraint(f"age_band IS NULL OR {_in('age_band', AGE_BANDS)}", name="age_band"),
        CheckConstraint(
            f"suspect_confirmation IS NULL OR {_in('suspect_confirmation', SUSPECT_CONFIRMATIONS)}",
            name="suspect_confirmation",
        ),
        CheckConstraint(
            "(CASE WHEN birth_date IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN birth_month IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN estimated_age IS NULL THEN 0 ELSE 1 END) <= 1",
            name="one_kind_of_age",
        ),
        UniqueConstraint("case_id", "alias"),
        Index("ix_case_people_case_role", "case_id", "role"),
        # Duplicate-person hints: the same alias whatever the case of its letters (the
        # comparison is lower(alias) = lower(:alias)), or the same birth month and region.
        Index("ix_case_people_alias_lower", func.lower(column("alias"))),
        Index("ix_case_people_birth_region", "birth_month", "residence_unit_id"),
        # Deleting a person cascades to the suspects recorded for them (para 67): without an
        # index PostgreSQL reads the whole table for every person deleted.
        Index("ix_case_people_victim_person_id", "victim_person_id"),
    )

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    alias: Mapped[str] = mapped_column(String(MAX_ALIAS), nullable=False)
    # Deferred: loading a person never decrypts the name; service.read_real_name does (audited).
    real_name: Mapped[str | None] = mapped_column(
        EncryptedText("case_people.real_name"), deferred=True
    )
    sex: Mapped[str] = mapped_column(String(8), nullable=False, default="unknown")
    birth_date: Mapped[date | None] = mapped_column(Date)
    birth_month: Mapped[str | None] = mapped_column(String(7))  # "YYYY-MM"
    estimated_age: Mapped[int | None] = mapped_column(Integer)
    # Completed years when the case was opened (None: unknown) and its statistical band
    # (None for an adult); written with the person, used by facts and the protected track.
    age_at_opening: Mapped[int | None] = mapped_column(Integer)
    age_band: Mapped[str | None] = mapped_column(String(8))
    nationality: Mapped[str | None] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    residence_unit_id: Mapped[str | None] = mapped_column(ForeignKey("org_units.id"))
    vulnerabilities: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    offender_category: Mapped[str | None] = mapped_column(String(16))
    # A child suspect: visible only with cases.protected, never listed or exported (para 71).
    protected_track: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # A child victim recorded as a suspect (para 67): the victim, the reason, the senior's
    # confirmation.
    victim_person_id: Mapped[str | None] = mapped_column(
        ForeignKey("case_people.id", ondelete="CASCADE")
    )
    suspect_reason: Mapped[str | None] = mapped_column(EncryptedText("case_people.suspect_reason"))
    # What the suspect is said to have done (form codes, or "self_generated_images").
    suspect_acts: Mapped[list[str] | None] = mapped_column(JSON)
    suspect_confirmation: Mapped[str | None] = mapped_column(String(16))
    requested_by_id: Mapped[str | None] = mapped_column(String(32))
    confirmed_by_id: Mapped[str | None] = mapped_column(String(32))
    confirmed_at: Mapped[datetime | None] = mapped_column()
    version_id: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version_id}  # noqa: RUF012


class CaseRelationship(IdMixin, TimestampMixin, Base):
    """How one person in a case is related to another (usually a suspect to a child victim).

    One row per pair, whichever direction; when one of the two is a victim, the victim is
    ``other_person_id`` (see :func:`opschub.cases.service.add_relationship`)."""

    __tablename__ = "case_relationships"
    __table_args__ = (
        CheckConstraint(_in("relationship", taxonomy.RELATIONSHIP.values), name="relationship"),
        CheckConstraint("person_id <> other_person_id", name="two_people"),
        UniqueConstraint("person_id", "other_person_id"),
    )

    case_id: Mapped[str] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True
    )
    person_id: Mapped[str] = mapped_column(
        ForeignKey("case_people.id", ondelete="CASCADE"), nullable=False
    )
    other_person_id: Mapped[str] = mapped_column(
        ForeignKey("case_people.id", ondelete="CASCADE"), nullable=False, index=True
    )
    relationship: Mapped[str] = mapped_column(String(24), nullable=False)


class CaseMember(IdMixin, TimestampMixin, Base):
    """A person named on a restricted case: only members see it."""

    __tablename__ = "case_members"
    __table_args__ = (UniqueConstraint("case_id", "user_id"),)

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    added_by_id: Mapped[str | None] = mapped_column(String(32))


class CaseScope(TimestampMixin, Base):
    """A person's record-level case scope, set by an administrator (none: own cases only).

    ``team`` names the team for the ``team`` scope, ``org_unit_id`` the region for ``region``
    (the unit and everything below it). ``senior`` marks a case worker who may confirm that a
    child victim is recorded as a suspect (para 67).
    """

    __tablename__ = "case_scopes"
    __table_args__ = (
        CheckConstraint(_in("scope", SCOPES), name="scope"),
        CheckConstraint("scope <> 'team' OR team IS NOT NULL", name="team_for_team"),
        CheckConstraint("scope <> 'region' OR org_unit_id IS NOT NULL", name="unit_for_region"),
    )

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    scope: Mapped[str] = mapped_column(String(8), nullable=False, default="own")
    team: Mapped[str | None] = mapped_column(String(MAX_TEAM))
    org_unit_id: Mapped[str | None] = mapped_column(ForeignKey("org_units.id"))
    senior: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    set_by_id: Mapped[str | None] = mapped_column(String(32))
