"""Cases: opening, people, links, access. The only writer of the tables in
:mod:`opschub.cases.models`.

Rules kept here (pages, the API and the import all come through these functions):

- Access is the role's permission (``cases.read`` / ``cases.manage``) *and* the person's record
  scope (:class:`~opschub.cases.models.CaseScope`: own, team, region, all; API tokens: all). A
  restricted case is seen only by its named members, whatever their scope.
- A child suspect is on the protected track: hidden from everyone without ``cases.protected``,
  never in an export, counted only in :mod:`opschub.cases.facts` (para 71).
- A child victim recorded as a suspect needs a stated reason and a senior's confirmation, and is
  refused outright for making images of themselves (para 67); the refusal is audited
  (:func:`record_self_images_refusal`) although the attempt is not saved.
- A corrected birth (date, month or estimated age) moves the limitation deadlines of the
  offences against the person (:func:`opschub.cases.proceedings.recompute_for_victim`).
- The real name is encrypted; each read of it is audited (``cases.person.name_read``).
- Relationships between people: one per pair, never with oneself, both people of the same case;
  a relationship with a protected-track person is invisible (not listed, not found) to those
  without ``cases.protected``.
- Edits carry the version the editor saw; a stale edit is refused with what changed.

Every bad field is named (:class:`FieldError`, messages are msgids translated by the caller);
nothing is half-saved: each use case is one transaction with its audit events.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    and_,
    exists,
    false,
    func,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from opschub import taxonomy
from opschub.audit import service as audit
from opschub.cases.models import (
    MAX_ALIAS,
    MAX_TEAM,
    MAX_TITLE,
    PRIORITIES,
    ROLES,
    SCOPES,
    SELF_GENERATED,
    STATUSES,
    VULNERABILITIES,
    Case,
    CaseEvidence,
    CaseForm,
    CaseLink,
    CaseMember,
    CasePerson,
    CaseRelationship,
    CaseReport,
    CaseScope,
)
from opschub.clock import utcnow
from opschub.ids import new_id
from opschub.orgunits import service as orgunits
from opschub.text import N_

MAX_REASON = 2000
MAX_NAME = 200
MIN_REASON = 10
PAGE_SIZE = 50
_BIRTH_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


# -- who acts ------------------------------------------------------------------------------------


class CaseActor(audit.Actor, Protocol):
    """Who acts and what they may do: :class:`opschub.accounts.principal.Principal` fits."""

    def can(self, permission: str) -> bool: ...


@dataclass(frozen=True)
class Importer:
    """The server's command line (``opschub cases import``): it may do everything a case worker
    may, with scope all; it never sees the protected track unless asked (``protected``)."""

    name: str = "command line"
    kind: str = "system"
    protected: bool = False

    @property
    def id(self) -> str:
        return f"cli:{self.name}"

    def can(self, permission: str) -> bool:
        return permission != "cases.protected" or self.protected


# -- errors --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str  # an English msgid; ``params`` fill its %(name)s places
    params: Mapping[str, object] = dc_field(default_factory=dict)

    def text(self, gettext: Any = None) -> str:
        message = gettext(self.message) if gettext else self.message
        return message % dict(self.params) if self.params else message

    def to_json(self, gettext: Any = None) -> dict[str, str]:
        return {"field": self.field, "message": self.text(gettext)}


class CasesError(Exception):
    """A request the cases service refuses or cannot carry out."""


class CaseInvalid(CasesError, ValueError):
    """Bad fields; nothing was stored. ``errors`` names every one."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.text()}" for e in self.errors[:10]))


class NotFound(CasesError, LookupError):
    """No such case or person, or not one the actor may see (the same answer for both)."""


class Refused(CasesError, PermissionError):
    """Not allowed: a permission, a scope, a rule. ``message`` is a msgid with ``params``."""

    def __init__(self, message: str, **params: object) -> None:
        self.message = message
        self.params = params
        super().__init__(message % params if params else message)

    def text(self, gettext: Any = None) -> str:
        message = gettext(self.message) if gettext else self.message
        return message % self.params if self.params else message


class StaleEdit(CasesError):
    """Someone else changed the record since the editor loaded it; nothing was saved.

    ``changed`` maps each field that differs from what the editor saw to its current value."""

    def __init__(self, current_version: int, changed: Mapping[str, object]) -> None:
        self.current_version = current_version
        self.changed = dict(changed)
        names = ", ".join(sorted(self.changed)) or "the record"
        super().__init__(f"changed by someone else since you opened it: {names}")


# -- access --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeView:
    scope: str
    team: str | None = None
    org_unit_code: str | None = None
    senior: bool = False


_SCOPE_KEY = "opschub.cases.scope"
_VISIBLE_KEY = "opschub.cases.visible"


def scope_of(session: Session, actor: CaseActor) -> ScopeView:
    """The actor's record scope: API tokens and the command line see all; a person without a
    scope row sees their own cases only. Read once a session (:func:`set_scope` forgets it)."""
    if actor.kind != "user":
        return ScopeView("all")
    memo: dict[str, ScopeView] = session.info.setdefault(_SCOPE_KEY, {})
    if actor.id in memo:
        return memo[actor.id]
    row = session.execute(
        select(CaseScope.scope, CaseScope.team, CaseScope.org_unit_id, CaseScope.senior).where(
            CaseScope.user_id == actor.id
        )
    ).first()
    if row is None:
        view = ScopeView("own")
    else:
        code = orgunits.tree(session).code_of.get(row.org_unit_id) if row.org_unit_id else None
        view = ScopeView(row.scope, row.team, code, row.senior)
    memo[actor.id] = view
    return view


def _require(actor: CaseActor, permission: str) -> None:
    if not actor.can(permission):
        raise Refused(N_("This needs the permission %(permission)s."), permission=permission)


def visible_clause(session: Session, actor: CaseActor) -> ColumnElement[bool]:
    """A condition on :class:`Case` rows the actor may see (after ``cases.read``); built once a
    session per actor (:func:`set_scope` forgets it)."""
    if not actor.can("cases.read"):
        return false()
    memo: dict[tuple[str, str], ColumnElement[bool]] = session.info.setdefault(_VISIBLE_KEY, {})
    key = (actor.kind, actor.id)
    if key not in memo:
        memo[key] = _visible_clause(session, actor)
    return memo[key]


def _visible_clause(session: Session, actor: CaseActor) -> ColumnElement[bool]:
    scope = scope_of(session, actor)
    member = exists().where(CaseMember.case_id == Case.id, CaseMember.user_id == actor.id)
    own = or_(Case.assigned_to_id == actor.id, Case.created_by_id == actor.id)
    if scope.scope == "all":
        reach: ColumnElement[bool] = true()
    elif scope.scope == "team" and scope.team:
        reach = or_(own, Case.team == scope.team)
    elif scope.scope == "region" and scope.org_unit_code:
        tree = orgunits.tree(session)
        ids = [tree.id_of[code] for code in tree.descendants(scope.org_unit_code)]
        reach = or_(own, Case.org_unit_id.in_(ids))
    else:
        reach = own
    if actor.kind == "system":
        return true()  # the server's command line
    if actor.kind != "user":
        return Case.restricted.is_(False)  # an API token is never a named member
    return or_(and_(Case.restricted.is_(False), reach), and_(Case.restricted.is_(True), member))


# Up to how many visible cases a scope may count as narrow (see visible_ids_if_few); None: it
# depends on the number of cases (tests set a number).
FEW_CASES: int | None = None
_FEW_MAX = 1000


def _cases_estimate(session: Session) -> int:
    """About how many cases there are, without counting them: SQLite's largest rowid, the
    planner's row estimate on PostgreSQL (a bounded count before the first ANALYZE)."""
    if session.get_bind().dialect.name == "postgresql":
        estimate = session.scalar(
            sql_text("SELECT reltuples::bigint FROM pg_class WHERE oid = 'cases'::regclass")
        )
        if estimate is not None and estimate >= 0:
            return int(estimate)
        bounded = select(Case.id).limit(100_000).subquery()
        return int(session.scalar(select(func.count()).select_from(bounded)) or 0)
    return int(session.scalar(sql_text("SELECT max(rowid) FROM cases")) or 0)


def few_cap(session: Session) -> int:
    """The most cases a narrow scope may have. Looking up a few cases by id costs about what
    they hold; the ordered walk reads about (cases / visible) x page rows before it has a page.
    So the narrow way wins while visible^2 < 16 x cases, and never above 1,000 cases (where
    reading their rows outweighs any walk): about 220 of 3,000 cases, 1,000 of 62,500 or more."""
    if FEW_CASES is not None:
        return FEW_CASES
    return min(_FEW_MAX, max(50, int(math.sqrt(16 * _cases_estimate(session)))))


