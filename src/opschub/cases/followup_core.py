"""The follow-up port's backend over cases-core: its access rule
(:func:`opschub.cases.service.visible_clause`) and read-only looks at its case and people rows
(the follow-up is part of the same capability; cases-core's service stays their only writer).

Child suspects (the protected track, para 71) are left out of the people the follow-up offers:
no criminal proceedings step is recorded against a child here, so a child never appears in an
offender list or in the proceedings statistics.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from opschub.cases.followup_port import CaseBrief, OpenCase, PersonBrief
from opschub.cases.limitation import Birth
from opschub.cases.models import Case, CasePerson

CHUNK = 500


class CasesCoreBackend:
    def case_brief(self, session: Session, case_id: str) -> CaseBrief | None:
        from opschub.orgunits import service as orgunits

        case = session.get(Case, case_id)
        if case is None:
            return None
        unit = orgunits.by_id(session, case.org_unit_id)
        return CaseBrief(case.id, case.opened_on, unit.code if unit else None)

    def may_see(self, session: Session, actor: Any, case_id: str, *, write: bool) -> bool:
        from opschub.cases.service import visible_clause

        return (
            session.scalar(
                select(Case.id).where(Case.id == case_id, visible_clause(session, actor))
            )
            is not None
        )

    def people(self, session: Session, case_id: str) -> list[PersonBrief]:
        rows = session.execute(
            select(CasePerson.id, CasePerson.alias, CasePerson.role)
            .where(CasePerson.case_id == case_id, CasePerson.protected_track.is_(False))
            .order_by(CasePerson.role, CasePerson.alias)
        )
        return [PersonBrief(row.id, row.alias, row.role) for row in rows]

    def birth_of(self, session: Session, case_id: str, person_id: str) -> Birth | None:
        person = session.get(CasePerson, person_id)
        if person is None or person.case_id != case_id:
            return None
        if person.birth_date is not None:
            return Birth(on=person.birth_date)
        if person.birth_month:
            year, month = person.birth_month.split("-")
            return Birth(year=int(year), month=int(month))
        if person.estimated_age is not None:
            case = session.get(Case, case_id)
            assert case is not None
            return Birth(estimated_age=person.estimated_age, estimated_on=case.opened_on)
        return None

    def languages_of(self, session: Session, case_id: str, person_id: str | None) -> list[str]:
        # cases-core records no language for a person yet; the referral says none.
        return []

    def open_cases_with_suspects(
        self, session: Session, case_ids: Sequence[str] | Select[Any] | None
    ) -> list[OpenCase]:
        query = (
            select(Case.id, Case.opened_on, CasePerson.id.label("person_id"))
            .join(CasePerson, CasePerson.case_id == Case.id)
            .where(
                Case.status != "closed",
                CasePerson.role == "suspect",
                CasePerson.protected_track.is_(False),
            )
        )
        found: dict[str, list[str]] = defaultdict(list)
        opened = {}
        batches: list[Any]
        if case_ids is None or isinstance(case_ids, Select):
            batches = [case_ids]
        else:
            ids = list(case_ids)
            batches = [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]
        for batch in batches:
            q = query if batch is None else query.where(Case.id.in_(batch))
            for row in session.execute(q):
                found[row.id].append(row.person_id)
                opened[row.id] = row.opened_on
        return [OpenCase(cid, opened[cid], tuple(sorted(pids))) for cid, pids in found.items()]

    def visible_case_ids(self, session: Session, actor: Any) -> list[str] | Select[Any] | None:
        """A narrow scope as its few ids (the lists then look them up by index), a broad one as
        a Select that the lists' ordered walks test row by row (service.visible_ids_if_few)."""
        from opschub.cases.service import visible_clause, visible_ids_if_few

        if actor.kind == "system":
            return None
        few = visible_ids_if_few(session, actor)
        if few is not None:
            return few
        return select(Case.id).where(visible_clause(session, actor))
