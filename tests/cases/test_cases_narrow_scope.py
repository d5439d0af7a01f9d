"""A case worker who sees a few cases of many: their cases are found by the scope's own indexes
(``service.visible_ids_if_few``) and the case list and the dashboard's four lists look them up by
id; what they show must be exactly what the broad way (an ordered walk tested against the
visibility condition row by row) shows, on both engines."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from factories import create_actor
from opschub.accounts.permissions import Role
from opschub.accounts.principal import Principal
from opschub.cases import demo_large, informing, proceedings, referrals, service
from opschub.cases.models import Case
from opschub.db import Database

TARGETS = {"opened": 30, "investigation_opened": 60, "charged": 60, "hearing": 90}
ADMIN = service.Importer(name="test")


def _open_case_ids(database: Database, count: int, offset: int) -> list[str]:
    with database.read() as session:
        return list(
            session.scalars(
                select(Case.id)
                .where(Case.status != "closed", Case.restricted.is_(False))
                .order_by(Case.id)
                .offset(offset)
                .limit(count)
            )
        )


def _broad(session: object, actor: Principal) -> object:
    return select(Case.id).where(service.visible_clause(session, actor))  # type: ignore[arg-type]


def _lists(session: object, case_ids: object) -> dict[str, object]:
    today = date.today()
    kw = {"today": today, "case_ids": case_ids}
    return {
        "alarms": proceedings.stage_alarms(session, targets=TARGETS, limit=500, **kw),  # type: ignore[arg-type]
        "alarms_page_2": proceedings.stage_alarms(
            session,  # type: ignore[arg-type]
            targets=TARGETS,
            limit=5,
            offset=5,
            **kw,  # type: ignore[arg-type]
        ),
        "alarm_count": proceedings.count_stage_alarms(
            session,  # type: ignore[arg-type]
            targets=TARGETS,
            cap=1000,
            **kw,  # type: ignore[arg-type]
        ),
        "reminders": informing.reminders(session, within_days=7, limit=500, **kw),  # type: ignore[arg-type]
        "reminder_count": informing.count_reminders(session, case_ids=case_ids, cap=1000),  # type: ignore[arg-type]
        "limitation": proceedings.limitation_warnings(session, warn_days=365 * 40, **kw),  # type: ignore[arg-type]
        "overdue": referrals.overdue(session, **kw),  # type: ignore[arg-type]
    }


def test_a_worker_with_a_few_cases_sees_in_every_list_what_the_broad_way_shows(
    database: Database,
) -> None:
    demo_large.load_large(database, cases=400)
    worker = create_actor(database)
    mine = _open_case_ids(database, 12, offset=40)
    restricted_mine, member_of = _open_case_ids(database, 2, offset=100)
    with database.transaction() as session:
        session.execute(update(Case).where(Case.id.in_(mine)).values(assigned_to_id=worker.id))
        # assigned but restricted to named people without them: not visible
        session.execute(
            update(Case)
            .where(Case.id == restricted_mine)
            .values(assigned_to_id=worker.id, restricted=True)
        )
        # restricted, and the worker is a named member: visible
        session.execute(update(Case).where(Case.id == member_of).values(restricted=True))
        service.add_member(session, ADMIN, member_of, worker.id)
    with database.read() as session:
        few = service.visible_ids_if_few(session, worker)
        assert few == sorted([*mine, member_of])
        narrow = _lists(session, few)
        broad = _lists(session, _broad(session, worker))
        assert narrow == broad
        # the lists are not empty, so the comparison says something
        assert narrow["alarms"] and narrow["reminders"] and narrow["limitation"]
        assert {a.case_id for a in narrow["alarms"]} <= set(few)  # type: ignore[attr-defined]
        # the case list: newest first, the same rows
        rows = service.list_cases(session, worker, limit=50)
        assert [r.id for r in rows] == [
            r.id
            for r in sorted(rows, key=lambda r: (r.opened_at, r.id), reverse=True)
            if r.id in few
        ]
        assert {r.id for r in rows} == set(few)


def test_a_broad_scope_is_left_to_the_ordered_walk_and_gives_the_same_lists(
    database: Database,
) -> None:
    demo_large.load_large(database, cases=300)
    worker = create_actor(database)
    with database.transaction() as session:
        service.set_scope(
            session,
            service.Importer(name="test admin"),
            worker.id,
            scope="region",
            org_unit="XA-01",
        )
    with database.read() as session:
        # a province holds about a third of the cases: more than a cap of 20
        assert service.visible_ids_if_few(session, worker, cap=20) is None
        many = service.visible_ids_if_few(session, worker, cap=5000)
        assert many is not None and len(many) > 20
        assert set(many) == set(session.scalars(_broad(session, worker)))  # type: ignore[call-overload]
        assert _lists(session, many) == _lists(session, _broad(session, worker))
        # an API token and the command line see all: no list of ids
        token = Principal("token", "t1", "partner", Role.CASE_WORKER, worker.permissions)
        assert service.visible_ids_if_few(session, token) is None


def test_a_worker_with_no_case_gets_empty_lists_at_once(database: Database) -> None:
    demo_large.load_large(database, cases=100)
    worker = create_actor(database)
    with database.read() as session:
        assert service.visible_ids_if_few(session, worker) == []
        assert service.list_cases(session, worker) == []
        lists = _lists(session, [])
        assert lists["alarm_count"] == lists["reminder_count"] == 0
        assert not lists["alarms"] and not lists["overdue"] and not lists["limitation"]