def visible_ids_if_few(
    session: Session, actor: CaseActor, *, cap: int | None = None
) -> list[str] | None:
    """The ids of the cases ``actor`` may see when they are few (at most ``cap``, by default
    :func:`few_cap`), else None.

    Lists ordered by date or by how long a step waited walk an index and test each row with
    :func:`visible_clause`, stopping after a page: fast when the actor sees a good share of the
    cases, but for a case worker who sees twenty cases of a million the walk reads them all
    (seconds). So the scope's reach is first looked up by its own indexes (cases assigned to or
    opened by the person, those they are a named member of, their team's, their region's), each
    part read up to ``cap + 1`` rows in one statement; when every part stays under the cap, the
    visible ones among them are the answer, and callers filter with ``id IN (...)``. Two small
    statements whatever the number of cases. API tokens and scope "all": None (broad)."""
    if not actor.can("cases.read"):
        return []
    if actor.kind != "user":
        return None
    scope = scope_of(session, actor)
    if scope.scope == "all":
        return None
    cap = few_cap(session) if cap is None else cap
    parts = [
        select(Case.id).where(Case.assigned_to_id == actor.id),
        select(Case.id).where(Case.created_by_id == actor.id),
        select(CaseMember.case_id).where(CaseMember.user_id == actor.id),
    ]
    if scope.scope == "team" and scope.team:
        parts.append(select(Case.id).where(Case.team == scope.team))
    elif scope.scope == "region" and scope.org_unit_code:
        tree = orgunits.tree(session)
        units = [tree.id_of[code] for code in tree.descendants(scope.org_unit_code)]
        parts.append(select(Case.id).where(Case.org_unit_id.in_(units)))
    reached = list(
        session.scalars(union_all(*(select(part.limit(cap + 1).subquery()) for part in parts)))
    )
    candidates = set(reached)
    if len(candidates) > cap:
        return None
    if not candidates:
        return []
    return sorted(
        session.scalars(
            select(Case.id).where(Case.id.in_(candidates), visible_clause(session, actor))
        )
    )


def _case_for(
    session: Session,
    actor: CaseActor,
    case_id: str,
    *,
    manage: bool = False,
    visible: ColumnElement[bool] | None = None,
) -> Case:
    _require(actor, "cases.manage" if manage else "cases.read")
    if visible is None:
        visible = visible_clause(session, actor)
    found = session.scalar(select(Case).where(Case.id == case_id, visible))
    if found is None:
        raise NotFound(case_id)
    return found


def can_see_protected(actor: CaseActor) -> bool:
    return actor.can("cases.protected")


# -- input ---------------------------------------------------------------------------------------


@dataclass
class CaseIn:
    title: str
    org_unit: str  # an organisation unit code
    setting: str | None = None
    priority: str = "normal"
    status: str = "open"
    team: str | None = None
    assigned_to_id: str | None = None
    restricted: bool = False
    forms: Sequence[tuple[str, str]] = ()  # (form, participation)
    report_ids: Sequence[str] = ()
    opened_at: datetime | None = None  # default now (the import gives the original date)
    closed_at: datetime | None = None


@dataclass
class PersonIn:
    role: str
    alias: str | None = None  # default: a case-local alias such as "V1" or "S2"
    real_name: str | None = None
    sex: str = "unknown"
    birth_date: date | None = None
    birth_month: str | None = None  # "YYYY-MM"
    estimated_age: int | None = None
    nationality: str | None = None
    residence: str | None = None  # an organisation unit code
    vulnerabilities: Sequence[str] = ()
    offender_category: str | None = None
    # A suspect who is also a victim in this case (para 67): the victim, why, and what acts.
    victim_person_id: str | None = None
    reason: str | None = None
    acts: Sequence[str] = ()


CASE_EDITABLE = (
    "title",
    "status",
    "priority",
    "setting",
    "team",
    "assigned_to_id",
    "org_unit",
)


def _clean_text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _check_code(
    errors: list[FieldError], name: str, value: object, allowed: Sequence[str], optional: bool
) -> None:
    if value is None and optional:
        return
    if value not in allowed:
        errors.append(
            FieldError(
                name,
                N_("%(value)s is not one of: %(allowed)s"),
                {"value": repr(value), "allowed": ", ".join(allowed)},
            )
        )


def _validate_case(
    session: Session,
    data: CaseIn,
    prefix: str = "",
    units: Mapping[str, str] | None = None,
) -> tuple[list[FieldError], str | None]:
    errors: list[FieldError] = []
    title = _clean_text(data.title)
    if not title:
        errors.append(FieldError(f"{prefix}title", N_("Give the case a short title.")))
    elif len(title) > MAX_TITLE:
        errors.append(
            FieldError(f"{prefix}title", N_("At most %(n)s characters."), {"n": MAX_TITLE})
        )
    if units is not None:
        unit_id = units.get(data.org_unit or "")
    else:
        found_unit = orgunits.by_code(session, data.org_unit) if data.org_unit else None
        unit_id = found_unit.id if found_unit else None
    if unit_id is None:
        errors.append(
            FieldError(
                f"{prefix}org_unit",
                N_("Unknown region %(code)s."),
                {"code": repr(data.org_unit or "")},
            )
        )
    _check_code(errors, f"{prefix}setting", data.setting, taxonomy.SETTING.values, True)
    _check_code(errors, f"{prefix}priority", data.priority, PRIORITIES, False)
    _check_code(errors, f"{prefix}status", data.status, STATUSES, False)
    if data.team is not None and len(data.team) > MAX_TEAM:
        errors.append(FieldError(f"{prefix}team", N_("At most %(n)s characters."), {"n": MAX_TEAM}))
    seen_forms: set[str] = set()
    for i, (form, participation) in enumerate(data.forms):
        _check_code(
            errors, f"{prefix}forms/{i}/form", form, taxonomy.FORM_OF_EXPLOITATION.values, False
        )
        _check_code(
            errors,
            f"{prefix}forms/{i}/participation",
            participation,
            taxonomy.PARTICIPATION.values,
            False,
        )
        if form in seen_forms:
            errors.append(
                FieldError(
                    f"{prefix}forms/{i}/form", N_("%(value)s appears twice."), {"value": form}
                )
            )
        seen_forms.add(form)
    now = utcnow()
    if data.opened_at is not None:
        if data.opened_at.tzinfo is None:
            errors.append(FieldError(f"{prefix}opened_at", N_("Give a time zone.")))
        elif data.opened_at > now:
            errors.append(FieldError(f"{prefix}opened_at", N_("Must not be in the future.")))
    if data.closed_at is not None:
        opened = data.opened_at or now
        if data.closed_at.tzinfo is None:
            errors.append(FieldError(f"{prefix}closed_at", N_("Give a time zone.")))
        elif opened.tzinfo is not None and data.closed_at < opened:
            errors.append(
                FieldError(f"{prefix}closed_at", N_("A case cannot close before it opened."))
            )
        if data.status != "closed":
            errors.append(
                FieldError(f"{prefix}status", N_("A case with a closing date has status closed."))
            )
    return errors, unit_id


def open_case(session: Session, actor: CaseActor, data: CaseIn, *, is_demo: bool = False) -> Case:
    """Open a case (from reports, or directly). Raises :class:`CaseInvalid` naming every bad
    field; reports are checked to exist through the intake service."""
    _require(actor, "cases.manage")
    errors, unit_id = _validate_case(session, data)
    report_ids = list(dict.fromkeys(data.report_ids))
    if report_ids:
        from opschub.intake import service as intake

        for i, report_id in enumerate(report_ids):
            try:
                intake.get_report(session, report_id)
            except intake.UnknownReport:
                errors.append(
                    FieldError(f"report_ids/{i}", N_("No report %(id)s."), {"id": report_id})
                )
    if errors:
        raise CaseInvalid(errors)
    assert unit_id is not None
    opened = data.opened_at or utcnow()
    case = Case(
        id=new_id(),
        title=_clean_text(data.title),
        status=data.status,
        priority=data.priority,
        setting=data.setting,
        org_unit_id=unit_id,
        team=_clean_text(data.team),
        assigned_to_id=data.assigned_to_id or (actor.id if actor.kind == "user" else None),
        restricted=data.restricted,
        opened_at=opened,
        opened_on=opened.date(),
        closed_at=data.closed_at,
        created_by_id=actor.id if actor.kind == "user" else None,
        updated_at=utcnow(),
        is_demo=is_demo,
    )
    session.add(case)
    session.flush()
    for form, participation in data.forms:
        session.add(CaseForm(case_id=case.id, form=form, participation=participation))
    for report_id in report_ids:
        session.add(CaseReport(case_id=case.id, report_id=report_id, added_by_id=actor.id))
    if data.restricted and actor.kind == "user":
        session.add(CaseMember(case_id=case.id, user_id=actor.id, added_by_id=actor.id))
    session.flush()
    audit.record(
        session,
        action="cases.case.opened",
        actor=actor,
        target_type="case",
        target_id=case.id,
        details={"reports": len(report_ids), "restricted": data.restricted},
    )
    return case


