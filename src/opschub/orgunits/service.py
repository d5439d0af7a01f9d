"""Organisation units: loading the hierarchy and reading it. The only writer of ``org_units``.

:func:`load_rows` is all-or-nothing: every row is checked first and every problem is named with
its row number and field; only then is anything written, with one audit event for the batch.
A loaded code that exists already is updated (names, active); its parent and level never change
once set, because cases and statistics hang on them.

The tree (codes, parents, levels) is read on every case page and case list; :func:`tree` keeps it
in memory per database and checks it with one small query, once a session, against the table's
count and newest id (units are added and, for the demo, removed, but a unit's place never
changes), so a unit loaded by another process is seen at its next session. Writers here drop it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from opschub.audit import service as audit
from opschub.audit.service import Actor
from opschub.orgunits.models import LEVELS, MAX_CODE, MAX_NAME, OrgUnit

COLUMNS = ("code", "parent", "level", "name_en", "name_zh")
_CODE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
_TRUE = {"1", "true", "yes", "y", ""}
_FALSE = {"0", "false", "no", "n"}


@dataclass(frozen=True)
class UnitView:
    id: str
    code: str
    parent_code: str | None
    level: int
    name_en: str
    name_zh: str
    active: bool

    def name(self, lang: str) -> str:
        return self.name_zh if lang.lower().startswith("zh") else self.name_en


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based data row (the CLI adds the header line)
    field: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, field {self.field}: {self.message}"


class OrgUnitsInvalid(ValueError):
    """Rows that cannot be loaded; nothing was written."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors[:20]))


class UnknownUnit(LookupError):
    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"unknown organisation unit {code!r}")


@dataclass(frozen=True)
class LoadResult:
    added: int
    updated: int


@dataclass(frozen=True)
class Tree:
    """The place of every unit: ids, codes, parents, levels (no names: those may change)."""

    stamp: tuple[int, str | None]
    code_of: Mapping[str, str]  # id -> code
    id_of: Mapping[str, str]  # code -> id
    parent_of: Mapping[str, str | None]  # code -> parent code
    children_of: Mapping[str, tuple[str, ...]]  # code -> child codes, sorted

    def ancestors(self, code: str) -> list[str]:
        if code not in self.parent_of:
            raise UnknownUnit(code)
        chain = [code]
        while (parent := self.parent_of[chain[-1]]) is not None:
            chain.append(parent)
        return chain[::-1]

    def descendants(self, code: str) -> list[str]:
        if code not in self.parent_of:
            raise UnknownUnit(code)
        found = [code]
        for current in found:
            found.extend(self.children_of.get(current, ()))
        return found


_TREES: weakref.WeakKeyDictionary[Engine, Tree] = weakref.WeakKeyDictionary()
_TREES_LOCK = threading.Lock()
_SESSION_KEY = "opschub.orgunits.tree"
_UNITS_KEY = "opschub.orgunits.units"


def _engine(session: Session) -> Engine:
    return session.get_bind().engine


def tree(session: Session) -> Tree:
    """The unit tree, from memory when the table has not changed (one small query a session)."""
    memo = session.info.get(_SESSION_KEY)
    if isinstance(memo, Tree):
        return memo
    count, newest = session.execute(select(func.count(), func.max(OrgUnit.id))).one()
    stamp = (int(count or 0), newest)
    engine = _engine(session)
    with _TREES_LOCK:
        cached = _TREES.get(engine)
    if cached is None or cached.stamp != stamp:
        rows = session.execute(select(OrgUnit.id, OrgUnit.code, OrgUnit.parent_id)).all()
        code_of = {r.id: r.code for r in rows}
        parent_of = {r.code: code_of.get(r.parent_id) if r.parent_id else None for r in rows}
        children: dict[str, list[str]] = {}
        for child, parent in parent_of.items():
            if parent is not None:
                children.setdefault(parent, []).append(child)
        cached = Tree(
            stamp=stamp,
            code_of=code_of,
            id_of={code: unit_id for unit_id, code in code_of.items()},
            parent_of=parent_of,
            children_of={p: tuple(sorted(c)) for p, c in children.items()},
        )
        with _TREES_LOCK:
            _TREES[engine] = cached
    session.info[_SESSION_KEY] = cached
    return cached


