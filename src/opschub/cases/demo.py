"""Synthetic, benign demo cases.

:func:`load` (``opschub demo load``) adds a few dozen cases across the demo districts with
realistic small counts (forms, victims by sex and age, adult and child suspects, relationships)
through the service, so that every rule applies and statistics have something to count.

:func:`load_large` (``opschub demo load --size large``) generates many cases quickly for
benchmarks: bulk inserts of pre-built rows in chunks (no per-case audit event, no real names),
one audit event for the batch. Everything is marked ``is_demo``; nothing names a real person.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Date, Table, delete, func, select
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateIndex, DropIndex

from opschub import taxonomy
from opschub.audit import service as audit
from opschub.cases import service
from opschub.cases.models import (
    PRIORITIES,
    STATUSES,
    Case,
    CaseForm,
    CasePerson,
    case_reference,
)
from opschub.clock import utcnow
from opschub.db import Database, UTCDateTime
from opschub.orgunits import demo as orgunits_demo
from opschub.orgunits import service as orgunits

SEED = 20261202
SMALL_CASES = 36
LARGE_CASES = 1_000_000
PEOPLE_PER_CASE = 3
CHUNK = 20_000
_FORMS = (
    "grooming",
    "csam",
    "sexual_extortion",
    "live_streaming",
    "prostitution",
    "travel_tourism",
)
_TITLES = (
    "Contact through an online game",
    "Images shared in a class chat group",
    "Threats to share images unless paid",
    "Abuse streamed to paying viewers",
    "Child exploited in prostitution at a hotel",
    "Report from a school counsellor",
)


def loaded(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Case).where(Case.is_demo)) or 0)


def _ensure_units(session: Session) -> list[str]:
    if not orgunits.by_code(session, "XA"):
        orgunits_demo.load(session)
    return list(orgunits_demo.DISTRICTS)


def load(session: Session, *, seed: int = SEED) -> int:
    """Add the small demo: cases spread over the last year across the demo districts."""
    if loaded(session):
        return 0
    rng = random.Random(seed)
    districts = _ensure_units(session)
    actor = service.Importer(name="demo data", protected=True)
    now = utcnow()
    for number in range(SMALL_CASES):
        form = _FORMS[number % len(_FORMS)]
        opened = now - timedelta(days=rng.randint(1, 360), hours=rng.randint(0, 23))
        case = service.open_case(
            session,
            actor,
            service.CaseIn(
                title=_TITLES[number % len(_TITLES)],
                org_unit=rng.choice(districts),
                setting="offline" if form in ("prostitution", "travel_tourism") else "online",
                priority=rng.choice(PRIORITIES),
                status=rng.choice(("open", "in_progress", "in_progress", "on_hold")),
                team=rng.choice(("north-1", "east-1", "south-1")),
                forms=[(form, "committed" if rng.random() < 0.85 else "attempt")],
                opened_at=opened,
            ),
            is_demo=True,
        )
        victims = []
        for _ in range(1 if rng.random() < 0.8 else 2):
            victim = service.add_person(
                session,
                actor,
                case.id,
                service.PersonIn(
                    role="victim",
                    sex=rng.choice(("female", "female", "male", "unknown")),
                    estimated_age=rng.randint(6, 17),
                    residence=case_unit(session, case),
                    vulnerabilities=rng.sample(
                        ("migrant", "alternative_care", "disability"), k=rng.randint(0, 1)
                    ),
                ),
            )
            victims.append(victim)
        child_suspect = rng.random() < 0.15
        suspect = service.add_person(
            session,
            actor,
            case.id,
            service.PersonIn(
                role="suspect",
                sex="male" if rng.random() < 0.9 else "female",
                estimated_age=rng.randint(14, 17) if child_suspect else rng.randint(19, 60),
            ),
        )
        service.add_relationship(
            session,
            actor,
            case.id,
            suspect.id,
            victims[0].id,
            rng.choice(
                ("online_contact", "acquaintance", "family", "position_of_trust", "stranger")
            ),
        )
        if rng.random() < 0.5:
            service.add_person(session, actor, case.id, service.PersonIn(role="guardian"))
    return SMALL_CASES


@dataclass(frozen=True)
class Removed:
    cases: int
    people: int
    units: tuple[str, ...]


def remove(session: Session) -> Removed:
    """Delete every demo case (its people, forms, links and follow-up go with it: the foreign
    keys cascade), then the demo regions that nothing else refers to any more. Cases not marked
    ``is_demo`` and the regions they use stay."""
    demo_cases = select(Case.id).where(Case.is_demo.is_(True)).scalar_subquery()
    people = int(
        session.scalar(
            select(func.count()).select_from(CasePerson).where(CasePerson.case_id.in_(demo_cases))
        )
        or 0
    )
    removed = session.execute(delete(Case).where(Case.is_demo.is_(True)))
    count = int(getattr(removed, "rowcount", 0) or 0)
    units = orgunits.remove_unused(
        session, [u["code"] for u in orgunits_demo.DEMO_UNITS], actor_label="demo data"
    )
    if count:
        audit.record(
            session,
            action="cases.demo.removed",
            actor_label="demo data",
            target_type="case",
            details={"cases": count, "people": people, "is_demo": True},
        )
    return Removed(count, people, tuple(units))


def case_unit(session: Session, case: Case) -> str | None:
    unit = orgunits.by_id(session, case.org_unit_id)
    return unit.code if unit else None


@dataclass(frozen=True)
class LargeSummary:
    cases: int
    people: int
    seconds: float


# Invented given names for the generated people (benign; no real person is meant). Each is
# encrypted once and the ciphertext reused: the name column's associated data is the column, not
# the row, so every row decrypts (and a name read is audited like any other).
_NAMES = (
    "Lan Example",
    "Mei Sample",
    "Jun Placeholder",
    "Hua Testcase",
    "Ping Demo",
    "Yun Fictional",
    "Alex Example",
    "Sam Sample",
    "Robin Placeholder",
    "Kim Demo",
)


class _BulkInsert:
    """An executemany of plain tuples straight to the driver, for one table and chunk after
    chunk: the statement is written once, and only the date and time columns go through the
    column's own conversion per row (constant values are converted once by :meth:`const`)."""

    def __init__(self, conn: Connection, table: Table, columns: Sequence[str]) -> None:
        dialect = conn.dialect
        marker = "?" if dialect.paramstyle == "qmark" else "%s"
        self.conn = conn
        self.sql = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) "
            f"VALUES ({', '.join(marker for _ in columns)})"
        )
        self.copy = (
            f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
            if dialect.name == "postgresql"
            else None
        )
        self.processors = {
            name: table.c[name].type._cached_bind_processor(dialect) for name in columns
        }
        self.timed: list[tuple[int, Callable[[Any], Any]]] = []
        for index, name in enumerate(columns):
            processor = self.processors[name]
            if processor is not None and isinstance(table.c[name].type, UTCDateTime | Date):
                self.timed.append((index, processor))

    def const(self, column: str, value: Any) -> Any:
        processor = self.processors[column]
        return processor(value) if processor is not None else value

    def __call__(self, rows: list[list[Any]]) -> None:
        for row in rows:
            for index, processor in self.timed:
                row[index] = processor(row[index])
        if self.copy is not None:  # PostgreSQL: COPY, several times faster than executemany
            raw = self.conn.connection.driver_connection
            with raw.cursor() as cursor, cursor.copy(self.copy) as copy:  # type: ignore[union-attr]
                for row in rows:
                    copy.write_row(row)
            return
        self.conn.exec_driver_sql(self.sql, [tuple(row) for row in rows])


