"""The large generated demo (``opschub demo load --size large``): many benign cases, fast, for
benchmarks and for trying the system at a national size.

Every case gets a form of exploitation, a victim, a suspect (an adult, or a child on the
protected track) and a guardian, the suspect's relationship to the victim, one offence with its
limitation deadline, a referral to the district's one-stop centre, the proceedings against an
adult suspect (a random prefix of investigation, charges, prosecution, hearing, conviction,
sentence, compensation ordered and paid, on increasing dates) and, for a third of the cases, an
entry of the informed log. What the service derives from them at write time (the stored stage
waits and whether each step that must be told was told, :mod:`opschub.cases.stages_state`) is
derived here by the same rules (``stages_state.waits_of``, ``informing_rules.is_told``), row by
row as the rows are made, so that no pass over the whole database follows the load; a test
checks that ``stages_state.refresh`` finds nothing to change afterwards.

Fast by construction: rows are plain lists from the seeded generator (no ORM object, no system
call per id), one driver ``executemany`` per table and chunk on SQLite and ``COPY`` on
PostgreSQL, names and texts encrypted once per distinct value, secondary indexes of empty tables
built once at the end. Each chunk is its own transaction: an interrupted load leaves whole
chunks, all marked ``is_demo`` (``opschub demo remove`` takes them).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Connection, Date, Table, select
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateIndex, DropIndex

from opschub import taxonomy
from opschub.audit import service as audit
from opschub.cases import limitation, stages, stages_state
from opschub.cases.demo import SERVICE_NAME, TITLES, ensure_units
from opschub.cases.followup_models import (
    REFERRAL_STATUSES,
    CaseInformed,
    CaseOffence,
    CaseProceeding,
    CaseReferral,
    CaseStageWait,
    ReferralService,
)
from opschub.cases.models import (
    PRIORITIES,
    STATUSES,
    Case,
    CaseForm,
    CasePerson,
    CaseRelationship,
    case_reference,
)
from opschub.clock import utcnow
from opschub.db import Database, UTCDateTime

SEED = 20261202
LARGE_CASES = 1_000_000
PEOPLE_PER_CASE = 3
CHUNK = 20_000
# The proceedings against one suspect, in the order they happen (a random prefix is recorded).
CHAIN = (
    "investigation_opened",
    "charged",
    "prosecution",
    "hearing",
    "conviction",
    "sentence",
    "compensation_ordered",
    "compensation_paid",
)
INFORMED_TEXT = "Told of the steps so far, in words suited to the child's age (demo)."
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


@dataclass(frozen=True)
class LargeSummary:
    cases: int
    people: int
    seconds: float
    steps: int = 0  # proceedings steps
    waits: int = 0  # stored stage waits


class _BulkInsert:
    """An executemany of plain lists straight to the driver, for one table and chunk after
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
        if not rows:
            return
        for row in rows:
            for index, processor in self.timed:
                if row[index] is not None:
                    row[index] = processor(row[index])
        if self.copy is not None:  # PostgreSQL: COPY, several times faster than executemany
            raw = self.conn.connection.driver_connection
            with raw.cursor() as cursor, cursor.copy(self.copy) as copy:  # type: ignore[union-attr]
                for row in rows:
                    copy.write_row(row)
            return
        self.conn.exec_driver_sql(self.sql, [tuple(row) for row in rows])