def forget(session: Session) -> None:
    """Drop the remembered tree and unit list (after a write to ``org_units``)."""
    session.info.pop(_SESSION_KEY, None)
    session.info.pop(_UNITS_KEY, None)
    with _TREES_LOCK:
        _TREES.pop(_engine(session), None)


def _view(unit: OrgUnit, codes: Mapping[str, str]) -> UnitView:
    return UnitView(
        id=unit.id,
        code=unit.code,
        parent_code=codes.get(unit.parent_id) if unit.parent_id else None,
        level=unit.level,
        name_en=unit.name_en,
        name_zh=unit.name_zh,
        active=unit.active,
    )


def _text(row: Mapping[str, object], name: str) -> str:
    value = row.get(name)
    return "" if value is None else str(value).strip()


def load_rows(
    session: Session,
    actor: Actor | None,
    rows: Iterable[Mapping[str, object]],
    *,
    actor_label: str = "command line",
) -> LoadResult:
    """Add or update units from rows with the keys of :data:`COLUMNS` (``active`` optional).

    Parents may come later in the same file. Raises :class:`OrgUnitsInvalid` naming each bad row
    and field; then nothing is written.
    """
    existing = {u.code: u for u in session.scalars(select(OrgUnit))}
    errors: list[RowError] = []
    parsed: list[tuple[int, str, str | None, int, str, str, bool]] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        code = _text(row, "code").upper()
        parent = _text(row, "parent").upper() or None
        name_en = _text(row, "name_en")
        name_zh = _text(row, "name_zh")
        level_text = _text(row, "level")
        active_text = _text(row, "active").lower()
        bad = len(errors)
        if not code:
            errors.append(RowError(number, "code", "is empty"))
        elif len(code) > MAX_CODE or not set(code) <= _CODE_CHARS:
            errors.append(
                RowError(number, "code", f"{code!r} must be up to {MAX_CODE} letters, digits or -")
            )
        elif code in seen:
            errors.append(
                RowError(number, "code", f"{code} appears again (first in row {seen[code]})")
            )
        try:
            level = int(level_text)
            if level not in LEVELS:
                raise ValueError
        except ValueError:
            errors.append(
                RowError(
                    number,
                    "level",
                    f"{level_text!r} must be 1 (country), 2 (province) or 3 (district)",
                )
            )
            level = 0
        if level == 1 and parent:
            errors.append(RowError(number, "parent", "a country (level 1) has no parent"))
        if level in (2, 3) and not parent:
            errors.append(RowError(number, "parent", f"a level {level} unit needs a parent"))
        for field, value in (("name_en", name_en), ("name_zh", name_zh)):
            if not value:
                errors.append(RowError(number, field, "is empty"))
            elif len(value) > MAX_NAME:
                errors.append(RowError(number, field, f"is longer than {MAX_NAME} characters"))
        if active_text in _TRUE:
            active = True
        elif active_text in _FALSE:
            active = False
        else:
            errors.append(RowError(number, "active", f"{active_text!r} must be true or false"))
            active = True
        if len(errors) == bad and code:
            seen[code] = number
            parsed.append((number, code, parent, level, name_en, name_zh, active))
    levels = {code: unit.level for code, unit in existing.items()}
    levels.update({code: level for _n, code, _p, level, *_ in parsed})
    for number, code, parent, level, *_ in parsed:
        if parent is not None:
            if parent not in levels:
                errors.append(RowError(number, "parent", f"unknown unit {parent}"))
            elif levels[parent] != level - 1:
                errors.append(
                    RowError(
                        number, "parent", f"{parent} is level {levels[parent]}, not {level - 1}"
                    )
                )
        old = existing.get(code)
        if old is not None:
            old_parent = None
            if old.parent_id:
                old_parent = next((c for c, u in existing.items() if u.id == old.parent_id), None)
            if old.level != level or old_parent != parent:
                errors.append(
                    RowError(
                        number,
                        "parent" if old.level == level else "level",
                        f"{code} exists with level {old.level} and parent {old_parent or '-'}; "
                        "the place of a unit in the tree never changes",
                    )
                )
    if errors:
        raise OrgUnitsInvalid(sorted(errors, key=lambda e: e.row))
    forget(session)
    by_code = dict(existing)
    added = updated = 0
    for _number, code, parent, level, name_en, name_zh, active in sorted(
        parsed, key=lambda p: p[3]
    ):
        unit = by_code.get(code)
        if unit is None:
            unit = OrgUnit(
                code=code,
                parent_id=by_code[parent].id if parent else None,
                level=level,
                name_en=name_en,
                name_zh=name_zh,
                active=active,
            )
            session.add(unit)
            session.flush()
            by_code[code] = unit
            added += 1
        elif (unit.name_en, unit.name_zh, unit.active) != (name_en, name_zh, active):
            unit.name_en, unit.name_zh, unit.active = name_en, name_zh, active
            updated += 1
    audit.record(
        session,
        action="orgunits.loaded",
        actor=actor,
        actor_label=None if actor else actor_label,
        target_type="org_unit",
        details={"added": added, "updated": updated, "count": len(parsed)},
    )
    return LoadResult(added=added, updated=updated)


