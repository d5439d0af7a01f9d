"""Case dashboard benchmark: the four follow-up lists of the case dashboard (stage alarms,
limitation deadlines, informing reminders, overdue referrals) for a case worker whose scope is one
province, as the dashboard asks for them (the first page of 50 and the count, capped at 1,000),
against the same queries without the follow-up indexes (the peer), on SQLite and PostgreSQL; and
the alarms and reminders worked out in Python from every step as before the state was stored
(``before``, only up to ``--before-max`` cases: it takes seconds).

A fresh database gets ``--cases`` generated cases (``opschub demo load --size large``,
:mod:`opschub.cases.demo_large`: three people each, for every adult suspect a random prefix of
the proceedings steps on increasing dates, an informed-log entry for a third of the cases, one
offence per case with its limitation deadline, a referral per case, and the stored follow-up
state); a full ``stages_state.refresh`` is timed too (what recomputing every case costs).
One thread; the dashboard's lists are timed ``--queries`` times
each.

    .venv/bin/python benchmarks/bench_cases_followup.py --cases 100000
    .venv/bin/python benchmarks/bench_cases_followup.py --cases 20000 --engines sqlite

Prints p50/p95 in milliseconds and the peer/opschub ratio of p95, with the command and the load.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from bench_cases import _percentiles, _setup, _time

INDEXES = (
    "ix_case_stage_waits_stage",
    "ix_case_stage_waits_case",
    "ix_case_proceedings_untold",
    "ix_case_proceedings_case",
    "ix_case_proceedings_on",
    "ix_case_offences_case",
    "ix_case_offences_falls",
    "ix_case_informed_log_case",
    "ix_case_referrals_case",
    "ix_case_referrals_due",
)


PAGE = 50
CAP = 1000


def _refresh(database: Any) -> tuple[int, int, float]:
    """Steps and stored waits of the generated database, and what a full recompute of the stored
    state costs (``stages_state.refresh`` of every case: what a change of every case would)."""
    from sqlalchemy import func

    from opschub.cases import stages_state
    from opschub.cases.followup_models import CaseProceeding

    with database.read() as session:
        steps = session.scalar(select(func.count()).select_from(CaseProceeding)) or 0
    started = time.perf_counter()
    with database.transaction() as session:
        waits = stages_state.refresh(session)
    return steps, waits, time.perf_counter() - started


def _before_alarms(session: Any, *, today: date, targets: Any, case_ids: Any) -> list[Any]:
    """The stage alarms as they were worked out before the state was stored (every step of
    every visible case read and run through stages.alarms)."""
    from collections import defaultdict

    from opschub.cases import followup_port, stages
    from opschub.cases.followup_common import in_cases
    from opschub.cases.followup_models import CaseProceeding

    open_cases = followup_port.open_cases_with_suspects(session, case_ids)
    by_suspect: dict[tuple[str, str], list[Any]] = defaultdict(list)
    query = select(
        CaseProceeding.case_id,
        CaseProceeding.suspect_id,
        CaseProceeding.kind,
        CaseProceeding.occurred_on,
    ).where(in_cases(CaseProceeding.case_id, case_ids))
    for row in session.execute(query):
        by_suspect[(row.case_id, row.suspect_id)].append(stages.Step(row.kind, row.occurred_on))
    found = [
        (case.id, wait)
        for case in open_cases
        for suspect_id in case.suspect_ids
        for wait in stages.alarms(
            by_suspect.get((case.id, suspect_id), []),
            opened_on=case.opened_on,
            today=today,
            targets=targets,
        )
    ]
    return sorted(found, key=lambda a: (a[1].target - a[1].days, a[0]))


def _before_reminders(session: Any, *, today: date, case_ids: Any) -> list[Any]:
    """The informing reminders as they were worked out before the told mark was stored."""
    from collections import defaultdict

    from opschub.cases import informing_rules, stages
    from opschub.cases.followup_common import in_cases
    from opschub.cases.followup_models import CaseInformed, CaseProceeding

    happened: dict[str, list[Any]] = defaultdict(list)
    for row in session.execute(
        select(
            CaseProceeding.id,
            CaseProceeding.case_id,
            CaseProceeding.kind,
            CaseProceeding.occurred_on,
        ).where(
            CaseProceeding.kind.in_(stages.MUST_TELL), in_cases(CaseProceeding.case_id, case_ids)
        )
    ):
        happened[row.case_id].append(informing_rules.Happened(row.id, row.kind, row.occurred_on))
    told: dict[str, list[Any]] = defaultdict(list)
    for entry in session.execute(
        select(CaseInformed.case_id, CaseInformed.told_on, CaseInformed.steps).where(
            in_cases(CaseInformed.case_id, case_ids)
        )
    ):
        told[entry.case_id].append(informing_rules.Told(entry.told_on, tuple(entry.steps or ())))
    found = [
        r
        for case_id, steps in happened.items()
        for r in informing_rules.reminders(steps, told.get(case_id, []), today=today, within_days=7)
    ]
    return sorted(found, key=lambda r: r.on)


def run(engine_name: str, cases: int, queries: int, before_max: int) -> dict[str, Any]:
    from opschub.accounts.permissions import Role, permissions_of
    from opschub.accounts.principal import Principal
    from opschub.cases import demo_large, followup_port, informing, proceedings, referrals
    from opschub.cases.models import CaseScope
    from opschub.config import get_settings

    folder = Path(tempfile.mkdtemp(prefix="bench-followup-"))
    os.environ.setdefault("OPSCHUB_DATA_DIR", str(folder / "var"))
    os.environ.setdefault("OPSCHUB_SECRET_KEY", "bench-secret-key-0123456789abcdef0123456789abcdef")
    database, cleanup = _setup(engine_name, folder)
    result: dict[str, Any] = {"engine": engine_name, "cases": cases}
    settings = get_settings()
    try:
        database.create_all()
        demo_large.load_large(database, cases=cases)
        result["steps"], result["waits"], result["refresh"] = _refresh(database)
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
        today = date.today()

        targets = settings.cases_stage_targets

        def measure(label: str) -> None:
            with database.read() as session:
                visible = followup_port.visible_case_ids(session, actor)
                result["alarms_listed"] = len(
                    proceedings.stage_alarms(
                        session, today=today, targets=targets, case_ids=visible, limit=PAGE
                    )
                )
                result["alarms_total"] = proceedings.count_stage_alarms(
                    session, today=today, targets=targets, case_ids=visible, cap=CAP
                )
                result["reminders_total"] = informing.count_reminders(
                    session, case_ids=visible, cap=CAP
                )
                timings = {
                    "alarms": _time(
                        lambda: (
                            proceedings.stage_alarms(
                                session, today=today, targets=targets, case_ids=visible, limit=PAGE
                            ),
                            proceedings.count_stage_alarms(
                                session, today=today, targets=targets, case_ids=visible, cap=CAP
                            ),
                        ),
                        queries,
                    ),
                    "limitation": _time(
                        lambda: proceedings.limitation_warnings(
                            session, today=today, warn_days=730, case_ids=visible
                        ),
                        queries,
                    ),
                    "reminders": _time(
                        lambda: (
                            informing.reminders(
                                session,
                                today=today,
                                within_days=7,
                                case_ids=visible,
                                limit=PAGE,
                            ),
                            informing.count_reminders(session, case_ids=visible, cap=CAP),
                        ),
                        queries,
                    ),
                    "overdue": _time(
                        lambda: referrals.overdue(session, today=today, case_ids=visible),
                        queries,
                    ),
                }
                if label == "opschub" and cases <= before_max:
                    timings["alarms_before"] = _time(
                        lambda: _before_alarms(
                            session, today=today, targets=targets, case_ids=visible
                        ),
                        max(3, queries // 4),
                    )
                    timings["reminders_before"] = _time(
                        lambda: _before_reminders(session, today=today, case_ids=visible),
                        max(3, queries // 4),
                    )
            result[label] = {k: _percentiles(v) for k, v in timings.items()}

        measure("opschub")
        with database.engine.begin() as conn:
            for name in INDEXES:
                conn.execute(text(f"DROP INDEX {name}"))
            if engine_name == "postgresql":
                conn.execute(text("ANALYZE"))
        measure("peer")
    finally:
        cleanup()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--before-max", type=int, default=50_000)
    args = parser.parse_args()
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"load average before: {os.getloadavg()[0]:.2f} (cpus: {os.cpu_count()})")
    for engine_name in args.engines.split(","):
        started = time.perf_counter()
        r = run(engine_name, args.cases, args.queries, args.before_max)
        print(
            f"\n[{engine_name}] {r['cases']:,} cases, {r['steps']:,} proceedings steps, "
            f"{r['waits']:,} stored waits (stages_state.refresh {r['refresh']:.1f} s; "
            f"set-up {time.perf_counter() - started:.0f} s)"
        )
        print(
            f"  in scope: {r['alarms_total']:,} alarms, {r['reminders_total']:,} reminders "
            f"(counted up to {CAP + 1:,}); first page {r['alarms_listed']} alarms"
        )
        for what, title in (
            ("alarms", "stage alarms, page + count"),
            ("limitation", "limitation deadlines within 2 years"),
            ("reminders", "informing reminders, page + count"),
            ("overdue", "overdue referrals"),
        ):
            ours, peer = r["opschub"][what], r["peer"][what]
            print(
                f"  {title:38s} p50 {ours[0]:8.1f} ms  p95 {ours[1]:8.1f} ms | "
                f"without indexes p95 {peer[1]:9.1f} ms | "
                f"ratio {peer[1] / max(ours[1], 1e-6):6.1f}x"
            )
        for what, title in (
            ("alarms_before", "stage alarms, before (from every step)"),
            ("reminders_before", "informing reminders, before"),
        ):
            if what in r["opschub"]:
                before = r["opschub"][what]
                print(f"  {title:38s} p50 {before[0]:8.1f} ms  p95 {before[1]:8.1f} ms")
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