def _case_values(session: Session, case: Case) -> dict[str, object]:
    unit = orgunits.by_id(session, case.org_unit_id)
    return {
        "title": case.title,
        "status": case.status,
        "priority": case.priority,
        "setting": case.setting,
        "team": case.team,
        "assigned_to_id": case.assigned_to_id,
        "org_unit": unit.code if unit else None,
    }


def update_case(
    session: Session,
    actor: CaseActor,
    case_id: str,
    *,
    version: int,
    changes: Mapping[str, Any],
    seen: Mapping[str, Any] | None = None,
) -> Case:
    """Change the fields in ``changes`` (keys of :data:`CASE_EDITABLE`).

    ``version`` is the one the editor loaded; if the case has moved on, :class:`StaleEdit` says
    which fields differ from ``seen`` (what the editor was shown; without it, every field whose
    value differs from ``changes``) and nothing is saved.
    """
    case = _case_for(session, actor, case_id, manage=True)
    unknown = sorted(set(changes) - set(CASE_EDITABLE))
    if unknown:
        raise CaseInvalid(
            [FieldError(name, N_("This field cannot be changed here.")) for name in unknown]
        )
    current = _case_values(session, case)
    if case.version_id != version:
        reference = seen if seen is not None else changes
        changed = {
            k: current[k] for k in CASE_EDITABLE if k in reference and reference[k] != current[k]
        }
        if not changed:
            changed = {k: current[k] for k in CASE_EDITABLE}
        raise StaleEdit(case.version_id, changed)
    merged = {**current, **{k: (v if v != "" else None) for k, v in changes.items()}}
    data = CaseIn(
        title=str(merged["title"] or ""),
        org_unit=str(merged["org_unit"] or ""),
        setting=merged["setting"],  # type: ignore[arg-type]
        priority=str(merged["priority"]),
        status=str(merged["status"]),
        team=merged["team"],  # type: ignore[arg-type]
        opened_at=case.opened_at,
    )
    errors, unit_id = _validate_case(session, data)
    if errors:
        raise CaseInvalid(errors)
    diff = sorted(k for k in CASE_EDITABLE if merged[k] != current[k])
    if not diff:
        return case
    case.title = _clean_text(data.title) or case.title
    case.status = data.status
    case.priority = data.priority
    case.setting = data.setting
    case.team = _clean_text(data.team)
    case.assigned_to_id = merged["assigned_to_id"]  # type: ignore[assignment]
    if unit_id is not None:
        case.org_unit_id = unit_id
    if data.status == "closed" and case.closed_at is None:
        case.closed_at = utcnow()
    elif data.status != "closed":
        case.closed_at = None
    case.updated_at = utcnow()
    session.flush()
    if "status" in diff:
        # Closed: its proceedings wait for nothing any more; reopened: they wait again.
        from opschub.cases import stages_state

        stages_state.refresh(session, [case.id])
    audit.record(
        session,
        action="cases.case.updated",
        actor=actor,
        target_type="case",
        target_id=case.id,
        details={"fields": diff, "version": case.version_id},
    )
    return case


def set_restricted(
    session: Session, actor: CaseActor, case_id: str, restricted: bool, members: Iterable[str] = ()
) -> None:
    """Restrict a case to named people (the actor is always one of them), or open it again."""
    case = _case_for(session, actor, case_id, manage=True)
    case.restricted = restricted
    case.updated_at = utcnow()
    wanted = set(members) | ({actor.id} if actor.kind == "user" and restricted else set())
    have = set(session.scalars(select(CaseMember.user_id).where(CaseMember.case_id == case.id)))
    for user_id in sorted(wanted - have):
        session.add(CaseMember(case_id=case.id, user_id=user_id, added_by_id=actor.id))
    session.flush()
    audit.record(
        session,
        action="cases.case.restricted" if restricted else "cases.case.unrestricted",
        actor=actor,
        target_type="case",
        target_id=case.id,
        details={"count": len(wanted | have)},
    )


def add_member(session: Session, actor: CaseActor, case_id: str, user_id: str) -> None:
    case = _case_for(session, actor, case_id, manage=True)
    if session.scalar(
        select(CaseMember.id).where(CaseMember.case_id == case.id, CaseMember.user_id == user_id)
    ):
        return
    session.add(CaseMember(case_id=case.id, user_id=user_id, added_by_id=actor.id))
    session.flush()
    audit.record(
        session,
        action="cases.member.added",
        actor=actor,
        target_type="case",
        target_id=case.id,
        details={"user": user_id},
    )


def remove_member(session: Session, actor: CaseActor, case_id: str, user_id: str) -> None:
    case = _case_for(session, actor, case_id, manage=True)
    row = session.scalar(
        select(CaseMember).where(CaseMember.case_id == case.id, CaseMember.user_id == user_id)
    )
    if row is None:
        return
    session.delete(row)
    session.flush()
    audit.record(
        session,
        action="cases.member.removed",
        actor=actor,
        target_type="case",
        target_id=case.id,
        details={"user": user_id},
    )


# -- links ---------------------------------------------------------------------------------------


def link_report(session: Session, actor: CaseActor, case_id: str, report_id: str) -> None:
    from opschub.intake import service as intake

    case = _case_for(session, actor, case_id, manage=True)
    try:
        intake.get_report(session, report_id)
    except intake.UnknownReport:
        raise CaseInvalid(
            [FieldError("report_id", N_("No report %(id)s."), {"id": report_id})]
        ) from None
    if session.scalar(
        select(CaseReport.id).where(
            CaseReport.case_id == case.id, CaseReport.report_id == report_id
        )
    ):
        return
    session.add(CaseReport(case_id=case.id, report_id=report_id, added_by_id=actor.id))
    session.flush()
    audit.record(
        session,
        action="cases.report.linked",
        actor=actor,
        target_type="case",
        target_id=case.id,
        details={"report": report_id},
    )


def link_evidence(session: Session, actor: CaseActor, case_id: str, item_id: str) -> None:
    """Refer to an evidence item in the vault (the material stays there)."""
    from opschub.evidence import service as evidence

    case = _case_for(session, actor, case_id, manage=True)
    try:
        evidence.get_item(session, item_id)
    except evidence.NotFound:
        raise CaseInvalid(
            [FieldError("evidence_item_id", N_("No evidence item %(id)s."), {"id": item_id})]
        ) from None
    if session.scalar(
        select(CaseEvidence.id).where(
            CaseEvidence.case_id == case.id, CaseEvidence.evidence_item_id == item_id
        )
    ):
        return
    session.add(CaseEvidence(case_id=case.id, evidence_item_id=item_id, added_by_id=actor.id))
    session.flush()
    audit.record(
        session,
        action="cases.evidence.linked",
        actor=actor,
        target_type="case",
        target_id=case.id,
        details={"item": item_id},
    )


def link_cases(session: Session, actor: CaseActor, case_id: str, other_id: str) -> None:
    case = _case_for(session, actor, case_id, manage=True)
    try:
        other = _case_for(session, actor, other_id)
    except NotFound:
        raise CaseInvalid(
            [FieldError("other_case", N_("No case %(id)s."), {"id": other_id})]
        ) from None
    if case.id == other.id:
        raise CaseInvalid([FieldError("other_case", N_("A case cannot be linked to itself."))])
    low, high = sorted((case.id, other.id))
    if session.scalar(
        select(CaseLink.id).where(CaseLink.case_id == low, CaseLink.other_case_id == high)
    ):
        return
    session.add(CaseLink(case_id=low, other_case_id=high, added_by_id=actor.id))
    session.flush()
    audit.record(
        session,
        action="cases.case.linked",
        actor=actor,
        target_type="case",
        target_id=case.id,
        details={"case": other.id},
    )


# -- people --------------------------------------------------------------------------------------


def age_on(
    on: date, *, birth_date: date | None, birth_month: str | None, estimated_age: int | None
) -> int | None:
    """Completed years on ``on`` (``None`` when unknown); a birth month counts from its last day
    (where the day is unknown the younger age is taken, see :mod:`opschub.taxonomy`)."""
    if birth_date is not None:
        years = on.year - birth_date.year
        if (on.month, on.day) < (birth_date.month, birth_date.day):
            years -= 1
        return years
    if birth_month is not None:
        found = _BIRTH_MONTH.match(birth_month)
        assert found
        return taxonomy.age_from_birth_month(int(found.group(1)), int(found.group(2)), on)
    return estimated_age