def units(session: Session) -> list[UnitView]:
    """Every unit, parents before children, siblings by code (read once a session)."""
    memo = session.info.get(_UNITS_KEY)
    if isinstance(memo, list):
        return list(memo)
    rows = list(session.scalars(select(OrgUnit).order_by(OrgUnit.level, OrgUnit.code)))
    codes = {u.id: u.code for u in rows}
    views = [_view(u, codes) for u in rows]
    children: dict[str | None, list[UnitView]] = {}
    for v in views:
        children.setdefault(v.parent_code, []).append(v)
    ordered: list[UnitView] = []

    def walk(parent: str | None) -> None:
        for v in children.get(parent, []):
            ordered.append(v)
            walk(v.code)

    walk(None)
    session.info[_UNITS_KEY] = ordered
    return list(ordered)


def by_code(session: Session, code: str) -> UnitView | None:
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is None:
        return None
    parent = session.get(OrgUnit, unit.parent_id) if unit.parent_id else None
    return _view(unit, {parent.id: parent.code} if parent else {})


def by_id(session: Session, unit_id: str) -> UnitView | None:
    unit = session.get(OrgUnit, unit_id)
    if unit is None:
        return None
    parent = session.get(OrgUnit, unit.parent_id) if unit.parent_id else None
    return _view(unit, {parent.id: parent.code} if parent else {})


def hierarchy(session: Session) -> dict[str, str | None]:
    """code -> parent code (``None`` for a country)."""
    return dict(tree(session).parent_of)


def descendants(session: Session, code: str) -> list[str]:
    """``code`` and every unit below it (an unknown code raises :class:`UnknownUnit`)."""
    return tree(session).descendants(code)


def ancestors(session: Session, code: str) -> list[str]:
    """The chain from the country down to ``code`` (root first, ``code`` last)."""
    return tree(session).ancestors(code)


def ids_for(session: Session, codes: Sequence[str]) -> dict[str, str]:
    """code -> id for the given codes (unknown codes are left out)."""
    id_of = tree(session).id_of
    return {code: id_of[code] for code in codes if code in id_of}


def remove_unused(session: Session, codes: Sequence[str], *, actor_label: str) -> list[str]:
    """Delete the units ``codes`` that nothing refers to (children first); the rest stay.

    For the demo data only (a real unit is deactivated, never deleted). Returns the deleted codes.
    """
    from opschub.db import import_all_models

    metadata = import_all_models()  # every table that may refer to a unit
    wanted = set(codes)
    found = {u.code: u for u in session.scalars(select(OrgUnit).where(OrgUnit.code.in_(wanted)))}
    referring = [
        (table, fk.parent)
        for table in metadata.sorted_tables
        for fk in table.foreign_keys
        if fk.column.table.name == OrgUnit.__tablename__ and table.name != OrgUnit.__tablename__
    ]
    removed: list[str] = []
    for unit in sorted(found.values(), key=lambda u: -u.level):
        used = (
            any(
                session.execute(select(column).where(column == unit.id).limit(1)).first()
                for _table, column in referring
            )
            or session.execute(
                select(OrgUnit.id).where(OrgUnit.parent_id == unit.id).limit(1)
            ).first()
        )
        if used:
            continue
        session.execute(delete(OrgUnit).where(OrgUnit.id == unit.id))
        removed.append(unit.code)
    if removed:
        forget(session)
        audit.record(
            session,
            action="orgunits.removed",
            actor_label=actor_label,
            target_type="org_unit",
            details={"count": len(removed)},
        )
    return removed