# Column orders of the generated rows (each row list below follows its tuple).
_COLUMNS: dict[str, tuple[str, ...]] = {
    "cases": (
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
    ),
    "case_forms": ("id", "case_id", "form", "participation"),
    "case_people": (
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
    ),
    "case_relationships": (
        "id",
        "case_id",
        "person_id",
        "other_person_id",
        "relationship",
        "created_at",
    ),
    "case_offences": (
        "id",
        "case_id",
        "victim_id",
        "suspect_id",
        "offence_code",
        "committed_on",
        "rule",
        "starts_on",
        "falls_on",
        "exact",
        "created_at",
    ),
    "case_referrals": (
        "id",
        "case_id",
        "person_id",
        "service_id",
        "status",
        "sent_on",
        "due_on",
        "consent_by",
        "delivery_state",
        "status_changed_at",
        "version_id",
        "created_at",
    ),
    "case_proceedings": (
        "id",
        "case_id",
        "suspect_id",
        "kind",
        "occurred_on",
        "amount",
        "told",
        "created_at",
    ),
    "case_informed_log": (
        "id",
        "case_id",
        "told_on",
        "who",
        "language",
        "form",
        "what",
        "steps",
        "told_by_name",
        "created_at",
    ),
    "case_stage_waits": ("suspect_id", "track", "case_id", "stage", "since"),
}
GENERATED_MODELS: tuple[Any, ...] = (
    Case,
    CaseForm,
    CasePerson,
    CaseRelationship,
    CaseOffence,
    CaseReferral,
    CaseProceeding,
    CaseInformed,
    CaseStageWait,
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


@dataclass
class _Context:
    """What every chunk needs: the inserts, the constants converted once, the rules."""

    inserts: dict[str, _BulkInsert]
    unit_ids: list[str]
    service_of_unit: dict[str, str]
    now: datetime
    rules: dict[str, str]
    leap: str
    consts: dict[str, Any]


def _services(session: Session, units: dict[str, str]) -> dict[str, str]:
    """The one-stop centre of each district (added through the directory's writer once)."""
    from opschub.cases import referrals

    found = {
        row.org_unit_code: row.id
        for row in session.execute(
            select(ReferralService.org_unit_code, ReferralService.id).where(
                ReferralService.name == SERVICE_NAME
            )
        )
    }
    actor = _Generator()
    for code in units:
        if code not in found:
            view = referrals.add_service(
                session,
                actor,
                org_unit_code=code,
                kind="one_stop_centre",
                name=SERVICE_NAME,
                languages=["zh", "en"],
            )
            found[code] = view.id
    return {unit_id: found[code] for code, unit_id in units.items()}


@dataclass(frozen=True)
class _Generator:
    """The generator as an actor of the audit log and the directory."""

    id: str = "cli:demo data"
    name: str = "demo data"
    kind: str = "system"

    def can(self, permission: str) -> bool:
        return True


def _generate(
    conn: Connection, cases: int, rng: random.Random, ctx: _Context, *, progress: Any
) -> tuple[int, int, int, int]:
    """Insert the generated rows chunk by chunk, each chunk its own transaction; returns cases,
    people, proceedings steps and stored waits."""
    done = people = steps = waits = 0
    serial = [0]
    make_id = _id_maker(rng, int(ctx.now.timestamp() * 1000))

    def next_id() -> str:
        serial[0] += 1
        return make_id(serial[0])

    while done < cases:
        batch = min(CHUNK, cases - done)
        rows: dict[str, list[list[Any]]] = {name: [] for name in _COLUMNS}
        for _ in range(batch):
            _one_case(rows, rng, ctx, next_id)
        with conn.begin():
            for name, chunk in rows.items():
                ctx.inserts[name](chunk)
        done += batch
        people += len(rows["case_people"])
        steps += len(rows["case_proceedings"])
        waits += len(rows["case_stage_waits"])
        if progress:
            progress(done)
    return done, people, steps, waits


_SEXES = ("female", "female", "male", "unknown")
_TEAMS = ("north-1", "east-1", "south-1", None)
_SETTINGS = ("online", "offline", "both")
_BANDS = {age: taxonomy.age_band(age) for age in range(0, 18)}
_FORMS = taxonomy.FORM_OF_EXPLOITATION.values
_RELATIONSHIPS = taxonomy.RELATIONSHIP.values
_MONTH = timedelta(days=30)
_SPAN = 5 * 365 * 86400


def _one_case(
    rows: dict[str, list[list[Any]]],
    rng: random.Random,
    ctx: _Context,
    next_id: Callable[[], str],
) -> None:
    """The rows of one case, appended to ``rows`` in the column orders of :data:`_COLUMNS`."""
    c = ctx.consts
    case_id = next_id()
    opened = ctx.now - timedelta(seconds=rng.randrange(_SPAN))
    opened_on = opened.astimezone(UTC).date()
    today = ctx.now.date()
    status = STATUSES[rng.randrange(4)]
    unit_id = ctx.unit_ids[rng.randrange(len(ctx.unit_ids))]
    form = _FORMS[rng.randrange(len(_FORMS))]
    rows["cases"].append(
        [
            case_id,
            case_reference(case_id),
            TITLES[rng.randrange(len(TITLES))],
            status,
            PRIORITIES[rng.randrange(4)],
            _SETTINGS[rng.randrange(3)],
            unit_id,
            _TEAMS[rng.randrange(4)],
            c["yes"] if rng.random() < 0.02 else c["no"],
            opened,
            opened_on,
            opened + _MONTH if status == "closed" else None,
            opened,
            c["yes"],
            1,
            opened,
        ]
    )
    rows["case_forms"].append([next_id(), case_id, form, "committed"])
    ids = []
    ages = []
    for index in range(PEOPLE_PER_CASE):
        role = "victim" if index == 0 else ("suspect" if index == 1 else "guardian")
        age = rng.randint(3, 17) if role == "victim" else rng.randint(15, 60)
        child = age < 18
        person_id = next_id()
        ids.append(person_id)
        ages.append(age)
        rows["case_people"].append(
            [
                person_id,
                case_id,
                role,
                f"{role[0].upper()}1",
                # a victim's name is known in about half of the cases
                c["names"][rng.randrange(len(c["names"]))]
                if role == "victim" and rng.random() < 0.5
                else None,
                _SEXES[rng.randrange(4)],
                age,
                age,
                _BANDS[age] if child else None,
                unit_id if role == "victim" else None,
                c["nothing"],
                c["no_acts"],
                (("child" if child else "adult") if role == "suspect" else None),
                c["yes"] if role == "suspect" and child else c["no"],
                1,
                opened,
            ]
        )
    victim_id = ids[0]
    suspect_id = ids[1] if PEOPLE_PER_CASE > 1 else None
    adult_suspect = suspect_id if suspect_id is not None and ages[1] >= 18 else None
    if suspect_id is not None:
        rows["case_relationships"].append(
            [
                next_id(),
                case_id,
                suspect_id,
                victim_id,
                _RELATIONSHIPS[rng.randrange(len(_RELATIONSHIPS))],
                opened,
            ]
        )
    found = limitation.deadline(
        limitation.rule_for(form, ctx.rules),
        committed_on=opened_on,
        birth=limitation.Birth(estimated_age=ages[0], estimated_on=opened_on),
        leap=ctx.leap,
    )
    rows["case_offences"].append(
        [
            next_id(),
            case_id,
            victim_id,
            adult_suspect,
            form,
            opened_on,
            found.rule.code,
            found.starts_on,
            found.falls_on,
            c["yes"] if found.exact else c["no"],
            opened,
        ]
    )
    referral_status = REFERRAL_STATUSES[rng.randrange(len(REFERRAL_STATUSES))]
    rows["case_referrals"].append(
        [
            next_id(),
            case_id,
            victim_id,
            ctx.service_of_unit[unit_id],
            referral_status,
            opened_on,
            opened_on + _MONTH,
            "guardian" if rng.random() < 0.7 else "child",
            "not_sent",
            opened,
            1,
            opened,
        ]
    )
    told_on: date | None = None
    if rng.random() < 1 / 3:
        told_on = min(opened_on + timedelta(days=rng.randrange(30, 400)), today)
        rows["case_informed_log"].append(
            [
                next_id(),
                case_id,
                told_on,
                "guardian",
                "zh" if rng.random() < 0.8 else "en",
                "phone",
                c["informed_text"],
                c["no_steps"],
                "demo data",
                opened,
            ]
        )
    if adult_suspect is None:
        return  # no criminal proceedings step against a child (the protected track, para 71)
    recorded: list[stages.Step] = []
    day = opened_on
    for kind in CHAIN[: rng.randrange(len(CHAIN) + 1)]:
        day = day + timedelta(days=rng.randrange(1, 120))
        if day > today:
            break
        recorded.append(stages.Step(kind, day))
        told = None
        if kind in stages.MUST_TELL:
            # the rule of informing_rules.is_told for an entry that names no step
            told = c["yes"] if told_on is not None and told_on >= day else c["no"]
        rows["case_proceedings"].append(
            [
                next_id(),
                case_id,
                adult_suspect,
                kind,
                day,
                c["amount"] if kind in stages.WITH_AMOUNT else None,
                told,
                opened,
            ]
        )
    if status == "closed":
        return  # closed cases wait nowhere
    for wait in stages_state.waits_of(recorded, opened_on=opened_on):
        rows["case_stage_waits"].append(
            [adult_suspect, wait.track, case_id, wait.stage, wait.since]
        )


def load_large(
    database: Database,
    *,
    cases: int = LARGE_CASES,
    seed: int = SEED,
    progress: Callable[[int], None] | None = None,
) -> LargeSummary:
    """Generate ``cases`` demo cases with everything that follows them (see the module), in
    chunks; ``progress`` is called with the number of cases done after each chunk."""
    from opschub.config import get_settings
    from opschub.crypto import encrypt
    from opschub.orgunits.models import OrgUnit

    started = time.perf_counter()
    settings = get_settings()
    rng = random.Random(seed)
    with database.transaction() as session:
        ensure_units(session)
        units = {
            code: unit_id
            for code, unit_id in session.execute(
                select(OrgUnit.code, OrgUnit.id).where(OrgUnit.level == 3)
            )
        }
        service_of_unit = _services(session, units)
    with database.engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:  # the indexes of a large table fit in memory while loading
            conn.exec_driver_sql("PRAGMA cache_size=-262144")
            conn.commit()
        tables = [cast(Table, model.__table__) for model in GENERATED_MODELS]
        inserts = {table.name: _BulkInsert(conn, table, _COLUMNS[table.name]) for table in tables}
        people, proceedings = inserts["case_people"], inserts["case_proceedings"]
        informed = inserts["case_informed_log"]
        ctx = _Context(
            inserts=inserts,
            unit_ids=sorted(units.values()),
            service_of_unit=service_of_unit,
            now=utcnow(),
            rules=settings.cases_limitation_rules,
            leap=settings.cases_leap_day_birthday,
            consts={
                "yes": inserts["cases"].const("is_demo", True),
                "no": inserts["cases"].const("is_demo", False),
                "names": [encrypt(n.encode(), "case_people.real_name") for n in _NAMES],
                "nothing": people.const("vulnerabilities", []),
                "no_acts": people.const("suspect_acts", None),
                "amount": proceedings.const("amount", Decimal("1000.00")),
                "informed_text": encrypt(INFORMED_TEXT.encode(), "case_informed_log.what"),
                "no_steps": informed.const("steps", []),
            },
        )
        # Into empty tables (a fresh database), the secondary indexes are built once at the
        # end, sorted, instead of row by row (about twice as fast); they are rebuilt whatever
        # happens (finally), the unique constraints stay throughout. table.indexes is every Index
        # of the models: the foreign-key indexes and lower(alias) included.
        empty = conn.execute(select(Case.id).limit(1)).first() is None
        deferred = [index for table in tables for index in table.indexes] if empty else []
        conn.commit()
        # The database checks existence (IF [NOT] EXISTS), not reflection: SQLite's reflection
        # does not see the expression index ix_case_people_alias_lower.
        for index in deferred:
            conn.execute(DropIndex(index, if_exists=True))
        conn.commit()
        try:
            done, people_count, steps, waits = _generate(conn, cases, rng, ctx, progress=progress)
        finally:
            conn.rollback()
            for index in deferred:
                conn.execute(CreateIndex(index, if_not_exists=True))
            conn.commit()
        if sqlite:
            conn.exec_driver_sql("PRAGMA cache_size=-2000")
            conn.commit()
    with database.transaction() as session:
        audit.record(
            session,
            action="cases.cases.imported",
            actor_label="demo data",
            target_type="case",
            details={"cases": done, "people": people_count, "steps": steps, "is_demo": True},
        )
    return LargeSummary(done, people_count, time.perf_counter() - started, steps, waits)