def band_for(age: int | None) -> str | None:
    """The statistical band of an age (``None`` for an adult)."""
    if age is not None and age >= taxonomy.ADULT_AGE:
        return None
    return taxonomy.age_band(age)


def _validate_person(
    session: Session,
    data: PersonIn,
    opened_on: date,
    prefix: str = "",
    units: Mapping[str, str] | None = None,
) -> tuple[list[FieldError], str | None]:
    errors: list[FieldError] = []
    _check_code(errors, f"{prefix}role", data.role, ROLES, False)
    alias = _clean_text(data.alias)
    if alias is not None and len(alias) > MAX_ALIAS:
        errors.append(
            FieldError(f"{prefix}alias", N_("At most %(n)s characters."), {"n": MAX_ALIAS})
        )
    real_name = _clean_text(data.real_name)
    if real_name is not None and len(real_name) > MAX_NAME:
        errors.append(
            FieldError(f"{prefix}real_name", N_("At most %(n)s characters."), {"n": MAX_NAME})
        )
    _check_code(errors, f"{prefix}sex", data.sex, taxonomy.SEX.values, False)
    given = [
        n
        for n, v in (
            ("birth_date", data.birth_date),
            ("birth_month", data.birth_month),
            ("estimated_age", data.estimated_age),
        )
        if v is not None
    ]
    if len(given) > 1:
        errors.append(
            FieldError(
                f"{prefix}{given[1]}",
                N_("Give one of date of birth, month of birth or estimated age, not several."),
            )
        )
    today = utcnow().date()
    if data.birth_date is not None:
        if data.birth_date > today:
            errors.append(FieldError(f"{prefix}birth_date", N_("Must not be in the future.")))
        elif data.birth_date.year < 1900:
            errors.append(FieldError(f"{prefix}birth_date", N_("Must be after 1900.")))
    if data.birth_month is not None:
        found = _BIRTH_MONTH.match(data.birth_month)
        if not found or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 1900:
            errors.append(
                FieldError(f"{prefix}birth_month", N_("Write the month as YYYY-MM, e.g. 2014-03."))
            )
        elif (int(found.group(1)), int(found.group(2))) > (today.year, today.month):
            errors.append(FieldError(f"{prefix}birth_month", N_("Must not be in the future.")))
    if data.estimated_age is not None and not 0 <= data.estimated_age <= 120:
        errors.append(FieldError(f"{prefix}estimated_age", N_("Give an age from 0 to 120.")))
    if data.birth_date is not None and data.birth_date > opened_on and data.birth_date <= today:
        errors.append(
            FieldError(f"{prefix}birth_date", N_("The person was born after the case opened."))
        )
    if data.nationality is not None and not _COUNTRY.match(data.nationality):
        errors.append(
            FieldError(
                f"{prefix}nationality", N_("Write the country as two capital letters (ISO 3166).")
            )
        )
    residence_id = None
    if data.residence:
        if units is not None:
            residence_id = units.get(data.residence)
        else:
            found_unit = orgunits.by_code(session, data.residence)
            residence_id = found_unit.id if found_unit else None
        if residence_id is None:
            errors.append(
                FieldError(
                    f"{prefix}residence",
                    N_("Unknown region %(code)s."),
                    {"code": repr(data.residence)},
                )
            )
    for i, flag in enumerate(data.vulnerabilities):
        _check_code(errors, f"{prefix}vulnerabilities/{i}", flag, VULNERABILITIES, False)
    _check_code(
        errors,
        f"{prefix}offender_category",
        data.offender_category,
        taxonomy.OFFENDER_CATEGORY.values,
        True,
    )
    if data.offender_category is not None and data.role != "suspect":
        errors.append(
            FieldError(f"{prefix}offender_category", N_("Only a suspect has an offender category."))
        )
    if data.victim_person_id is not None and data.role != "suspect":
        errors.append(
            FieldError(f"{prefix}victim_person_id", N_("Only a suspect can be linked to a victim."))
        )
    for i, act in enumerate(data.acts):
        _check_code(
            errors,
            f"{prefix}acts/{i}",
            act,
            (*taxonomy.FORM_OF_EXPLOITATION.values, SELF_GENERATED),
            False,
        )
    return errors, residence_id


SELF_IMAGES_REFUSAL = N_(
    "A child who made images of themselves is never recorded as an offender for it (guidelines "
    "para 67): the child is a victim. Record what happened to the child instead, and who "
    "obtained, shared or asked for the images."
)


class SelfImagesRefused(Refused):
    """Recording a child victim as a suspect for making images of themselves (para 67): refused
    outright. The caller rolls the attempt back and then audits the refusal with
    :func:`record_self_images_refusal`, so that the refusal is on record although nothing else is.
    """

    def __init__(self, case_id: str, victim_id: str) -> None:
        super().__init__(SELF_IMAGES_REFUSAL)
        self.case_id = case_id
        self.victim_id = victim_id


def record_self_images_refusal(
    session: Session, actor: CaseActor, refusal: SelfImagesRefused
) -> None:
    """Audit a refused attempt to record a child victim as a suspect for making images of
    themselves (outcome ``refused``). Call it in a transaction that commits although the attempt
    was rolled back (the page and the API do so after the attempt's savepoint)."""
    audit.record(
        session,
        action="cases.person.suspect_refused",
        actor=actor,
        target_type="case_person",
        target_id=refusal.victim_id,
        outcome="refused",
        details={"case": refusal.case_id, "act": SELF_GENERATED},
    )


def _next_alias(session: Session, case_id: str, role: str) -> str:
    prefix = {"victim": "V", "suspect": "S", "guardian": "G", "witness": "W"}[role]
    taken = set(session.scalars(select(CasePerson.alias).where(CasePerson.case_id == case_id)))
    number = 1
    while f"{prefix}{number}" in taken:
        number += 1
    return f"{prefix}{number}"


def add_person(session: Session, actor: CaseActor, case_id: str, data: PersonIn) -> CasePerson:
    """Add a person to a case under a pseudonymous alias.

    A suspect under 18 at the case's opening goes to the protected track (offender category
    child). A suspect who is a victim in the case (``victim_person_id``) is refused for making
    images of themselves, and otherwise recorded *pending* until a senior confirms it.
    """
    case = _case_for(session, actor, case_id, manage=True)
    errors, residence_id = _validate_person(session, data, case.opened_on)
    alias = _clean_text(data.alias)
    if alias is not None and session.scalar(
        select(CasePerson.id).where(CasePerson.case_id == case.id, CasePerson.alias == alias)
    ):
        errors.append(FieldError("alias", N_("Another person in this case has this alias.")))
    victim: CasePerson | None = None
    if data.victim_person_id is not None and data.role == "suspect":
        victim = session.get(CasePerson, data.victim_person_id)
        if victim is None or victim.case_id != case.id or victim.role != "victim":
            errors.append(FieldError("victim_person_id", N_("No victim with this id in the case.")))
            victim = None
    if errors:
        raise CaseInvalid(errors)
    age = None
    birth = (data.birth_date, data.birth_month, data.estimated_age)
    if victim is not None and birth == (None, None, None):
        # The suspect is the victim: their age is the victim's.
        birth = (victim.birth_date, victim.birth_month, victim.estimated_age)
    age = age_on(case.opened_on, birth_date=birth[0], birth_month=birth[1], estimated_age=birth[2])
    category = data.offender_category
    protected = False
    confirmation = None
    reason = _clean_text(data.reason)
    if data.role == "suspect":
        child = (age is not None and age < taxonomy.ADULT_AGE) or category == "child"
        if category == "child" and age is not None and age >= taxonomy.ADULT_AGE:
            raise CaseInvalid(
                [
                    FieldError(
                        "offender_category", N_("The suspect was an adult when the case opened.")
                    )
                ]
            )
        if category is None:
            category = "child" if child else ("adult" if age is not None else "unknown")
        if category == "child":
            protected = True
        if victim is not None:
            if SELF_GENERATED in data.acts:
                raise SelfImagesRefused(case.id, victim.id)
            victim_age = age_on(
                case.opened_on,
                birth_date=victim.birth_date,
                birth_month=victim.birth_month,
                estimated_age=victim.estimated_age,
            )
            if victim_age is None or victim_age < taxonomy.ADULT_AGE:
                if reason is None or len(reason) < MIN_REASON:
                    raise CaseInvalid(
                        [
                            FieldError(
                                "reason",
                                N_(
                                    "Recording a child victim as a suspect needs a stated reason "
                                    "(at least %(n)s characters) and a senior's confirmation."
                                ),
                                {"n": MIN_REASON},
                            )
                        ]
                    )
                if len(reason) > MAX_REASON:
                    raise CaseInvalid(
                        [FieldError("reason", N_("At most %(n)s characters."), {"n": MAX_REASON})]
                    )
                if not data.acts:
                    raise CaseInvalid(
                        [FieldError("acts", N_("Name the acts the child is suspected of."))]
                    )
                confirmation = "pending"
                protected = True
                category = "child"
    person = CasePerson(
        case_id=case.id,
        role=data.role,
        alias=alias or _next_alias(session, case.id, data.role),
        real_name=_clean_text(data.real_name),
        sex=data.sex,
        birth_date=data.birth_date,
        birth_month=data.birth_month,
        estimated_age=data.estimated_age,
        age_at_opening=age,
        age_band=band_for(age),
        nationality=data.nationality,
        residence_unit_id=residence_id,
        vulnerabilities=list(dict.fromkeys(data.vulnerabilities)),
        offender_category=category if data.role == "suspect" else None,
        protected_track=protected,
        victim_person_id=victim.id if victim is not None else None,
        suspect_reason=reason if victim is not None else None,
        suspect_acts=list(data.acts) if data.role == "suspect" and data.acts else None,
        suspect_confirmation=confirmation,
        requested_by_id=actor.id if confirmation else None,
    )
    session.add(person)
    case.updated_at = utcnow()
    session.flush()
    if data.role == "suspect":
        from opschub.cases import stages_state

        stages_state.refresh(session, [case.id])
    audit.record(
        session,
        action="cases.person.added",
        actor=actor,
        target_type="case_person",
        target_id=person.id,
        details={
            "case": case.id,
            "person_role": data.role,
            "protected": protected,
            "pending": confirmation == "pending",
        },
    )
    return person


