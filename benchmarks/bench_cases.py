"""Cases benchmark: the case list and the case page at scale, against the same queries without
the cases indexes (the peer), on SQLite and PostgreSQL; import speed per 10,000 rows.

For each engine: a fresh database gets the demo regions and ``--cases`` generated cases with three
people each and their follow-up (``opschub demo load --size large``, the same generator); with
``--data NAME`` the generated databases are kept and a later run with the same NAME and size
measures them again without generating. Then, one thread:

- case list: the first page (50 newest) and the page of one status, for a case worker whose
  scope is one province (the record-level filter of every list), ``--queries`` times each;
- case page: what ``/cases/{id}`` asks of the service for random cases:
  :func:`opschub.cases.service.get_case` (people, forms, reports, evidence, links, region path)
  and :func:`~opschub.cases.service.duplicate_hints_for_case`; and the number of SQL statements
  of one page; the EXPLAIN of both list queries (which index each uses);
- the same queries after dropping the indexes of cases, people, stored waits, proceedings and the
  informed log: the peer, i.e. what the queries cost without the indexes this capability
  declares (``--peer-queries`` times; they are put back afterwards);
- the same as whole HTML pages (``/cases``, ``/cases/{id}``, ``/cases/dashboard``) through the
  application in this process (session, access, audit of the read, templates; no network);
- the dashboard's stage alarms and informing reminders (first page of 50 and the count up to
  1,000), as the dashboard asks for them;
- a case worker with the default scope (own cases, 40 assigned): the case list, alarms and
  reminders, against the ordered walk that tests every case (the narrow path turned off);
- import: ``opschub cases import`` logic (validation, encryption of names, bulk inserts) of a CSV
  of 10,000 person rows, seconds per 10,000 rows.

    .venv/bin/python benchmarks/bench_cases.py --cases 1000000
    .venv/bin/python benchmarks/bench_cases.py --cases 100000 --engines sqlite   # a quick run

Prints p50/p95 in milliseconds and the peer/opschub ratio of p95, with the command and the load.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.schema import CreateIndex, DropIndex

PG_ADMIN = os.environ.get(
    "OPSCHUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def _time(fn: Callable[[], Any], repeat: int) -> list[float]:
    fn()  # warm the caches once
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def _setup(engine_name: str, folder: Path) -> tuple[Any, Callable[[], None]]:
    from opschub.db import Database

    if engine_name == "sqlite":
        database = Database(f"sqlite:///{folder / 'bench.sqlite3'}")
        return database, database.dispose
    from sqlalchemy.engine import make_url

    name = f"opschub_bench_{os.getpid()}"
    admin = Database(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database = Database(make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False))

    def drop() -> None:
        database.dispose()
        with admin.engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return database, drop


def _import_csv(rows: int) -> str:
    lines = [
        "case_key,title,org_unit,setting,forms,opened_at,role,real_name,sex,estimated_age,residence"
    ]
    rng = random.Random(7)
    for i in range(rows):
        key = f"K{i // 3}"
        role = ("victim", "suspect", "guardian")[i % 3]
        first = i % 3 == 0
        lines.append(
            ",".join(
                [
                    key,
                    "Imported case" if first else "",
                    f"XA-0{rng.randint(1, 3)}-0{rng.randint(1, 3)}" if first else "",
                    "online" if first else "",
                    "grooming" if first else "",
                    "2025-01-01T00:00:00+00:00" if first else "",
                    role,
                    f"Example Person {i}",
                    "female",
                    str(rng.randint(5, 17) if role == "victim" else rng.randint(19, 60)),
                    "XA-01-01",
                ]
            )
        )
    return "\n".join(lines) + "\n"


def _plans(database: Any, engine_name: str, actor: Any, service: Any) -> dict[str, str]:
    """The query plans of the two list queries (EXPLAIN on both engines): which index they use."""
    from sqlalchemy import event

    plans = {}
    captured: list[tuple[str, Any]] = []

    def grab(_c: Any, _cur: Any, statement: str, parameters: Any, *_a: Any) -> None:
        if "FROM cases" in statement and "ORDER BY" in statement:
            captured.append((statement, parameters))

    with database.read() as session:
        for label, filters in (
            ("list", None),
            ("list_status", service.CaseFilter(status="on_hold")),
        ):
            event.listen(database.engine, "before_cursor_execute", grab)
            try:
                service.list_cases(session, actor, filters)
            finally:
                event.remove(database.engine, "before_cursor_execute", grab)
            statement, parameters = captured[-1]
            prefix = "EXPLAIN QUERY PLAN " if engine_name == "sqlite" else "EXPLAIN "
            conn = session.connection()
            rows = conn.exec_driver_sql(prefix + statement, parameters).all()
            lines = [str(r[-1]) if engine_name == "sqlite" else str(r[0]) for r in rows]
            plans[label] = "\n      ".join(lines)
    return plans


def _statements(database: Any, actor: Any, service: Any, case_id: str) -> int:
    """SQL statements of one case page (get_case and the duplicate hints), in a fresh session."""
    from sqlalchemy import event

    count = 0

    def add(*_args: Any) -> None:
        nonlocal count
        count += 1

    with database.read() as session:
        event.listen(database.engine, "before_cursor_execute", add)
        try:
            view = service.get_case(session, actor, case_id)
            service.duplicate_hints_for_case(session, actor, view, limit=5)
        finally:
            event.remove(database.engine, "before_cursor_execute", add)
    return count


def _stored(engine_name: str, data: str | None, folder: Path) -> tuple[Any, Callable[[], None]]:
    """The benchmark database: a fresh one, or with ``--data NAME`` one kept between runs (the
    SQLite file ``benchmarks/.data/NAME.sqlite3``, the PostgreSQL database
    ``opschub_bench_NAME``), so that a 1M-case database is generated once and measured again."""
    if data is None:
        return _setup(engine_name, folder)
    from sqlalchemy.engine import make_url

    from opschub.db import Database

    if engine_name == "sqlite":
        path = Path(__file__).parent / ".data" / f"{data}.sqlite3"
        path.parent.mkdir(exist_ok=True)
        database = Database(f"sqlite:///{path}")
        return database, database.dispose
    name = f"opschub_bench_{data}"
    admin = Database(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.engine.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if exists.first() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    database = Database(make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False))
    return database, database.dispose


def _rows_besides_cases(database: Any) -> int:
    """The generated rows other than the cases themselves (people, forms, follow-up)."""
    with database.read() as session:
        return sum(
            int(session.scalar(text(f"SELECT count(*) FROM {table.name}")) or 0)
            for table in database_tables()
            if table.name != "cases"
        )


def _generated(database: Any, cases: int, data: str | None) -> tuple[int, float | None]:
    """Generate the cases unless a kept database already holds them; returns the other rows and
    the seconds the generation took (None: reused, generated by an earlier run)."""
    from opschub.cases import demo_large

    database.create_all()
    if data is not None:
        with database.read() as session:
            held = session.scalar(text("SELECT count(*) FROM cases")) or 0
        if held == cases:
            # a database kept from before a new index: build what the models declare now
            with database.engine.begin() as conn:
                for table in database_tables():
                    for index in table.indexes:
                        conn.execute(CreateIndex(index, if_not_exists=True))
            return _rows_besides_cases(database), None
        if held:
            raise SystemExit(f"--data {data}: holds {held:,} cases, not {cases:,}; drop it first")
    summary = demo_large.load_large(database, cases=cases)
    return _rows_besides_cases(database), summary.seconds


def database_tables() -> list[Any]:
    """The tables the generator fills."""
    from opschub.cases.demo_large import GENERATED_MODELS

    return [model.__table__ for model in GENERATED_MODELS]


def _bench_user(database: Any, engine_name: str) -> Any:
    """A case worker whose scope is one province (a third of the cases)."""
    from opschub.accounts import service as accounts
    from opschub.accounts.models import User
    from opschub.accounts.permissions import Role, permissions_of
    from opschub.accounts.principal import Principal
    from opschub.cases.models import CaseScope

    with database.transaction() as session:
        user = session.query(User).filter_by(username="bench").one_or_none()
        if user is None:
            user, _ = accounts.create_user(
                session, username="bench", role=Role.CASE_WORKER, password="Quiet-Harbour-4821-lamp"
            )
            province = session.scalar(text("SELECT id FROM org_units WHERE code = 'XA-01'"))
            session.add(CaseScope(user_id=user.id, scope="region", org_unit_id=province))
        user_id = user.id
    if engine_name == "postgresql":
        with database.engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    return Principal("user", user_id, "bench", Role.CASE_WORKER, permissions_of(Role.CASE_WORKER))


def run(
    engine_name: str, cases: int, queries: int, *, peer_queries: int, data: str | None
) -> dict[str, Any]:
    from datetime import date

    from opschub.cases import (
        importing,
        service,
    )
    from opschub.config import get_settings

    folder = Path(tempfile.mkdtemp(prefix="bench-cases-"))
    os.environ.setdefault("OPSCHUB_DATA_DIR", str(folder / "var"))
    os.environ.setdefault("OPSCHUB_SECRET_KEY", "bench-secret-key-0123456789abcdef0123456789abcdef")
    database, cleanup = _stored(engine_name, data, folder)
    result: dict[str, Any] = {"engine": engine_name, "cases": cases}
    try:
        result["rows"], result["load_s"] = _generated(database, cases, data)
        actor = _bench_user(database, engine_name)
        with database.read() as session:
            ids = [
                r[0]
                for r in session.execute(
                    text(
                        "SELECT c.id FROM cases c JOIN org_units u ON u.id = c.org_unit_id"
                        " WHERE u.code LIKE 'XA-01%' AND c.restricted = :no LIMIT 2000"
                    ),
                    {"no": False},
                )
            ]
        rng = random.Random(1)
        sample = [rng.choice(ids) for _ in range(queries)]
        today = date.today()
        targets = get_settings().cases_stage_targets

        def measure(label: str, repeat: int) -> None:
            with database.read() as session:
                first = _time(lambda: service.list_cases(session, actor), repeat)
                by_status = _time(
                    lambda: service.list_cases(
                        session, actor, service.CaseFilter(status="on_hold")
                    ),
                    repeat,
                )
                it = iter(sample * 2)

                def case_page() -> None:
                    # what /cases/{id} asks of the service: the case and its people's hints
                    view = service.get_case(session, actor, next(it))
                    service.duplicate_hints_for_case(session, actor, view, limit=5)

                lists = _dashboard(session, actor, today, targets)

                page = _time(case_page, repeat - 1)
                result[label] = {
                    "list": _percentiles(first),
                    "list_status": _percentiles(by_status),
                    "case_page": _percentiles(page),
                    **{name: _percentiles(_time(fn, repeat)) for name, fn in lists.items()},
                }

        measure("opschub", queries)
        result["pages"] = _pages(database, actor, sample, queries)
        result["narrow"] = _narrow(database, today, targets, queries, peer_queries)
        result["plans"] = _plans(database, engine_name, actor, service)
        result["statements"] = _statements(database, actor, service, sample[0])
        # import: 10,000 rows (validation, encryption, bulk insert), rolled back afterwards so
        # that a kept database stays as generated
        csv_text = _import_csv(10_000)
        records, errors = importing.parse_csv(csv_text)
        with database.sessions() as session:
            session.begin()
            started = time.perf_counter()
            importing.import_records(session, service.Importer(), records, errors)
            session.flush()
            result["import_s_per_10k"] = time.perf_counter() - started
            session.rollback()
        # the peer: the same queries without this capability's indexes (put back afterwards)
        dropped = _drop_indexes(database, engine_name)
        try:
            measure("peer", peer_queries)
        finally:
            _restore_indexes(database, dropped)
    finally:
        cleanup()
    return result


def _dashboard(session: Any, actor: Any, today: Any, targets: Any) -> dict[str, Callable[[], Any]]:
    """The dashboard's four lists as the page asks for them (the visible cases once a call):
    the first page of stage alarms and informing reminders with their counts up to 1,000, the
    limitation deadlines within two years and the overdue referrals."""
    from opschub.cases import followup_port, informing, proceedings, referrals

    def alarms() -> None:
        visible = followup_port.visible_case_ids(session, actor)
        proceedings.stage_alarms(session, today=today, targets=targets, case_ids=visible, limit=50)
        proceedings.count_stage_alarms(
            session, today=today, targets=targets, case_ids=visible, cap=1000
        )

    def reminders() -> None:
        visible = followup_port.visible_case_ids(session, actor)
        informing.reminders(session, today=today, within_days=7, case_ids=visible, limit=50)
        informing.count_reminders(session, case_ids=visible, cap=1000)

    def deadlines() -> None:
        visible = followup_port.visible_case_ids(session, actor)
        proceedings.limitation_warnings(session, today=today, warn_days=730, case_ids=visible)

    def overdue() -> None:
        visible = followup_port.visible_case_ids(session, actor)
        referrals.overdue(session, today=today, case_ids=visible)

    return {"alarms": alarms, "reminders": reminders, "deadlines": deadlines, "overdue": overdue}


def _narrow(
    database: Any, today: Any, targets: Any, repeat: int, peer_repeat: int
) -> dict[str, Any]:
    """A case worker with the default scope (their own cases) and 40 open cases assigned: the
    case list and the dashboard's alarms and reminders, found through the scope's indexes
    (service.visible_ids_if_few), against the ordered walk that tests every case (the peer: the
    same calls with the narrow path turned off)."""
    from sqlalchemy import update

    from opschub.accounts import service as accounts
    from opschub.accounts.models import User
    from opschub.accounts.permissions import Role, permissions_of
    from opschub.accounts.principal import Principal
    from opschub.cases import service
    from opschub.cases.models import Case

    with database.transaction() as session:
        user = session.query(User).filter_by(username="bench-few").one_or_none()
        if user is None:
            user, _ = accounts.create_user(
                session,
                username="bench-few",
                role=Role.CASE_WORKER,
                password="Quiet-Harbour-4821-lamp",
            )
            ids = list(
                session.scalars(
                    text(
                        "SELECT id FROM cases WHERE status <> 'closed' AND restricted = :no"
                        " ORDER BY id LIMIT 40 OFFSET 500"
                    ),
                    {"no": False},
                )
            )
            session.execute(update(Case).where(Case.id.in_(ids)).values(assigned_to_id=user.id))
        user_id = user.id
    actor = Principal(
        "user", user_id, "bench-few", Role.CASE_WORKER, permissions_of(Role.CASE_WORKER)
    )
    timings: dict[str, Any] = {}
    for label, count in (("opschub", repeat), ("peer", peer_repeat)):
        saved = service.FEW_CASES
        service.FEW_CASES = saved if label == "opschub" else -1  # -1: always the walk
        try:
            with database.read() as session:
                lists = _dashboard(session, actor, today, targets)
                timings[label] = {
                    "list": _percentiles(_time(lambda: service.list_cases(session, actor), count)),
                    "alarms": _percentiles(_time(lists["alarms"], count)),
                    "reminders": _percentiles(_time(lists["reminders"], count)),
                }
        finally:
            service.FEW_CASES = saved
    return timings


def _pages(database: Any, actor: Any, sample: list[str], repeat: int) -> dict[str, Any]:
    """The same as whole pages: the HTML of /cases, /cases/{id} and /cases/dashboard, through
    the application (routing, session check, access, audit of the read, templates) in this
    process, without the network."""
    from fastapi.testclient import TestClient

    from opschub.accounts import service as accounts
    from opschub.accounts.models import User
    from opschub.web.app import create_app
    from opschub.web.auth import SESSION_COOKIE

    app = create_app(database=database)
    client = TestClient(app, base_url="http://testserver")
    with database.transaction() as session:
        user = session.get(User, actor.id)
        raw, _row = accounts.start_session(session, user, totp_verified=True)
    client.cookies.set(SESSION_COOKIE, raw)
    it = iter(sample * 2)

    def get(path: str) -> None:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)

    return {
        "list": _percentiles(_time(lambda: get("/cases"), repeat)),
        "case_page": _percentiles(_time(lambda: get(f"/cases/{next(it)}"), repeat - 1)),
        "dashboard": _percentiles(_time(lambda: get("/cases/dashboard"), repeat)),
    }


def _drop_indexes(database: Any, engine_name: str) -> list[Any]:
    from sqlalchemy import Table

    from opschub.cases.followup_models import (
        CaseInformed,
        CaseOffence,
        CaseProceeding,
        CaseReferral,
        CaseStageWait,
    )
    from opschub.cases.models import Case, CasePerson

    tables: list[Table] = [
        m.__table__
        for m in (
            Case,
            CasePerson,
            CaseStageWait,
            CaseProceeding,
            CaseInformed,
            CaseOffence,
            CaseReferral,
        )
    ]
    dropped = [i for t in tables for i in t.indexes]
    with database.engine.begin() as conn:
        for index in dropped:  # IF EXISTS: SQLite's reflection misses expression indexes
            conn.execute(DropIndex(index, if_exists=True))
        if engine_name == "postgresql":
            conn.execute(text("ANALYZE"))
    return dropped


def _restore_indexes(database: Any, dropped: list[Any]) -> None:
    with database.engine.begin() as conn:
        for index in dropped:
            conn.execute(CreateIndex(index, if_not_exists=True))
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--peer-queries", type=int, default=None, help="repetitions without indexes"
    )
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--data", default=None, help="keep the generated databases under NAME")
    args = parser.parse_args()
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"load average before: {os.getloadavg()[0]:.2f} (cpus: {os.cpu_count()})")
    for engine_name in args.engines.split(","):
        r = run(
            engine_name,
            args.cases,
            args.queries,
            peer_queries=args.peer_queries or args.queries,
            data=args.data,
        )
        made = (
            f"generated in {r['load_s']:.0f} s ({(r['cases'] + r['rows']) / r['load_s']:,.0f} "
            "rows/s)"
            if r["load_s"]
            else "generated by an earlier run (--data)"
        )
        print(f"\n[{engine_name}] {r['cases']:,} cases, {r['rows']:,} more rows, {made}")
        for what, title in (
            ("list", "case list, first page (scope: a province)"),
            ("list_status", "case list, one status"),
            ("case_page", "case page"),
            ("alarms", "dashboard: stage alarms, page + count"),
            ("reminders", "dashboard: informing reminders, page + count"),
            ("deadlines", "dashboard: limitation deadlines (2 years)"),
            ("overdue", "dashboard: overdue referrals"),
        ):
            ours, peer = r["opschub"][what], r["peer"][what]
            print(
                f"  {title:44s} p50 {ours[0]:8.1f} ms  p95 {ours[1]:8.1f} ms | "
                f"without indexes p95 {peer[1]:9.1f} ms | "
                f"ratio {peer[1] / max(ours[1], 1e-6):7.1f}x"
            )
        for what, title in (
            ("list", "page /cases"),
            ("case_page", "page /cases/{id}"),
            ("dashboard", "page /cases/dashboard (all four lists)"),
        ):
            ours = r["pages"][what]
            print(f"  {title:44s} p50 {ours[0]:8.1f} ms  p95 {ours[1]:8.1f} ms")
        for what, title in (
            ("list", "own scope, 40 cases: case list"),
            ("alarms", "own scope, 40 cases: stage alarms"),
            ("reminders", "own scope, 40 cases: informing reminders"),
        ):
            ours, peer = r["narrow"]["opschub"][what], r["narrow"]["peer"][what]
            print(
                f"  {title:44s} p50 {ours[0]:8.1f} ms  p95 {ours[1]:8.1f} ms | "
                f"ordered walk p95 {peer[1]:12.1f} ms | "
                f"ratio {peer[1] / max(ours[1], 1e-6):7.1f}x"
            )
        print(f"  import, 10,000 rows (3,334 cases): {r['import_s_per_10k']:.2f} s")
        print(f"  SQL statements of one case page: {r['statements']}")
        for what, plan in r["plans"].items():
            print(f"  plan of {what}:\n      {plan}")
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