_CASE_COLUMNS = (
    "id",
    "reference",
    "title",
    "status",
    "priority",
    "setting",
    "org_unit_id",
    "team",
    "restricted",
    "opened_at",
    "opened_on",
    "closed_at",
    "updated_at",
    "is_demo",
    "version_id",
    "created_at",
)
_FORM_COLUMNS = ("id", "case_id", "form", "participation")
_PERSON_COLUMNS = (
    "id",
    "case_id",
    "role",
    "alias",
    "real_name",  # encrypted already (one ciphertext per distinct name)
    "sex",
    "estimated_age",
    "age_at_opening",
    "age_band",
    "residence_unit_id",
    "vulnerabilities",
    "suspect_acts",
    "offender_category",
    "protected_track",
    "version_id",
    "created_at",
)


def _id_maker(rng: random.Random, base_millis: int) -> Callable[[int], str]:
    """Time-ordered ids in the layout of :func:`opschub.ids.new_id`, from the seeded generator
    (no system call per row); ``n`` keeps them increasing within the load."""

    def make(n: int) -> str:
        value = ((base_millis + n // 4096) & ((1 << 48) - 1)) << 80 | rng.getrandbits(80)
        value = (value & ~(0xF << 76)) | (0x7 << 76)
        value = (value & ~(0x3 << 62)) | (0x2 << 62)
        return f"{value:032x}"

    return make


def after_large_insert(database: Database) -> None:
    """The one place where the generated cases are followed by what is derived from them.

    The stage alarms read the per-suspect waits kept at write time; the bulk insert bypasses the
    writers that keep them, so they are computed here once for every case.
    """
    from opschub.cases import stages_state

    with database.transaction() as session:
        stages_state.refresh(session)


def _generate(
    conn: Connection,
    cases: int,
    people_per_case: int,
    rng: random.Random,
    unit_ids: list[str],
    now: datetime,
    *,
    progress: Callable[[int], None] | None,
) -> tuple[int, int]:
    """Insert the generated rows chunk by chunk, each chunk its own transaction."""
    from opschub.crypto import encrypt

    forms = taxonomy.FORM_OF_EXPLOITATION.values
    sexes = ("female", "female", "male", "unknown")
    teams = ("north-1", "east-1", "south-1", None)
    settings_ = ("online", "offline", "both")
    bands = {age: taxonomy.age_band(age) for age in range(0, 18)}
    names = [encrypt(name.encode(), "case_people.real_name") for name in _NAMES]
    span = 5 * 365 * 86400
    month = timedelta(days=30)
    make_id = _id_maker(rng, int(now.timestamp() * 1000))
    serial = 0
    done = people = 0
    insert_cases = _BulkInsert(conn, cast(Table, Case.__table__), _CASE_COLUMNS)
    insert_forms = _BulkInsert(conn, cast(Table, CaseForm.__table__), _FORM_COLUMNS)
    insert_people = _BulkInsert(conn, cast(Table, CasePerson.__table__), _PERSON_COLUMNS)
    yes, no = insert_cases.const("is_demo", True), insert_cases.const("is_demo", False)
    nothing = insert_people.const("vulnerabilities", [])
    no_acts = insert_people.const("suspect_acts", None)
    while done < cases:
        batch = min(CHUNK, cases - done)
        case_rows: list[list[Any]] = []
        form_rows: list[list[Any]] = []
        person_rows: list[list[Any]] = []
        for _ in range(batch):
            serial += 1
            case_id = make_id(serial)
            opened = now - timedelta(seconds=rng.randrange(span))
            status = STATUSES[rng.randrange(4)]
            unit_id = unit_ids[rng.randrange(len(unit_ids))]
            # the order of _CASE_COLUMNS
            case_rows.append(
                [
                    case_id,
                    case_reference(case_id),
                    _TITLES[rng.randrange(len(_TITLES))],
                    status,
                    PRIORITIES[rng.randrange(4)],
                    settings_[rng.randrange(3)],
                    unit_id,
                    teams[rng.randrange(4)],
                    yes if rng.random() < 0.02 else no,
                    opened,
                    opened.astimezone(UTC).date(),
                    opened + month if status == "closed" else None,
                    opened,
                    yes,
                    1,
                    opened,
                ]
            )
            serial += 1
            form_rows.append(
                [make_id(serial), case_id, forms[rng.randrange(len(forms))], "committed"]
            )
            for index in range(people_per_case):
                role = "victim" if index == 0 else ("suspect" if index == 1 else "guardian")
                age = rng.randint(3, 17) if role == "victim" else rng.randint(15, 60)
                child = age < 18
                serial += 1
                # the order of _PERSON_COLUMNS
                person_rows.append(
                    [
                        make_id(serial),
                        case_id,
                        role,
                        f"{role[0].upper()}1",
                        # a victim's name is known in about half of the cases
                        names[rng.randrange(len(names))]
                        if role == "victim" and rng.random() < 0.5
                        else None,
                        sexes[rng.randrange(4)],
                        age,
                        age,
                        bands[age] if child else None,
                        unit_id if role == "victim" else None,
                        nothing,
                        no_acts,
                        (("child" if child else "adult") if role == "suspect" else None),
                        yes if role == "suspect" and child else no,
                        1,
                        opened,
                    ]
                )
        with conn.begin():
            insert_cases(case_rows)
            insert_forms(form_rows)
            insert_people(person_rows)
        done += batch
        people += len(person_rows)
        if progress:
            progress(done)
    return done, people


def load_large(
    database: Database,
    *,
    cases: int = LARGE_CASES,
    people_per_case: int = PEOPLE_PER_CASE,
    seed: int = SEED,
    progress: Callable[[int], None] | None = None,
) -> LargeSummary:
    """Generate ``cases`` demo cases with ``people_per_case`` people each, in chunks (each chunk
    its own transaction: an interrupted load leaves whole chunks, all marked ``is_demo``).

    Fast by construction: rows are plain tuples built from the seeded generator, inserted with
    Core executemany per table and chunk (no ORM object, no per-row event or audit), the names
    encrypted once each; ``progress`` is called with the number of cases done after each chunk.
    """
    from opschub.orgunits.models import OrgUnit

    started = time.perf_counter()
    rng = random.Random(seed)
    with database.transaction() as session:
        _ensure_units(session)
        unit_ids = list(session.scalars(select(OrgUnit.id).where(OrgUnit.level == 3)))
    now = utcnow()
    with database.engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:  # the indexes of a large table fit in memory while loading
            conn.exec_driver_sql("PRAGMA cache_size=-262144")
            conn.commit()
        tables = [cast(Table, t.__table__) for t in (Case, CaseForm, CasePerson)]
        # Into empty tables (a fresh benchmark database), the secondary indexes are built once
        # at the end, sorted, instead of row by row (about twice as fast); they are rebuilt
        # whatever happens (finally), the unique constraints stay throughout. table.indexes is
        # every Index of the models: the foreign-key indexes and lower(alias) included.
        empty = conn.execute(select(Case.id).limit(1)).first() is None
        deferred = [index for table in tables for index in table.indexes] if empty else []
        conn.commit()
        # The database checks existence (IF [NOT] EXISTS), not reflection: SQLite's reflection
        # does not see the expression index ix_case_people_alias_lower.
        for index in deferred:
            conn.execute(DropIndex(index, if_exists=True))
        conn.commit()
        try:
            done, people = _generate(
                conn, cases, people_per_case, rng, unit_ids, now, progress=progress
            )
        finally:
            conn.rollback()
            for index in deferred:
                conn.execute(CreateIndex(index, if_not_exists=True))
            conn.commit()
        if sqlite:
            conn.exec_driver_sql("PRAGMA cache_size=-2000")
            conn.commit()
    after_large_insert(database)
    with database.transaction() as session:
        audit.record(
            session,
            action="cases.cases.imported",
            actor_label="demo data",
            target_type="case",
            details={"cases": done, "people": people, "is_demo": True},
        )
    return LargeSummary(done, people, time.perf_counter() - started)