def confirm_suspect(session: Session, actor: CaseActor, person_id: str) -> CasePerson:
    """A senior confirms that a child victim is recorded as a suspect: someone other than the
    person who asked, with ``cases.manage``, ``cases.protected`` and ``senior`` in their scope."""
    _require(actor, "cases.manage")
    _require(actor, "cases.protected")
    person = session.get(CasePerson, person_id)
    if person is None:
        raise NotFound(person_id)
    _case_for(session, actor, person.case_id, manage=True)
    if person.suspect_confirmation != "pending":
        raise Refused(N_("There is nothing to confirm for this person."))
    if not scope_of(session, actor).senior:
        raise Refused(N_("Only a senior case worker can confirm this."))
    if person.requested_by_id == actor.id:
        raise Refused(N_("The confirmation must come from someone other than who asked for it."))
    person.suspect_confirmation = "confirmed"
    person.confirmed_by_id = actor.id
    person.confirmed_at = utcnow()
    session.flush()
    audit.record(
        session,
        action="cases.person.suspect_confirmed",
        actor=actor,
        target_type="case_person",
        target_id=person.id,
        details={"case": person.case_id},
    )
    return person


PERSON_EDITABLE = (
    "alias",
    "sex",
    "nationality",
    "residence",
    "vulnerabilities",
    "birth_date",
    "birth_month",
    "estimated_age",
)
BIRTH_FIELDS = ("birth_date", "birth_month", "estimated_age")


def update_person(
    session: Session,
    actor: CaseActor,
    person_id: str,
    *,
    version: int,
    changes: Mapping[str, Any],
    case_id: str | None = None,
    seen: Mapping[str, Any] | None = None,
) -> CasePerson:
    """Change a person's alias, sex, nationality, residence, vulnerabilities, real name or what
    is known of their birth (optimistic). With ``case_id``, a person of another case is not
    found. If the person has moved on from ``version``, :class:`StaleEdit` names the fields that
    differ from ``seen`` (what the editor was shown; without it, from ``changes``) and nothing
    is saved.

    The real name needs ``cases.identify``; it is written, never read, here (the audit names the
    field, never the value); ``None`` or an empty text removes it.

    What is known of the birth is one of date, month or estimated age: giving any of them
    replaces the other two. The age at the case's opening and its band follow; the limitation
    deadlines of offences against the person are computed again (audited, para 95). A suspect
    who turns out to have been a child goes to the protected track; one on the protected track
    is never taken off it by an edit (para 71)."""
    person = _person_for(session, actor, person_id, manage=True)
    if case_id is not None and person.case_id != case_id:
        raise NotFound(person_id)
    unknown = sorted(set(changes) - set(PERSON_EDITABLE) - {"real_name"})
    if unknown:
        raise CaseInvalid(
            [FieldError(name, N_("This field cannot be changed here.")) for name in unknown]
        )
    new_name: str | None = None
    name_given = "real_name" in changes
    if name_given:
        _require(actor, "cases.identify")
        raw_name = changes["real_name"]
        if raw_name is not None and not isinstance(raw_name, str):
            raise CaseInvalid([FieldError("real_name", N_("This value cannot be read."))])
        new_name = _clean_text(raw_name)
        if new_name is not None and len(new_name) > MAX_NAME:
            raise CaseInvalid(
                [FieldError("real_name", N_("At most %(n)s characters."), {"n": MAX_NAME})]
            )
        changes = {k: v for k, v in changes.items() if k != "real_name"}
    residence = (
        orgunits.by_id(session, person.residence_unit_id) if person.residence_unit_id else None
    )
    current: dict[str, object] = {
        "alias": person.alias,
        "sex": person.sex,
        "nationality": person.nationality,
        "residence": residence.code if residence else None,
        "vulnerabilities": list(person.vulnerabilities),
        "birth_date": person.birth_date,
        "birth_month": person.birth_month,
        "estimated_age": person.estimated_age,
    }
    if person.version_id != version:
        reference = seen if seen is not None else changes
        changed = {
            k: current[k] for k in PERSON_EDITABLE if k in reference and reference[k] != current[k]
        } or current
        raise StaleEdit(person.version_id, changed)
    merged = {**current, **changes}
    if any(name in changes for name in BIRTH_FIELDS):
        merged.update({name: changes.get(name) for name in BIRTH_FIELDS})
    data = PersonIn(
        role=person.role,
        alias=str(merged["alias"] or ""),
        sex=str(merged["sex"]),
        nationality=merged["nationality"] or None,
        residence=merged["residence"] or None,
        vulnerabilities=list(merged["vulnerabilities"] or []),
        birth_date=merged["birth_date"],
        birth_month=merged["birth_month"] or None,
        estimated_age=merged["estimated_age"],
    )
    case = session.get(Case, person.case_id)
    assert case is not None
    errors: list[FieldError] = []
    for name, kind in (("birth_date", date), ("birth_month", str), ("estimated_age", int)):
        value = merged[name]
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            errors.append(FieldError(name, N_("This value cannot be read.")))
    if errors:
        raise CaseInvalid(errors)
    more, residence_id = _validate_person(session, data, case.opened_on)
    errors += more
    alias = _clean_text(data.alias)
    if not alias:
        errors.append(FieldError("alias", N_("Give an alias.")))
    elif alias != person.alias and session.scalar(
        select(CasePerson.id).where(CasePerson.case_id == case.id, CasePerson.alias == alias)
    ):
        errors.append(FieldError("alias", N_("Another person in this case has this alias.")))
    if errors:
        raise CaseInvalid(errors)
    age = age_on(
        case.opened_on,
        birth_date=data.birth_date,
        birth_month=data.birth_month,
        estimated_age=data.estimated_age,
    )
    child = age is not None and age < taxonomy.ADULT_AGE
    birth_changed = any(merged[k] != current[k] for k in BIRTH_FIELDS)
    if birth_changed and person.role == "suspect" and person.protected_track and not child:
        errors.append(
            FieldError(
                next(k for k in BIRTH_FIELDS if merged[k] != current[k]),
                N_(
                    "This suspect is on the protected track for children; an edit does not "
                    "take them off it."
                ),
            )
        )
    if errors:
        raise CaseInvalid(errors)
    diff = sorted(
        {k for k in changes if merged[k] != current[k]}
        | {k for k in BIRTH_FIELDS if birth_changed and merged[k] != current[k]}
    )
    if name_given and person.real_name != new_name:
        diff = sorted({*diff, "real_name"})
    if not diff:
        return person
    if "real_name" in diff:
        person.real_name = new_name
    person.alias = alias or person.alias
    person.sex = data.sex
    person.nationality = data.nationality
    person.residence_unit_id = residence_id
    person.vulnerabilities = list(dict.fromkeys(data.vulnerabilities))
    moved_to_protected = False
    if birth_changed:
        person.birth_date = data.birth_date
        person.birth_month = data.birth_month
        person.estimated_age = data.estimated_age
        person.age_at_opening = age
        person.age_band = band_for(age)
        if person.role == "suspect":
            if child and not person.protected_track:
                person.offender_category = "child"
                person.protected_track = moved_to_protected = True
            elif age is not None and person.offender_category == "unknown":
                person.offender_category = "child" if child else "adult"
    case.updated_at = utcnow()
    session.flush()
    details: dict[str, object] = {"case": case.id, "fields": diff}
    if moved_to_protected:
        details["protected"] = True
        # A suspect on the protected track leaves the stage alarms (para 71).
        from opschub.cases import stages_state

        stages_state.refresh(session, [case.id])
    audit.record(
        session,
        action="cases.person.updated",
        actor=actor,
        target_type="case_person",
        target_id=person.id,
        details=details,
    )
    if birth_changed:
        from opschub.cases import proceedings

        proceedings.recompute_for_victim(session, actor, case_id=case.id, victim_id=person.id)
    return person


