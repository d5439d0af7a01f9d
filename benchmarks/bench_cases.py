"""Cases benchmark: the case list and the case page at scale, against the same queries without
the cases indexes (the peer), on SQLite and PostgreSQL; import speed per 10,000 rows.

For each engine: a fresh database gets the demo regions and ``--cases`` generated cases with three
people each (``opschub demo load --size large`` uses the same generator). Then, one thread:

- case list: the first page (50 newest) and the page of one status, for a case worker whose
  scope is one province (the record-level filter of every list), ``--queries`` times each;
- case page: what ``/cases/{id}`` asks of the service for random cases:
  :func:`opschub.cases.service.get_case` (people, forms, reports, evidence, links, region path)
  and :func:`~opschub.cases.service.duplicate_hints_for_case`; and the number of SQL statements
  of one page; the EXPLAIN of both list queries (which index each uses);
- the same queries after dropping the cases indexes (``ix_cases_*``, ``ix_case_people_*``): the
  peer, i.e. what the queries cost without the indexes this capability declares;
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

PG_ADMIN = os.environ.get(
    "OPSCHUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
INDEXES = {
    "cases": (
        "ix_cases_opened",
        "ix_cases_unit_opened",
        "ix_cases_assignee_opened",
        "ix_cases_team_opened",
        "ix_cases_status_opened",
    ),
    "case_people": (
        "ix_case_people_case_role",
        "ix_case_people_alias",
        "ix_case_people_alias_lower",
        "ix_case_people_birth_region",
    ),
}


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


def run(engine_name: str, cases: int, queries: int) -> dict[str, Any]:
    from opschub.accounts.permissions import Role, permissions_of
    from opschub.accounts.principal import Principal
    from opschub.cases import demo, importing, service
    from opschub.cases.models import Case, CaseScope
    from opschub.orgunits.models import OrgUnit

    folder = Path(tempfile.mkdtemp(prefix="bench-cases-"))
    os.environ.setdefault("OPSCHUB_DATA_DIR", str(folder / "var"))
    os.environ.setdefault("OPSCHUB_SECRET_KEY", "bench-secret-key-0123456789abcdef0123456789abcdef")
    database, cleanup = _setup(engine_name, folder)
    result: dict[str, Any] = {"engine": engine_name, "cases": cases}
    try:
        database.create_all()
        started = time.perf_counter()
        summary = demo.load_large(database, cases=cases)
        result["load_s"] = time.perf_counter() - started
        result["people"] = summary.people
        with database.transaction() as session:
            from opschub.accounts import service as accounts

            user, _ = accounts.create_user(
                session, username="bench", role=Role.CASE_WORKER, password="Quiet-Harbour-4821-lamp"
            )
            province = session.scalar(text("SELECT id FROM org_units WHERE code = 'XA-01'"))
            session.add(CaseScope(user_id=user.id, scope="region", org_unit_id=province))
        if engine_name == "postgresql":
            with database.engine.connect() as conn:
                conn.execute(text("ANALYZE"))
                conn.commit()
        actor = Principal(
            "user", user.id, "bench", Role.CASE_WORKER, permissions_of(Role.CASE_WORKER)
        )
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

        def measure(label: str) -> None:
            with database.read() as session:
                first = _time(lambda: service.list_cases(session, actor), queries)
                by_status = _time(
                    lambda: service.list_cases(
                        session, actor, service.CaseFilter(status="on_hold")
                    ),
                    queries,
                )
                it = iter(sample * 2)

                def case_page() -> None:
                    # what /cases/{id} asks of the service: the case and its people's hints
                    view = service.get_case(session, actor, next(it))
                    service.duplicate_hints_for_case(session, actor, view, limit=5)

                page = _time(case_page, queries - 1)
            result[label] = {
                "list": _percentiles(first),
                "list_status": _percentiles(by_status),
                "case_page": _percentiles(page),
            }

        measure("opschub")
        result["plans"] = _plans(database, engine_name, actor, service)
        result["statements"] = _statements(database, actor, service, sample[0])
        # import: 10,000 rows (validation, encryption, bulk insert), in its own transaction
        csv_text = _import_csv(10_000)
        records, errors = importing.parse_csv(csv_text)
        started = time.perf_counter()
        with database.transaction() as session:
            importing.import_records(session, service.Importer(), records, errors)
        result["import_s_per_10k"] = time.perf_counter() - started
        # the peer: the same queries without the cases indexes
        with database.engine.begin() as conn:
            for names in INDEXES.values():
                for name in names:
                    conn.execute(text(f"DROP INDEX {name}"))
            if engine_name == "postgresql":
                conn.execute(text("ANALYZE"))
        measure("peer")
        _ = (Case, OrgUnit)
    finally:
        cleanup()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"load average before: {os.getloadavg()[0]:.2f} (cpus: {os.cpu_count()})")
    for engine_name in args.engines.split(","):
        r = run(engine_name, args.cases, args.queries)
        print(
            f"\n[{engine_name}] {r['cases']:,} cases, {r['people']:,} people generated in "
            f"{r['load_s']:.0f} s ({(r['cases'] + r['people']) / r['load_s']:,.0f} rows/s)"
        )
        for what, title in (
            ("list", "case list, first page (scope: a province)"),
            ("list_status", "case list, one status"),
            ("case_page", "case page"),
        ):
            ours, peer = r["opschub"][what], r["peer"][what]
            print(
                f"  {title:44s} p50 {ours[0]:8.1f} ms  p95 {ours[1]:8.1f} ms | "
                f"without indexes p95 {peer[1]:9.1f} ms | "
                f"ratio {peer[1] / max(ours[1], 1e-6):7.1f}x"
            )
        print(f"  import, 10,000 rows (3,334 cases): {r['import_s_per_10k']:.2f} s")
        print(f"  SQL statements of one case page: {r['statements']}")
        for what, plan in r["plans"].items():
            print(f"  plan of {what}:\n      {plan}")
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
