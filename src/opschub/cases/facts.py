"""Read-only facts about cases for statistics: SQLAlchemy Selects (no session) with labelled
columns that :mod:`opschub.stats` groups on both engines.

A case counts once per form of exploitation it records (a case without a form counts under
``form`` NULL). Suspects on the protected track (children) appear in :func:`suspect_facts` as
counted rows only: no id, alias or case is selected (para 71). A child victim recorded as a
suspect counts only once a senior has confirmed it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, or_, select

from opschub.cases.models import Case, CaseForm, CasePerson, CaseRelationship
from opschub.orgunits.models import OrgUnit


def _base(*columns: Any) -> Select[Any]:
    return (
        select(
            Case.opened_on.label("opened_on"),
            OrgUnit.code.label("org_unit_code"),
            CaseForm.form.label("form"),
            *columns,
        )
        .select_from(Case)
        .join(OrgUnit, OrgUnit.id == Case.org_unit_id)
        .outerjoin(CaseForm, CaseForm.case_id == Case.id)
    )


def case_facts() -> Select[Any]:
    """opened_on, org_unit_code, form, setting, status: one row per case and form."""
    return _base(Case.setting.label("setting"), Case.status.label("status"))


def victim_facts() -> Select[Any]:
    """opened_on, org_unit_code, form, sex, age_band (at the case's opening; NULL for an adult),
    setting: one row per victim and form."""
    return _base(
        CasePerson.sex.label("sex"),
        CasePerson.age_band.label("age_band"),
        Case.setting.label("setting"),
    ).join(CasePerson, (CasePerson.case_id == Case.id) & (CasePerson.role == "victim"))


def suspect_facts() -> Select[Any]:
    """opened_on, org_unit_code, form, offender_category, relationship (to a victim in the case;
    NULL when none is recorded): one row per suspect, form and relationship."""
    victim = CasePerson.__table__.alias("victim")
    return (
        _base(
            CasePerson.offender_category.label("offender_category"),
            CaseRelationship.relationship.label("relationship"),
        )
        .join(
            CasePerson,
            (CasePerson.case_id == Case.id)
            & (CasePerson.role == "suspect")
            & or_(
                CasePerson.suspect_confirmation.is_(None),
                CasePerson.suspect_confirmation == "confirmed",
            ),
        )
        .outerjoin(
            CaseRelationship,
            (CaseRelationship.person_id == CasePerson.id)
            & CaseRelationship.other_person_id.in_(
                select(victim.c.id).where(victim.c.role == "victim").scalar_subquery()
            ),
        )
    )