def _person_for(
    session: Session, actor: CaseActor, person_id: str, *, manage: bool = False
) -> CasePerson:
    person = session.get(CasePerson, person_id)
    if person is None:
        raise NotFound(person_id)
    _case_for(session, actor, person.case_id, manage=manage)
    if person.protected_track and not can_see_protected(actor):
        raise NotFound(person_id)
    return person


def get_person(session: Session, actor: CaseActor, case_id: str, person_id: str) -> PersonView:
    """One person of a case as the actor may see them, for the edit form (no real name)."""
    person = _person_for(session, actor, person_id)
    if person.case_id != case_id:
        raise NotFound(person_id)
    unit = orgunits.by_id(session, person.residence_unit_id) if person.residence_unit_id else None
    units = {person.residence_unit_id: unit.code} if unit and person.residence_unit_id else {}
    table = CasePerson.__table__
    named = session.scalar(select(table.c.real_name.is_not(None)).where(table.c.id == person.id))
    return _person_view(person, units, bool(named))


def read_real_name(session: Session, actor: CaseActor, person_id: str) -> str | None:
    """The person's real name; every read is audited (also when there is none)."""
    _require(actor, "cases.identify")
    person = _person_for(session, actor, person_id)
    audit.record(
        session,
        action="cases.person.name_read",
        actor=actor,
        target_type="case_person",
        target_id=person.id,
        details={"case": person.case_id},
    )
    return person.real_name


# -- relationships -------------------------------------------------------------------------------
#
# A relationship is stored once per pair of people, in one direction: ``person_id`` is related
# to ``other_person_id`` as ``relationship`` ("relationship to the child"). When exactly one of
# the two is a victim, the victim is ``other_person_id`` (statistics count a suspect's
# relationship to a victim that way, see :func:`opschub.cases.facts.suspect_facts`); otherwise
# the person it was added from comes first. Either direction counts as the same pair: a second
# relationship between the same two people is refused (change the kind instead).


@dataclass(frozen=True)
class RelationshipView:
    """A relationship as seen from one person of it: the other person by alias and role."""

    id: str
    other_person_id: str
    other_alias: str
    other_role: str
    relationship: str
    # True when the person it is seen from is ``person_id`` (the one related to the other)
    outgoing: bool


def _relationship_view(
    row: CaseRelationship, person_id: str, other: CasePerson
) -> RelationshipView:
    return RelationshipView(
        id=row.id,
        other_person_id=other.id,
        other_alias=other.alias,
        other_role=other.role,
        relationship=row.relationship,
        outgoing=row.person_id == person_id,
    )


def _person_of_case(
    session: Session, actor: CaseActor, case_id: str, person_id: str, *, manage: bool
) -> CasePerson:
    """A person of this case whom the actor may see (a protected-track person only with
    ``cases.protected``), else :class:`NotFound`."""
    person = _person_for(session, actor, person_id, manage=manage)
    if person.case_id != case_id:
        raise NotFound(person_id)
    return person


def person_relationships(
    session: Session, actor: CaseActor, case_id: str, person_id: str
) -> list[RelationshipView]:
    """The relationships of one person, in either direction, by the other person's alias.

    A relationship to a protected-track person is left out for an actor without
    ``cases.protected`` (as the person is left out of the case)."""
    person = _person_of_case(session, actor, case_id, person_id, manage=False)
    rows = session.scalars(
        select(CaseRelationship).where(
            CaseRelationship.case_id == person.case_id,
            or_(
                CaseRelationship.person_id == person.id,
                CaseRelationship.other_person_id == person.id,
            ),
        )
    ).all()
    others = {
        p.id: p
        for p in session.scalars(
            select(CasePerson).where(
                CasePerson.id.in_(
                    [r.other_person_id if r.person_id == person.id else r.person_id for r in rows]
                )
            )
        )
    }
    protected_ok = can_see_protected(actor)
    views = []
    for row in rows:
        other = others.get(row.other_person_id if row.person_id == person.id else row.person_id)
        if other is None or (other.protected_track and not protected_ok):
            continue
        views.append(_relationship_view(row, person.id, other))
    return sorted(views, key=lambda v: (v.other_role, v.other_alias, v.id))


def relationship_candidates(
    session: Session, actor: CaseActor, case_id: str, person_id: str
) -> list[PersonView]:
    """The people of the case this person could be related to: everyone else the actor may see
    who has no relationship with them yet."""
    person = _person_of_case(session, actor, case_id, person_id, manage=False)
    query = select(CasePerson).where(
        CasePerson.case_id == person.case_id,
        CasePerson.id != person.id,
        CasePerson.id.not_in(
            select(CaseRelationship.other_person_id).where(CaseRelationship.person_id == person.id)
        ),
        CasePerson.id.not_in(
            select(CaseRelationship.person_id).where(CaseRelationship.other_person_id == person.id)
        ),
    )
    if not can_see_protected(actor):
        query = query.where(CasePerson.protected_track.is_(False))
    people = session.scalars(query.order_by(CasePerson.role, CasePerson.alias)).all()
    return [_person_view(p, {}, False) for p in people]


def _relationship_of(
    session: Session, actor: CaseActor, case_id: str, person_id: str, relationship_id: str
) -> CaseRelationship:
    """A relationship of this person in this case that the actor may see and change; anything
    else is :class:`NotFound` (a hidden person's relationship is not there)."""
    person = _person_of_case(session, actor, case_id, person_id, manage=True)
    row = session.get(CaseRelationship, relationship_id)
    ends = (row.person_id, row.other_person_id) if row is not None else ()
    if row is None or row.case_id != person.case_id or person.id not in ends:
        raise NotFound(relationship_id)
    other = session.get(
        CasePerson, row.other_person_id if row.person_id == person.id else row.person_id
    )
    if other is None or (other.protected_track and not can_see_protected(actor)):
        raise NotFound(relationship_id)
    return row


def add_relationship(
    session: Session,
    actor: CaseActor,
    case_id: str,
    person_id: str,
    other_person_id: str,
    relationship: str,
) -> CaseRelationship:
    """Record how ``person_id`` is related to ``other_person_id`` (both people of the case the
    actor may see; two different people; one relationship per pair, in either direction). When
    exactly one of the two is a victim, the victim is stored as the other person."""
    case = _case_for(session, actor, case_id, manage=True)
    errors: list[FieldError] = []
    _check_code(errors, "relationship", relationship, taxonomy.RELATIONSHIP.values, False)
    people = {
        p.id: p
        for p in session.scalars(
            select(CasePerson).where(
                CasePerson.case_id == case.id, CasePerson.id.in_([person_id, other_person_id])
            )
        )
    }
    protected_ok = can_see_protected(actor)
    for name, pid in (("person_id", person_id), ("other_person_id", other_person_id)):
        found = people.get(pid)
        if found is None or (found.protected_track and not protected_ok):
            errors.append(FieldError(name, N_("No such person in this case.")))
    if person_id == other_person_id:
        errors.append(
            FieldError(
                "other_person_id", N_("A person cannot have a relationship with themselves.")
            )
        )
    if not errors:
        existing = session.scalar(
            select(CaseRelationship.relationship).where(
                or_(
                    and_(
                        CaseRelationship.person_id == person_id,
                        CaseRelationship.other_person_id == other_person_id,
                    ),
                    and_(
                        CaseRelationship.person_id == other_person_id,
                        CaseRelationship.other_person_id == person_id,
                    ),
                )
            )
        )
        if existing is not None:
            errors.append(
                FieldError(
                    "other_person_id",
                    N_(
                        "%(alias)s and %(other)s already have a relationship recorded; change "
                        "its kind instead of adding another."
                    ),
                    {"alias": people[person_id].alias, "other": people[other_person_id].alias},
                )
            )
    if errors:
        raise CaseInvalid(errors)
    first, second = people[person_id], people[other_person_id]
    if first.role == "victim" and second.role != "victim":
        first, second = second, first
    row = CaseRelationship(
        id=new_id(),
        case_id=case.id,
        person_id=first.id,
        other_person_id=second.id,
        relationship=relationship,
    )
    session.add(row)
    _relationship_event(
        session,
        actor,
        case,
        "added",
        {"relationship": relationship, "people": [first.id, second.id]},
    )
    return row


