"""The follow-up port's backend over cases-core's service functions (opschub.cases.service)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from opschub.cases.followup_port import CaseBrief, OpenCase, PersonBrief
from opschub.cases.limitation import Birth


class CasesCoreBackend:
    def _missing(self) -> Any:
        raise NotImplementedError("cases-core's service is not merged into this branch yet")

    def case_brief(self, session: Session, case_id: str) -> CaseBrief | None:
        return self._missing()  # type: ignore[no-any-return]

    def may_see(self, session: Session, actor: Any, case_id: str, *, write: bool) -> bool:
        return self._missing()  # type: ignore[no-any-return]

    def people(self, session: Session, case_id: str) -> list[PersonBrief]:
        return self._missing()  # type: ignore[no-any-return]

    def birth_of(self, session: Session, case_id: str, person_id: str) -> Birth | None:
        return self._missing()  # type: ignore[no-any-return]

    def languages_of(self, session: Session, case_id: str, person_id: str | None) -> list[str]:
        return self._missing()  # type: ignore[no-any-return]

    def open_cases_with_suspects(
        self, session: Session, case_ids: Sequence[str] | None
    ) -> list[OpenCase]:
        return self._missing()  # type: ignore[no-any-return]

    def visible_case_ids(self, session: Session, actor: Any) -> list[str] | None:
        return self._missing()  # type: ignore[no-any-return]
