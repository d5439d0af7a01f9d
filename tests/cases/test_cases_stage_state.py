"""The follow-up state kept at write time (opschub.cases.stages_state), on SQLite and PostgreSQL:
the stored stage alarms and informing reminders give exactly what the rules give when worked out
from every step (stages.alarms, informing_rules.reminders: the way they were computed before),
on generated data, for several days and targets, scoped and paged; and each writer (a step
recorded, something told, a suspect added, a case closed or reopened, an import) keeps it."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from cases_followup_helpers import WORKER, FakeBackend, FakeCase, fake_cases, store_case_rows
from sqlalchemy import insert, select

from factories import create_actor
from opschub.cases import informing, informing_rules, proceedings, stages, stages_state
from opschub.cases.followup_models import CaseInformed, CaseProceeding, CaseStageWait
from opschub.cases.followup_port import PersonBrief
from opschub.clock import frozen
from opschub.db import Database

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CHAIN = (
    "investigation_opened",
    "charged",
    "prosecution",
    "hearing",
    "conviction",
    "appeal",
    "acquittal",
    "compensation_ordered",
    "compensation_paid",
    "compensation_ordered",
)
CONVICTED = ("investigation_opened", "charged", "prosecution", "hearing", "conviction")
AFTER_CONVICTION = ("sentence", "offender_released", "compensation_ordered", "compensation_paid")


def _chain(rng: random.Random) -> list[str]:
    """A plausible order of steps for one suspect (any prefix of one of three tracks)."""
    track = rng.choice(
        [CHAIN, CONVICTED + AFTER_CONVICTION, (*CONVICTED, "appeal", "acquittal", "appeal")]
    )
    return list(track[: rng.randrange(len(track) + 1)])


def _generate(database: Database, backend: FakeBackend, rng: random.Random, cases: int) -> None:
    """``cases`` cases (some closed, some without suspect, some with two), steps on increasing
    dates (sometimes the same day) and informed-log entries that name steps or name none."""
    steps: list[dict[str, Any]] = []
    told: list[dict[str, Any]] = []
    for number in range(cases):
        case_id = f"{number:032x}"
        opened = date(2024, 1, 1) + timedelta(days=rng.randrange(900))
        suspects = [
            PersonBrief(f"{number:028x}s{k:03d}", f"S{k + 1}", "suspect")
            for k in range(rng.choice((0, 1, 1, 2)))
        ]
        case = FakeCase(
            case_id,
            opened,
            people=[PersonBrief(f"{number:028x}v000", "V1", "victim"), *suspects],
            open=rng.random() > 0.15,
        )
        backend.add(case)
        store_case_rows(database, case)
        case_steps: list[dict[str, Any]] = []
        for suspect in suspects:
            day = opened - timedelta(days=rng.randrange(0, 30))
            for kind in _chain(rng):
                day = day + timedelta(days=rng.choice((0, 1, 5, 30, 90, 200)))
                case_steps.append(
                    {
                        "id": f"{len(steps) + len(case_steps):032x}",
                        "case_id": case_id,
                        "suspect_id": suspect.id,
                        "kind": kind,
                        "occurred_on": day,
                        "amount": 100 if kind.startswith("compensation") else None,
                    }
                )
        steps.extend(case_steps)
        for _ in range(rng.choice((0, 0, 1, 2))):
            named = [s["id"] for s in case_steps if rng.random() < 0.3]
            told.append(
                {
                    "case_id": case_id,
                    "told_on": opened + timedelta(days=rng.randrange(0, 700)),
                    "who": "guardian",
                    "language": "zh",
                    "form": "phone",
                    "what": "What happened so far.",
                    "steps": named if rng.random() < 0.5 else [],
                }
            )
    with database.transaction() as session:
        if steps:
            session.execute(insert(CaseProceeding), steps)
        for entry in told:
            session.add(CaseInformed(**entry))


def _old_alarms(
    session: Any, backend: FakeBackend, *, today: date, targets: dict[str, int], case_ids: Any
) -> list[tuple[Any, ...]]:
    """The alarms worked out from every step, as before the state was stored."""
    by_suspect: dict[tuple[str, str], list[stages.Step]] = defaultdict(list)
    for row in session.execute(
        select(
            CaseProceeding.case_id,
            CaseProceeding.suspect_id,
            CaseProceeding.kind,
            CaseProceeding.occurred_on,
        )
    ):
        by_suspect[(row.case_id, row.suspect_id)].append(stages.Step(row.kind, row.occurred_on))
    found = []
    for case in backend.open_cases_with_suspects(session, case_ids):
        for suspect_id in case.suspect_ids:
            for wait in stages.alarms(
                by_suspect.get((case.id, suspect_id), []),
                opened_on=case.opened_on,
                today=today,
                targets=targets,
            ):
                found.append((case.id, suspect_id, wait.stage, wait.since, wait.days, wait.target))
    # longest over first, then case, suspect, stage (the order stage_alarms promises)
    return sorted(found, key=lambda a: (a[5] - a[4], a[0], a[1], a[2]))


def _old_reminders(
    session: Any, *, today: date, within_days: int, case_ids: Any
) -> list[tuple[Any, ...]]:
    happened: dict[str, list[informing_rules.Happened]] = defaultdict(list)
    for row in session.execute(
        select(
            CaseProceeding.id,
            CaseProceeding.case_id,
            CaseProceeding.kind,
            CaseProceeding.occurred_on,
        ).where(CaseProceeding.kind.in_(stages.MUST_TELL))
    ):
        if case_ids is None or row.case_id in case_ids:
            happened[row.case_id].append(
                informing_rules.Happened(row.id, row.kind, row.occurred_on)
            )
    told: dict[str, list[informing_rules.Told]] = defaultdict(list)
    for entry in session.execute(
        select(CaseInformed.case_id, CaseInformed.told_on, CaseInformed.steps)
    ):
        told[entry.case_id].append(informing_rules.Told(entry.told_on, tuple(entry.steps or ())))
    found = [
        (case_id, r.step_id, r.kind, r.on, r.days, r.overdue)
        for case_id, steps in happened.items()
        for r in informing_rules.reminders(
            steps, told.get(case_id, []), today=today, within_days=within_days
        )
    ]
    return sorted(found, key=lambda r: (r[3], r[0], r[1]))


def _new_alarms(session: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
    return [
        (a.case_id, a.suspect_id, a.stage, a.since, a.days, a.target)
        for a in proceedings.stage_alarms(session, **kwargs)
    ]


def _new_reminders(session: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
    return [
        (r.case_id, r.step_id, r.kind, r.on, r.days, r.overdue)
        for r in informing.reminders(session, **kwargs)
    ]


@pytest.fixture
def backend(database: Database) -> Iterator[FakeBackend]:
    with fake_cases() as fake, frozen(NOW):
        yield fake


TARGET_SETS = [
    dict(stages.DEFAULT_TARGETS),
    {"opened": 1, "charged": 400, "compensation_ordered": 30},  # stages without a target: unwatched
    {stage: 1 for stage in stages.WAITING_STAGES},
]


@pytest.mark.parametrize("seed", [1, 2])
def test_stored_alarms_and_reminders_equal_the_rules_worked_out_from_every_step(
    database: Database, backend: FakeBackend, seed: int
) -> None:
    rng = random.Random(seed)
    _generate(database, backend, rng, cases=60)
    with database.transaction() as session:
        stored = stages_state.refresh(session)
    assert stored > 0
    some = sorted(backend.cases)[::3]
    with database.read() as session:
        for today in (date(2024, 6, 1), date(2025, 3, 17), date(2026, 12, 1), date(2028, 1, 1)):
            for targets in TARGET_SETS:
                for case_ids in (None, some):
                    old = _old_alarms(
                        session, backend, today=today, targets=targets, case_ids=case_ids
                    )
                    new = _new_alarms(
                        session, today=today, targets=targets, case_ids=case_ids, limit=10_000
                    )
                    assert new == old
                    assert proceedings.count_stage_alarms(
                        session, today=today, targets=targets, case_ids=case_ids
                    ) == len(old)
            for within in (0, 7, 60):
                for case_ids in (None, some):
                    old_r = _old_reminders(
                        session, today=today, within_days=within, case_ids=case_ids
                    )
                    new_r = _new_reminders(
                        session, today=today, within_days=within, case_ids=case_ids, limit=10_000
                    )
                    assert new_r == old_r
                    assert informing.count_reminders(session, case_ids=case_ids) == len(old_r)
    assert old and old_r, "the generated data has alarms and reminders to compare"


def test_pages_of_alarms_and_reminders_put_together_are_the_whole_list(
    database: Database, backend: FakeBackend
) -> None:
    _generate(database, backend, random.Random(7), cases=50)
    with database.transaction() as session:
        stages_state.refresh(session)
    today, targets = date(2027, 1, 1), {stage: 1 for stage in stages.WAITING_STAGES}
    with database.read() as session:
        whole = _new_alarms(session, today=today, targets=targets, limit=10_000)
        paged = [
            alarm
            for start in range(0, len(whole) + 7, 7)
            for alarm in _new_alarms(session, today=today, targets=targets, limit=7, offset=start)
        ]
        assert paged == whole and len(whole) > 7
        assert proceedings.count_stage_alarms(session, today=today, targets=targets, cap=5) == 6
        reminders = _new_reminders(session, today=today, within_days=7, limit=10_000)
        paged_r = [
            r
            for start in range(0, len(reminders) + 5, 5)
            for r in _new_reminders(session, today=today, within_days=7, limit=5, offset=start)
        ]
        assert paged_r == reminders and len(reminders) > 5
        assert informing.count_reminders(session, cap=3) == 4


def test_refreshing_twice_or_case_by_case_stores_the_same_state(
    database: Database, backend: FakeBackend
) -> None:
    _generate(database, backend, random.Random(11), cases=40)

    def state() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        with database.read() as session:
            waits = session.execute(
                select(
                    CaseStageWait.case_id,
                    CaseStageWait.suspect_id,
                    CaseStageWait.track,
                    CaseStageWait.stage,
                    CaseStageWait.since,
                ).order_by(CaseStageWait.suspect_id, CaseStageWait.track)
            ).all()
            marks = session.execute(
                select(CaseProceeding.id, CaseProceeding.told).order_by(CaseProceeding.id)
            ).all()
        return [tuple(w) for w in waits], [tuple(m) for m in marks]

    with database.transaction() as session:
        stages_state.refresh(session)
    first = state()
    with database.transaction() as session:
        stages_state.refresh(session)
    assert state() == first
    with database.transaction() as session:
        session.execute(CaseStageWait.__table__.delete())
        session.execute(CaseProceeding.__table__.update().values(told=None))
    for case_id in sorted(backend.cases):
        with database.transaction() as session:
            stages_state.refresh(session, [case_id])
    assert state() == first


# --- each writer keeps the state (fake cases-core behind the port) ------------------------

CASE = "c" * 32
SUSPECT = "s" * 32


@pytest.fixture
def one_case(database: Database, backend: FakeBackend) -> FakeBackend:
    case = FakeCase(
        CASE,
        date(2026, 1, 10),
        people=[PersonBrief("v" * 32, "V1", "victim"), PersonBrief(SUSPECT, "S1", "suspect")],
    )
    backend.add(case)
    store_case_rows(database, case)
    return backend


def _record(database: Database, kind: str, on: date) -> proceedings.StepView:
    with database.transaction() as session:
        return proceedings.record_step(
            session,
            WORKER,
            case_id=CASE,
            suspect_id=SUSPECT,
            kind=kind,
            on=on,
            amount=500 if kind in stages.WITH_AMOUNT else None,
        )


def _tell(database: Database, on: date, steps: list[str] | None = None) -> None:
    with database.transaction() as session:
        informing.log_told(
            session,
            WORKER,
            case_id=CASE,
            told_on=on,
            who="child_and_guardian",
            language="zh",
            form="in_person",
            what="What happened and what comes next.",
            steps=steps or [],
        )


def _alarm_stages(database: Database, today: date) -> list[tuple[str, date]]:
    with database.read() as session:
        return [
            (a.stage, a.since)
            for a in proceedings.stage_alarms(session, today=today, targets=stages.DEFAULT_TARGETS)
        ]


def _reminder_kinds(database: Database) -> list[str]:
    with database.read() as session:
        return [
            r.kind for r in informing.reminders(session, today=date(2026, 12, 1), within_days=7)
        ]


def test_an_alarm_is_raised_the_day_after_the_target_by_the_injected_clock(
    database: Database, one_case: FakeBackend
) -> None:
    # "opened" waits 14 days from 10 January: the 24th is the 14th day, the 25th the 15th.
    assert _alarm_stages(database, date(2026, 1, 24)) == []
    assert _alarm_stages(database, date(2026, 1, 25)) == [("opened", date(2026, 1, 10))]
    _record(database, "investigation_opened", date(2026, 1, 20))
    assert _alarm_stages(database, date(2026, 1, 25)) == []
    assert _alarm_stages(database, date(2026, 4, 20)) == []  # 90 days
    assert _alarm_stages(database, date(2026, 4, 21)) == [
        ("investigation_opened", date(2026, 1, 20))
    ]


def test_a_recorded_step_moves_the_wait_and_a_finished_track_leaves_none(
    database: Database, one_case: FakeBackend
) -> None:
    for kind, on in (
        ("investigation_opened", date(2026, 2, 1)),
        ("charged", date(2026, 3, 1)),
        ("prosecution", date(2026, 4, 1)),
        ("conviction", date(2026, 5, 1)),
    ):
        _record(database, kind, on)
        assert _alarm_stages(database, date(2030, 1, 1)) == [(kind, on)]
    _record(database, "compensation_ordered", date(2026, 6, 1))
    assert sorted(_alarm_stages(database, date(2030, 1, 1))) == [
        ("compensation_ordered", date(2026, 6, 1)),
        ("conviction", date(2026, 5, 1)),
    ]
    _record(database, "sentence", date(2026, 7, 1))
    _record(database, "compensation_paid", date(2026, 8, 1))
    assert _alarm_stages(database, date(2030, 1, 1)) == []


def test_a_logged_telling_marks_the_steps_told(database: Database, one_case: FakeBackend) -> None:
    _record(database, "investigation_opened", date(2026, 2, 1))
    charged = _record(database, "charged", date(2026, 3, 1))
    hearing = _record(database, "prosecution", date(2026, 3, 2))
    hearing = _record(database, "hearing", date(2026, 4, 1))
    assert _reminder_kinds(database) == ["charged", "hearing"]
    _tell(database, date(2026, 11, 1), steps=[hearing.id])  # names the hearing only
    assert _reminder_kinds(database) == ["charged"]
    _tell(database, date(2026, 3, 5))  # names nothing: everything up to 5 March
    assert _reminder_kinds(database) == []
    # A step recorded later but dated before an entry that named nothing was told by it.
    _record(database, "conviction", date(2026, 3, 4))
    assert _reminder_kinds(database) == []
    _record(database, "sentence", date(2026, 11, 2))
    assert _reminder_kinds(database) == ["sentence"]
    with database.read() as session:
        told = dict(session.execute(select(CaseProceeding.kind, CaseProceeding.told)).all())
    assert told["charged"] is True and told["prosecution"] is None
    assert charged.id != hearing.id


def test_a_case_closed_or_without_suspect_has_no_alarm_after_a_refresh(
    database: Database, one_case: FakeBackend
) -> None:
    _record(database, "investigation_opened", date(2026, 2, 1))
    assert _alarm_stages(database, date(2030, 1, 1)) == [("investigation_opened", date(2026, 2, 1))]
    one_case.cases[CASE].open = False  # cases-core closes the case, then refreshes
    with database.transaction() as session:
        stages_state.refresh(session, [CASE])
    assert _alarm_stages(database, date(2030, 1, 1)) == []
    one_case.cases[CASE].open = True
    one_case.cases[CASE].people = [p for p in one_case.cases[CASE].people if p.role != "suspect"]
    with database.transaction() as session:
        stages_state.refresh(session, [CASE])
    assert _alarm_stages(database, date(2030, 1, 1)) == []


# --- the writers of cases-core keep the state (real cases behind the port) ------------------

OPENED = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def _real_alarms(database: Database, actor: Any) -> list[tuple[str, str]]:
    from opschub.cases import followup_port

    with database.read() as session:
        visible = followup_port.visible_case_ids(session, actor)
        return [
            (a.case_id, a.stage)
            for a in proceedings.stage_alarms(
                session, today=date(2025, 1, 1), targets={"opened": 14}, case_ids=visible
            )
        ]


def test_adding_a_suspect_and_closing_or_reopening_the_case_keep_the_alarms(
    units: Database,
) -> None:
    from opschub.cases import service

    database = units
    worker = create_actor(database)
    with frozen(OPENED), database.transaction() as session:
        case = service.open_case(
            session,
            worker,
            service.CaseIn(
                title="Grooming in a game chat",
                org_unit="XA-01-01",
                setting="online",
                forms=[("grooming", "committed")],
            ),
        )
        case_id = case.id
        service.add_person(session, worker, case_id, service.PersonIn(role="victim"))
    assert _real_alarms(database, worker) == []
    with frozen(OPENED), database.transaction() as session:
        service.add_person(
            session,
            worker,
            case_id,
            service.PersonIn(role="suspect", estimated_age=35, offender_category="adult"),
        )
        # A child suspect goes to the protected track and never waits for proceedings.
        service.add_person(
            session, worker, case_id, service.PersonIn(role="suspect", estimated_age=15)
        )
    assert _real_alarms(database, worker) == [(case_id, "opened")]

    def set_status(status: str) -> None:
        with database.transaction() as session:
            current = session.get(service.Case, case_id)
            assert current is not None
            service.update_case(
                session, worker, case_id, version=current.version_id, changes={"status": status}
            )

    set_status("closed")
    assert _real_alarms(database, worker) == []
    set_status("open")
    assert _real_alarms(database, worker) == [(case_id, "opened")]
    other = create_actor(database)
    assert _real_alarms(database, other) == []  # not in the other worker's scope


def test_imported_cases_with_suspects_wait_at_opened(units: Database, tmp_path: Any) -> None:
    from typer.testing import CliRunner

    from opschub.cli import app as cli_app

    database = units
    data = tmp_path / "cases.csv"
    data.write_text(
        "case_key,title,org_unit,setting,forms,opened_at,"
        "role,alias,real_name,sex,estimated_age,birth_month,residence\n"
        "A1,Grooming case,XA-01-01,online,grooming,2024-05-01T10:00:00+00:00,"
        "victim,,,female,12,,\n"
        "A1,,,,,,suspect,,,male,40,,\n"
        "A2,Other case,XA-01-01,online,grooming,2024-05-02T10:00:00+00:00,"
        "victim,,,female,13,,\n",
        "utf-8",
    )
    result = CliRunner().invoke(cli_app, ["cases", "import", str(data), "--format", "csv"])
    assert result.exit_code == 0, result.output
    with database.read() as session:
        alarms = proceedings.stage_alarms(session, today=date(2025, 1, 1), targets={"opened": 14})
    assert [(a.stage, a.since) for a in alarms] == [("opened", date(2024, 5, 1))]


def test_the_migration_backfills_the_state_that_a_refresh_would_store(
    tmp_path: Any, settings: Any
) -> None:
    """A SQLite file migrated to the revision before, filled, then upgraded to the head."""
    from alembic import command

    from opschub import migrate
    from opschub.cases.models import Case, CasePerson
    from opschub.orgunits import demo as orgunits_demo
    from opschub.orgunits import service as orgunits

    target = Database(f"sqlite:///{tmp_path / 'backfill.sqlite3'}")
    config = migrate.alembic_config(str(target.engine.url))
    command.upgrade(config, "7c3f9e2a5d01")
    with frozen(NOW), target.transaction() as session:
        orgunits_demo.load(session)
        unit = orgunits.by_code(session, "XA-01-01")
        assert unit is not None
        for n, status in enumerate(("open", "open", "closed")):
            session.add(
                Case(
                    id=f"{n:032x}",
                    title="t",
                    org_unit_id=unit.id,
                    opened_on=date(2025, 1, 1),
                    status=status,
                )
            )
            session.flush()
            for role in ("suspect", "victim"):
                session.add(
                    CasePerson(
                        id=f"{n:031x}{role[0]}", case_id=f"{n:032x}", role=role, alias=role[0]
                    )
                )
        session.flush()
        steps = [
            ("a", 1, "investigation_opened", date(2025, 2, 1)),
            ("b", 1, "charged", date(2025, 3, 1)),
            ("c", 1, "compensation_ordered", date(2025, 3, 2)),
            ("d", 2, "investigation_opened", date(2025, 2, 1)),
            ("e", 2, "charged", date(2025, 4, 1)),
        ]
        # The table as it was before the revision: no "told" column yet.
        session.execute(
            insert(CaseProceeding.__table__),
            [
                {
                    "id": letter * 32,
                    "case_id": f"{n:032x}",
                    "suspect_id": f"{n:031x}s",
                    "kind": kind,
                    "occurred_on": on,
                    "created_at": NOW,
                }
                for letter, n, kind, on in steps
            ],
        )
        session.add(
            CaseInformed(
                case_id=f"{1:032x}",
                told_on=date(2025, 3, 10),
                who="guardian",
                language="zh",
                form="phone",
                what="Charges.",
                steps=[],
            )
        )
    command.upgrade(config, "head")

    def state() -> tuple[list[tuple[Any, ...]], dict[str, bool | None]]:
        with target.read() as session:
            waits = session.execute(
                select(
                    CaseStageWait.suspect_id,
                    CaseStageWait.track,
                    CaseStageWait.stage,
                    CaseStageWait.since,
                ).order_by(CaseStageWait.suspect_id, CaseStageWait.track)
            ).all()
            marks = session.execute(select(CaseProceeding.id, CaseProceeding.told)).all()
        return [tuple(w) for w in waits], {m.id: m.told for m in marks}

    backfilled = state()
    # Case 2 is closed: no wait; the charges of case 1 were told (an entry naming no step).
    assert backfilled == (
        [
            (f"{0:031x}s", "main", "opened", date(2025, 1, 1)),
            (f"{1:031x}s", "compensation", "compensation_ordered", date(2025, 3, 2)),
            (f"{1:031x}s", "main", "charged", date(2025, 3, 1)),
        ],
        {"a" * 32: None, "b" * 32: True, "c" * 32: None, "d" * 32: None, "e" * 32: False},
    )
    with target.transaction() as session:
        stages_state.refresh(session)
    assert state() == backfilled
    target.dispose()