def change_relationship(
    session: Session,
    actor: CaseActor,
    case_id: str,
    person_id: str,
    relationship_id: str,
    relationship: str,
) -> CaseRelationship:
    """Change the kind of one of this person's relationships (audited with the kind before)."""
    row = _relationship_of(session, actor, case_id, person_id, relationship_id)
    errors: list[FieldError] = []
    _check_code(errors, "relationship", relationship, taxonomy.RELATIONSHIP.values, False)
    if errors:
        raise CaseInvalid(errors)
    before = row.relationship
    if before == relationship:
        return row
    row.relationship = relationship
    _relationship_event(
        session,
        actor,
        _case_of(session, row),
        "changed",
        {
            "relationship_before": before,
            "relationship": relationship,
            "people": [row.person_id, row.other_person_id],
        },
    )
    return row


def remove_relationship(
    session: Session, actor: CaseActor, case_id: str, person_id: str, relationship_id: str
) -> None:
    """Remove one of this person's relationships (audited with its kind)."""
    row = _relationship_of(session, actor, case_id, person_id, relationship_id)
    details = {"relationship": row.relationship, "people": [row.person_id, row.other_person_id]}
    case = _case_of(session, row)
    session.delete(row)
    _relationship_event(session, actor, case, "removed", details)


def _case_of(session: Session, row: CaseRelationship) -> Case:
    case = session.get(Case, row.case_id)
    assert case is not None
    return case


def _relationship_event(
    session: Session, actor: CaseActor, case: Case, what: str, details: dict[str, Any]
) -> None:
    """A relationship added, changed or removed: the case is marked changed and the event
    recorded in the same transaction."""
    case.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        action=f"cases.relationship.{what}",
        actor=actor,
        target_type="case",
        target_id=case.id,
        details=details,
    )


# -- scopes (administrators) ---------------------------------------------------------------------


def set_scope(
    session: Session,
    actor: CaseActor,
    user_id: str,
    *,
    scope: str,
    team: str | None = None,
    org_unit: str | None = None,
    senior: bool = False,
) -> None:
    _require(actor, "users.manage")
    errors: list[FieldError] = []
    _check_code(errors, "scope", scope, SCOPES, False)
    team = _clean_text(team)
    unit_id = None
    if scope == "team" and not team:
        errors.append(FieldError("team", N_("Name the team.")))
    if scope == "region":
        unit = orgunits.by_code(session, org_unit or "")
        if unit is None:
            errors.append(
                FieldError(
                    "org_unit", N_("Unknown region %(code)s."), {"code": repr(org_unit or "")}
                )
            )
        else:
            unit_id = unit.id
    if errors:
        raise CaseInvalid(errors)
    row = session.get(CaseScope, user_id)
    if row is None:
        row = CaseScope(user_id=user_id)
        session.add(row)
    row.scope = scope
    row.team = team
    row.org_unit_id = unit_id
    row.senior = senior
    row.set_by_id = actor.id
    session.flush()
    session.info.pop(_SCOPE_KEY, None)
    session.info.pop(_VISIBLE_KEY, None)
    audit.record(
        session,
        action="cases.scope.set",
        actor=actor,
        target_type="user",
        target_id=user_id,
        details={"scope": scope, "senior": senior},
    )


# -- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFilter:
    status: str | None = None
    org_unit: str | None = None  # a unit code: the unit and all below it
    form: str | None = None
    assigned_to_me: bool = False
    text: str | None = None  # a reference (C-XXXX-XXXX) or words of the title


@dataclass(frozen=True)
class CaseRow:
    id: str
    reference: str
    title: str
    status: str
    priority: str
    setting: str | None
    org_unit_code: str
    opened_at: datetime
    restricted: bool


def list_cases(
    session: Session,
    actor: CaseActor,
    filters: CaseFilter | None = None,
    *,
    before: tuple[datetime, str] | None = None,
    limit: int = PAGE_SIZE,
) -> list[CaseRow]:
    """The cases the actor may see, newest first; ``before`` is the (opened_at, id) of the last
    row of the previous page (keyset paging keeps every page as fast as the first)."""
    _require(actor, "cases.read")
    from opschub.orgunits.models import OrgUnit

    filters = filters or CaseFilter()
    query = select(
        Case.id,
        Case.reference,
        Case.title,
        Case.status,
        Case.priority,
        Case.setting,
        OrgUnit.code,
        Case.opened_at,
        Case.restricted,
    ).join(OrgUnit, OrgUnit.id == Case.org_unit_id)
    few = visible_ids_if_few(session, actor)
    if few is not None:  # a narrow scope: its few cases by id, then sorted
        if not few:
            return []
        query = query.where(Case.id.in_(few))
    else:
        query = query.where(visible_clause(session, actor))
    if filters.status:
        query = query.where(Case.status == filters.status)
    if filters.org_unit:
        try:
            codes = orgunits.descendants(session, filters.org_unit)
        except orgunits.UnknownUnit:
            return []
        query = query.where(Case.org_unit_id.in_(list(orgunits.ids_for(session, codes).values())))
    if filters.form:
        query = query.where(
            exists().where(CaseForm.case_id == Case.id, CaseForm.form == filters.form)
        )
    if filters.assigned_to_me:
        query = query.where(Case.assigned_to_id == actor.id)
    if filters.text:
        text = filters.text.strip()
        if re.match(r"^C-[0-9A-Z]{4}-[0-9A-Z]{4}$", text.upper()):
            query = query.where(Case.reference == text.upper())
        else:
            query = query.where(func.lower(Case.title).contains(text.lower()[:100]))
    if before is not None:
        query = query.where(
            or_(Case.opened_at < before[0], and_(Case.opened_at == before[0], Case.id < before[1]))
        )
    query = query.order_by(Case.opened_at.desc(), Case.id.desc()).limit(limit)
    return [CaseRow(*row) for row in session.execute(query).all()]


@dataclass(frozen=True)
class PersonView:
    id: str
    role: str
    alias: str
    sex: str
    birth_date: date | None
    birth_month: str | None
    estimated_age: int | None
    age_at_opening: int | None
    age_band: str | None
    nationality: str | None
    residence: str | None
    vulnerabilities: tuple[str, ...]
    offender_category: str | None
    protected_track: bool
    victim_person_id: str | None
    suspect_confirmation: str | None
    has_real_name: bool
    version: int


@dataclass(frozen=True)
class CaseView:
    id: str
    reference: str
    title: str
    status: str
    priority: str
    setting: str | None
    org_unit_code: str
    org_unit_path: tuple[str, ...]
    team: str | None
    assigned_to_id: str | None
    restricted: bool
    opened_at: datetime
    closed_at: datetime | None
    version: int
    forms: tuple[tuple[str, str], ...]
    report_ids: tuple[str, ...]
    evidence_item_ids: tuple[str, ...]
    linked_case_ids: tuple[str, ...]
    people: tuple[PersonView, ...]
    relationships: tuple[tuple[str, str, str], ...]  # (person, other person, relationship)
    members: tuple[str, ...]
    hidden_people: int  # protected-track people the actor may not see (shown as a count only)
    # (id, reference) of the visible linked cases
    linked_references: tuple[tuple[str, str], ...] = ()


def _person_view(p: CasePerson, units: Mapping[str, str], named: bool) -> PersonView:
    return PersonView(
        id=p.id,
        role=p.role,
        alias=p.alias,
        sex=p.sex,
        birth_date=p.birth_date,
        birth_month=p.birth_month,
        estimated_age=p.estimated_age,
        age_at_opening=p.age_at_opening,
        age_band=p.age_band,
        nationality=p.nationality,
        residence=units.get(p.residence_unit_id) if p.residence_unit_id else None,
        vulnerabilities=tuple(p.vulnerabilities or ()),
        offender_category=p.offender_category,
        protected_track=p.protected_track,
        victim_person_id=p.victim_person_id,
        suspect_confirmation=p.suspect_confirmation,
        has_real_name=named,
        version=p.version_id,
    )


