"""Bulk transfer of cases from another system: ``opschub cases import FILE --format csv|json``.

All-or-nothing: every record is validated first with the same rules as the pages and the API
(:mod:`opschub.cases.service`), each problem named by its row (CSV: the file's line; JSON: the
case's position, 1-based) and field; then the cases, forms and people are written with bulk
inserts and one audit event for the batch. Child suspects go to the protected track as
everywhere else. A child victim cannot be imported as a suspect (that needs a senior's
confirmation in the case page).

CSV: one line per person; the case columns are read from the first line of each ``case_key``
(the case's key in the other system); a line with an empty ``role`` is a case without people.
List columns (``forms``, ``vulnerabilities``) separate items with ``;`` and a form's
participation with ``:`` (``grooming:attempt;csam``).

JSON: ``[{"key", "title", "org_unit", ..., "forms": [{"form", "participation"}],
"people": [{"role", ...}]}]``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from opschub import taxonomy
from opschub.audit import service as audit
from opschub.cases import service
from opschub.cases.models import Case, CaseForm, CasePerson, case_reference
from opschub.clock import utcnow
from opschub.ids import new_id
from opschub.orgunits.models import OrgUnit

CASE_COLUMNS = (
    "case_key",
    "title",
    "org_unit",
    "setting",
    "priority",
    "status",
    "team",
    "opened_at",
    "closed_at",
    "forms",
)
PERSON_COLUMNS = (
    "role",
    "alias",
    "real_name",
    "sex",
    "birth_date",
    "birth_month",
    "estimated_age",
    "nationality",
    "residence",
    "vulnerabilities",
    "offender_category",
)
CSV_COLUMNS = CASE_COLUMNS + PERSON_COLUMNS
CHUNK = 5000


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.field}: {self.message}"


class ImportInvalid(ValueError):
    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors[:10]))


@dataclass
class _Record:
    row: int
    key: str
    case: service.CaseIn
    people: list[tuple[int, service.PersonIn]] = field(default_factory=list)


@dataclass(frozen=True)
class ImportResult:
    cases: int
    people: int


def _blank(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _datetime(value: str | None, row: int, name: str, errors: list[RowError]) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        errors.append(RowError(row, name, f"{value!r} is not a date and time (ISO 8601)"))
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # times from the other system are UTC unless marked
    return parsed


def _date(value: str | None, row: int, name: str, errors: list[RowError]) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(RowError(row, name, f"{value!r} is not a date (YYYY-MM-DD)"))
        return None


def _int(value: object, row: int, name: str, errors: list[RowError]) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(str(value))
    except ValueError:
        errors.append(RowError(row, name, f"{value!r} is not a whole number"))
        return None


def _forms(value: object, row: int, errors: list[RowError]) -> list[tuple[str, str]]:
    if value is None:
        return []
    if isinstance(value, list):
        found = []
        for item in value:
            if not isinstance(item, Mapping) or "form" not in item:
                errors.append(RowError(row, "forms", "each form is an object with a 'form' key"))
                continue
            found.append((str(item["form"]), str(item.get("participation") or "committed")))
        return found
    pairs = []
    for part in str(value).split(";"):
        part = part.strip()
        if part:
            form, _, participation = part.partition(":")
            pairs.append((form.strip(), participation.strip() or "committed"))
    return pairs


def _list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [p.strip() for p in str(value).split(";") if p.strip()]


def _person(raw: Mapping[str, Any], row: int, errors: list[RowError]) -> service.PersonIn:
    return service.PersonIn(
        role=str(_blank(raw.get("role")) or ""),
        alias=_blank(raw.get("alias")),
        real_name=_blank(raw.get("real_name")),
        sex=_blank(raw.get("sex")) or "unknown",
        birth_date=_date(_blank(raw.get("birth_date")), row, "birth_date", errors),
        birth_month=_blank(raw.get("birth_month")),
        estimated_age=_int(_blank(raw.get("estimated_age")), row, "estimated_age", errors),
        nationality=_blank(raw.get("nationality")),
        residence=_blank(raw.get("residence")),
        vulnerabilities=_list(raw.get("vulnerabilities")),
        offender_category=_blank(raw.get("offender_category")),
    )


def _case(raw: Mapping[str, Any], row: int, errors: list[RowError]) -> service.CaseIn:
    return service.CaseIn(
        title=str(_blank(raw.get("title")) or ""),
        org_unit=str(_blank(raw.get("org_unit")) or ""),
        setting=_blank(raw.get("setting")),
        priority=_blank(raw.get("priority")) or "normal",
        status=_blank(raw.get("status")) or "open",
        team=_blank(raw.get("team")),
        forms=_forms(raw.get("forms"), row, errors),
        opened_at=_datetime(_blank(raw.get("opened_at")), row, "opened_at", errors),
        closed_at=_datetime(_blank(raw.get("closed_at")), row, "closed_at", errors),
    )


def parse_csv(text: str) -> tuple[list[_Record], list[RowError]]:
    """Records from CSV text; line numbers count the header as line 1."""
    errors: list[RowError] = []
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("case_key", "title", "org_unit") if c not in (reader.fieldnames or [])]
    if missing:
        return [], [RowError(1, ",".join(missing), "missing columns")]
    unknown = [c for c in reader.fieldnames or [] if c not in CSV_COLUMNS]
    if unknown:
        errors.append(RowError(1, ",".join(unknown), "unknown columns"))
    records: dict[str, _Record] = {}
    for line, raw in enumerate(reader, start=2):
        key = _blank(raw.get("case_key"))
        if key is None:
            errors.append(RowError(line, "case_key", "is empty"))
            continue
        record = records.get(key)
        if record is None:
            record = records[key] = _Record(line, key, _case(raw, line, errors))
        if _blank(raw.get("role")):
            record.people.append((line, _person(raw, line, errors)))
    return list(records.values()), errors


def parse_json(text: str) -> tuple[list[_Record], list[RowError]]:
    """Records from a JSON array; rows are the cases' positions (1-based)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return [], [RowError(exc.lineno, "json", f"not JSON: {exc.msg} (line {exc.lineno})")]
    if not isinstance(data, list):
        return [], [RowError(1, "json", "the file must hold a JSON array of cases")]
    errors: list[RowError] = []
    records = []
    for number, raw in enumerate(data, start=1):
        if not isinstance(raw, Mapping):
            errors.append(RowError(number, "case", "each case is a JSON object"))
            continue
        record = _Record(number, str(raw.get("key") or number), _case(raw, number, errors))
        people = raw.get("people") or []
        if not isinstance(people, list):
            errors.append(RowError(number, "people", "must be a list"))
            people = []
        for i, person in enumerate(people):
            if not isinstance(person, Mapping):
                errors.append(RowError(number, f"people/{i}", "each person is a JSON object"))
                continue
            record.people.append((number, _person(person, number, errors)))
        records.append(record)
    return records, errors


