"""Read-only facts about the follow-up of cases for statistics (para 20(c): investigations,
prosecutions, convictions, sanctions, remedies): SQLAlchemy Selects (no session) with labelled
columns that :mod:`opschub.stats` groups on both engines.

Like :mod:`opschub.cases.facts`, a row counts once per form of exploitation of its case (a case
without a form counts under ``form`` NULL). Proceedings are never recorded against a child on
the protected track (:mod:`opschub.cases.followup_core`), so ``offender_category`` ``child`` does
not appear here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, case, literal, select

from opschub.cases.followup_models import CaseProceeding, CaseReferral, ReferralService
from opschub.cases.models import Case, CaseForm, CasePerson
from opschub.cases.stages import STAGE_OF_STEP
from opschub.orgunits.models import OrgUnit


def _select(*columns: Any) -> Select[Any]:
    return select(*columns)


def _stage() -> Any:
    return case(
        *((CaseProceeding.kind == step, literal(stage)) for step, stage in STAGE_OF_STEP.items()),
        else_=None,
    )


def proceeding_facts() -> Select[Any]:
    """on, org_unit_code, form, stage (investigation, prosecution, conviction, acquittal,
    sentence, appeal), offender_category: one row per step per suspect and form. Charges and
    hearings count under prosecution; compensation steps are in :func:`compensation_facts`."""
    query = (
        _select(
            CaseProceeding.occurred_on.label("on"),
            OrgUnit.code.label("org_unit_code"),
            CaseForm.form.label("form"),
            _stage().label("stage"),
            CasePerson.offender_category.label("offender_category"),
        )
        .select_from(CaseProceeding)
        .join(Case, Case.id == CaseProceeding.case_id)
        .join(OrgUnit, OrgUnit.id == Case.org_unit_id)
        .join(CasePerson, CasePerson.id == CaseProceeding.suspect_id)
        .outerjoin(CaseForm, CaseForm.case_id == Case.id)
        .where(CaseProceeding.kind.in_(list(STAGE_OF_STEP)))
    )
    return query


def referral_facts() -> Select[Any]:
    """sent_on, org_unit_code (the case's region), service_kind, status: one row per referral."""
    query = (
        _select(
            CaseReferral.sent_on.label("sent_on"),
            OrgUnit.code.label("org_unit_code"),
            ReferralService.kind.label("service_kind"),
            CaseReferral.status.label("status"),
        )
        .select_from(CaseReferral)
        .join(ReferralService, ReferralService.id == CaseReferral.service_id)
        .join(Case, Case.id == CaseReferral.case_id)
        .join(OrgUnit, OrgUnit.id == Case.org_unit_id)
    )
    return query


def compensation_facts() -> Select[Any]:
    """on, org_unit_code, kind (ordered, paid), amount: one row per compensation step."""
    kind = case(
        (CaseProceeding.kind == "compensation_ordered", literal("ordered")), else_=literal("paid")
    )
    query = (
        _select(
            CaseProceeding.occurred_on.label("on"),
            OrgUnit.code.label("org_unit_code"),
            kind.label("kind"),
            CaseProceeding.amount.label("amount"),
        )
        .select_from(CaseProceeding)
        .join(Case, Case.id == CaseProceeding.case_id)
        .join(OrgUnit, OrgUnit.id == Case.org_unit_id)
        .where(CaseProceeding.kind.in_(["compensation_ordered", "compensation_paid"]))
    )
    return query


__all__ = ["compensation_facts", "proceeding_facts", "referral_facts"]