def _case_parts(case_id: str, visible: ColumnElement[bool]) -> Any:
    """Forms, reports, evidence, relationships, members and visible linked cases of a case as
    one UNION ALL of ``(kind, a, b, c, at)`` rows: one round trip whatever their number."""
    from sqlalchemy import String, cast, literal_column, null, union_all

    def text(value: Any) -> Any:
        return cast(value, String)

    none = cast(null(), String)
    no_time = null()
    parts = [
        select(
            literal_column("'form'").label("kind"),
            CaseForm.form.label("a"),
            CaseForm.participation.label("b"),
            none.label("c"),
            no_time.label("at"),
        ).where(CaseForm.case_id == case_id),
        select(
            literal_column("'report'"), CaseReport.report_id, none, none, CaseReport.created_at
        ).where(CaseReport.case_id == case_id),
        select(
            literal_column("'evidence'"),
            CaseEvidence.evidence_item_id,
            none,
            none,
            CaseEvidence.created_at,
        ).where(CaseEvidence.case_id == case_id),
        select(
            literal_column("'relationship'"),
            CaseRelationship.person_id,
            CaseRelationship.other_person_id,
            CaseRelationship.relationship,
            no_time,
        ).where(CaseRelationship.case_id == case_id),
        select(literal_column("'member'"), CaseMember.user_id, none, none, no_time).where(
            CaseMember.case_id == case_id
        ),
        # linked cases, each direction by its own index, only those the actor may see
        select(literal_column("'link'"), Case.id, text(Case.reference), none, no_time)
        .select_from(CaseLink)
        .join(Case, Case.id == CaseLink.other_case_id)
        .where(CaseLink.case_id == case_id, visible),
        select(literal_column("'link'"), Case.id, text(Case.reference), none, no_time)
        .select_from(CaseLink)
        .join(Case, Case.id == CaseLink.case_id)
        .where(CaseLink.other_case_id == case_id, visible),
    ]
    return union_all(*parts)


def get_case(session: Session, actor: CaseActor, case_id: str) -> CaseView:
    """A case as the actor may see it: protected-track people left out (only counted) unless the
    actor holds ``cases.protected``. No real names (see :func:`read_real_name`).

    A constant number of round trips whatever the size of the case: the actor's scope and the
    region tree (each once a session), the case, its people (with whether a real name is stored,
    without decrypting it), and one UNION ALL of forms, reports, evidence, relationships,
    members and visible linked cases.
    """
    visible = visible_clause(session, actor)
    case = _case_for(session, actor, case_id, visible=visible)
    tree = orgunits.tree(session)
    unit_code = tree.code_of[case.org_unit_id]
    named_column = CasePerson.__table__.c.real_name.is_not(None).label("named")
    people_rows = session.execute(
        select(CasePerson, named_column)
        .where(CasePerson.case_id == case.id)
        .order_by(CasePerson.role, CasePerson.created_at, CasePerson.id)
    ).all()
    protected_ok = can_see_protected(actor)
    shown = [(p, bool(named)) for p, named in people_rows if protected_ok or not p.protected_track]
    shown_ids = {p.id for p, _ in shown}
    forms: list[tuple[str, str]] = []
    reports: list[tuple[datetime, str]] = []
    evidence: list[tuple[datetime, str]] = []
    relationships: list[tuple[str, str, str]] = []
    members: list[str] = []
    linked: dict[str, str] = {}
    for kind, a, b, c, at in session.execute(_case_parts(case.id, visible)).all():
        if kind == "form":
            forms.append((a, b))
        elif kind == "report":
            reports.append((at, a))
        elif kind == "evidence":
            evidence.append((at, a))
        elif kind == "relationship":
            if a in shown_ids and b in shown_ids:
                relationships.append((a, b, c))
        elif kind == "member":
            members.append(a)
        else:
            linked[a] = b
    return CaseView(
        id=case.id,
        reference=case.reference,
        title=case.title,
        status=case.status,
        priority=case.priority,
        setting=case.setting,
        org_unit_code=unit_code,
        org_unit_path=tuple(tree.ancestors(unit_code)),
        team=case.team,
        assigned_to_id=case.assigned_to_id,
        restricted=case.restricted,
        opened_at=case.opened_at,
        closed_at=case.closed_at,
        version=case.version_id,
        forms=tuple(sorted(forms)),
        report_ids=tuple(r for _, r in sorted(reports, key=_by_time)),
        evidence_item_ids=tuple(e for _, e in sorted(evidence, key=_by_time)),
        linked_case_ids=tuple(sorted(linked)),
        people=tuple(_person_view(p, tree.code_of, named) for p, named in shown),
        relationships=tuple(relationships),
        members=tuple(members),
        hidden_people=len(people_rows) - len(shown),
        linked_references=tuple(sorted(linked.items())),
    )


def _by_time(item: tuple[Any, str]) -> tuple[str, str]:
    at, key = item
    return (str(at) if at is not None else "", key)


def references(session: Session, case_ids: Sequence[str]) -> dict[str, str]:
    if not case_ids:
        return {}
    return dict(
        session.execute(select(Case.id, Case.reference).where(Case.id.in_(list(case_ids)))).all()
    )


@dataclass(frozen=True)
class DuplicateHint:
    person_id: str
    case_id: str
    case_reference: str
    alias: str
    why: str  # "alias" or "birth_month_region"


def _hint_queries(
    session: Session,
    actor: CaseActor,
    people: Sequence[tuple[str, str, str, str | None, str | None]],
    limit: int,
    visible: ColumnElement[bool],
) -> list[Any]:
    """For each (person id, case id, alias, birth month, residence id): a query for people in
    other visible cases with the same alias (any case), and one for the same birth month and
    region, each stopping at ``limit``; every row names the person it is a hint for."""
    from sqlalchemy import String, cast, literal

    queries = []
    for person_id, case_id, alias, birth_month, residence_id in people:
        # Both sides lowered by the database (the index ix_case_people_alias_lower holds its
        # lower(alias)), so a letter that Python folds differently still finds its own spelling.
        same_alias = func.lower(CasePerson.alias) == func.lower(literal(alias, String))
        conditions = [("alias", same_alias)]
        if birth_month and residence_id:
            conditions.append(
                (
                    "birth_month_region",
                    and_(
                        CasePerson.birth_month == birth_month,
                        CasePerson.residence_unit_id == residence_id,
                    ),
                )
            )
        for why, condition in conditions:
            query = (
                select(
                    cast(literal(person_id), String).label("source"),
                    cast(literal(why), String).label("why"),
                    CasePerson.id,
                    CasePerson.case_id,
                    Case.reference,
                    CasePerson.alias,
                )
                .join(Case, Case.id == CasePerson.case_id)
                .where(CasePerson.case_id != case_id, condition, visible)
                .limit(limit)
            )
            if not can_see_protected(actor):
                query = query.where(CasePerson.protected_track.is_(False))
            queries.append(query)
    return queries


def _hints(
    session: Session,
    actor: CaseActor,
    people: Sequence[tuple[str, str, str, str | None, str | None]],
    limit: int,
    visible: ColumnElement[bool],
) -> dict[str, list[DuplicateHint]]:
    from sqlalchemy import union_all

    found: dict[str, list[DuplicateHint]] = {p[0]: [] for p in people}
    queries = _hint_queries(session, actor, people, limit, visible)
    if not queries:
        return found
    # one round trip: each part limited on its own (a subquery, as SQLite wants it)
    parts = [select(q.subquery()) for q in queries]
    statement = parts[0] if len(parts) == 1 else union_all(*parts)
    seen: set[tuple[str, str]] = set()
    for row in session.execute(statement).all():
        source, why, other_id, other_case, reference, alias = row
        if other_id == source or (source, other_id) in seen:
            continue
        if len(found[source]) >= limit:
            continue
        seen.add((source, other_id))
        found[source].append(DuplicateHint(other_id, other_case, reference, alias, why))
    return found


def duplicate_hints(
    session: Session, actor: CaseActor, person_id: str, *, limit: int = 20
) -> list[DuplicateHint]:
    """People in other cases the actor may see who may be the same person: the same alias
    (whatever the case of its letters), or the same birth month and region of residence.
    Protected-track people only for those who may see them."""
    person = _person_for(session, actor, person_id)
    people = [
        (person.id, person.case_id, person.alias, person.birth_month, person.residence_unit_id)
    ]
    return _hints(session, actor, people, limit, visible_clause(session, actor))[person.id]


def duplicate_hints_for_case(
    session: Session, actor: CaseActor, view: CaseView, *, limit: int = 5
) -> dict[str, list[DuplicateHint]]:
    """:func:`duplicate_hints` for every person the actor sees in ``view`` (from
    :func:`get_case`, which checked the access), in one round trip."""
    tree = orgunits.tree(session)
    people = [
        (
            p.id,
            view.id,
            p.alias,
            p.birth_month,
            tree.id_of.get(p.residence) if p.residence else None,
        )
        for p in view.people
    ]
    return _hints(session, actor, people, limit, visible_clause(session, actor))


def person_case_id(session: Session, person_id: str) -> str | None:
    return session.scalar(select(CasePerson.case_id).where(CasePerson.id == person_id))