def import_records(
    session: Session,
    actor: service.CaseActor,
    records: Sequence[_Record],
    parse_errors: Iterable[RowError] = (),
    *,
    file_name: str | None = None,
) -> ImportResult:
    """Validate every record, then write them all (or raise :class:`ImportInvalid`)."""
    if not actor.can("cases.manage"):
        raise service.Refused(
            "This needs the permission %(permission)s.", permission="cases.manage"
        )
    errors = list(parse_errors)
    units = dict(session.execute(select(OrgUnit.code, OrgUnit.id)).all())
    now = utcnow()
    case_rows: list[dict[str, Any]] = []
    form_rows: list[dict[str, Any]] = []
    person_rows: list[dict[str, Any]] = []
    for record in records:
        case_errors, unit_id = service._validate_case(session, record.case, units=units)
        errors.extend(RowError(record.row, e.field, e.text()) for e in case_errors)
        opened = record.case.opened_at or now
        case_id = new_id()
        if not case_errors and unit_id is not None:
            case_rows.append(
                {
                    "id": case_id,
                    "reference": case_reference(case_id),
                    "title": record.case.title.strip(),
                    "status": record.case.status,
                    "priority": record.case.priority,
                    "setting": record.case.setting,
                    "org_unit_id": unit_id,
                    "team": record.case.team,
                    "assigned_to_id": None,
                    "restricted": False,
                    "opened_at": opened,
                    "opened_on": opened.astimezone(UTC).date(),
                    "closed_at": record.case.closed_at,
                    "created_by_id": actor.id if actor.kind == "user" else None,
                    "updated_at": now,
                    "is_demo": False,
                    "version_id": 1,
                    "created_at": now,
                }
            )
            form_rows.extend(
                {"id": new_id(), "case_id": case_id, "form": f, "participation": p}
                for f, p in record.case.forms
            )
        aliases: set[str] = set()
        counters: dict[str, int] = {}
        opened_on = opened.astimezone(UTC).date() if opened.tzinfo else now.date()
        for row, person in record.people:
            person_errors, residence_id = service._validate_person(
                session, person, opened_on, units=units
            )
            errors.extend(RowError(row, e.field, e.text()) for e in person_errors)
            if person_errors:
                continue
            alias = person.alias
            if alias is None:
                prefix = {"victim": "V", "suspect": "S", "guardian": "G", "witness": "W"}[
                    person.role
                ]
                while True:
                    counters[prefix] = counters.get(prefix, 0) + 1
                    alias = f"{prefix}{counters[prefix]}"
                    if alias not in aliases:
                        break
            if alias in aliases:
                errors.append(RowError(row, "alias", f"{alias!r} is used twice in this case"))
                continue
            aliases.add(alias)
            age = service.age_on(
                opened_on,
                birth_date=person.birth_date,
                birth_month=person.birth_month,
                estimated_age=person.estimated_age,
            )
            category = person.offender_category
            if person.role == "suspect":
                child = age is not None and age < taxonomy.ADULT_AGE
                if category == "child" and age is not None and not child:
                    errors.append(
                        RowError(row, "offender_category", "the suspect was an adult at opening")
                    )
                    continue
                category = category or (
                    "child" if child else "adult" if age is not None else "unknown"
                )
            person_rows.append(
                {
                    "id": new_id(),
                    "case_id": case_id,
                    "role": person.role,
                    "alias": alias,
                    "real_name": person.real_name,
                    "sex": person.sex,
                    "birth_date": person.birth_date,
                    "birth_month": person.birth_month,
                    "estimated_age": person.estimated_age,
                    "age_at_opening": age,
                    "age_band": service.band_for(age),
                    "nationality": person.nationality,
                    "residence_unit_id": residence_id,
                    "vulnerabilities": list(dict.fromkeys(person.vulnerabilities)),
                    "offender_category": category if person.role == "suspect" else None,
                    "protected_track": person.role == "suspect" and category == "child",
                    "version_id": 1,
                    "created_at": now,
                }
            )
    if errors:
        raise ImportInvalid(sorted(errors, key=lambda e: e.row))
    for model, rows in ((Case, case_rows), (CaseForm, form_rows), (CasePerson, person_rows)):
        for start in range(0, len(rows), CHUNK):
            session.execute(insert(cast(Table, model.__table__)), rows[start : start + CHUNK])
    from opschub.cases import stages_state

    stages_state.refresh(session, [str(row["id"]) for row in case_rows])
    audit.record(
        session,
        action="cases.cases.imported",
        actor=actor,
        target_type="case",
        details={"cases": len(case_rows), "people": len(person_rows), "file": file_name or "-"},
    )
    return ImportResult(cases=len(case_rows), people=len(person_rows))
