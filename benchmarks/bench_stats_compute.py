"""Indicator computation benchmark: opschub.stats' engine over N case-level rows on SQLite and
PostgreSQL, against pandas groupby (the peer), with the ground truth checked.

N synthetic victim rows (date, district or province of the demo hierarchy, sex, age band, form,
setting; generated with numpy) go into one table per engine (SQLite: executemany in chunks of
250,000 rows in one transaction, journal off; PostgreSQL: COPY in chunks of 1M rows; the date
index built after the rows on both). Then "victims by region, sex and age band for a year"
(every total and sub-total, the region hierarchy rolled up) is computed by:

- opschub on SQLite and on PostgreSQL (one GROUP BY in the database, margins in Python);
- pandas: the same rows as a DataFrame already in memory, groupby on the finest categories and
  the same margins built by the same code (so only the grouping differs); and pandas reading the
  rows from PostgreSQL first (what it costs to get there).

The grand total and every cell must agree across engines. One run each; ratios are against
pandas in memory. The machine's load average is printed with the command.

    .venv/bin/python benchmarks/bench_stats_compute.py --rows 10m
    .venv/bin/python benchmarks/bench_stats_compute.py --rows 100k      # a quick run

Loading shows its progress (rows so far, rows a second, time left) on stderr; each engine's
loading rate is printed. Above 2M rows "pandas reading PostgreSQL" is left out unless
``--pandas-read`` (it holds every row as Python objects).
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

os.environ.setdefault("OPSCHUB_SECRET_KEY", "bench-secret-key-0123456789abcdef0123456789abcdef")
os.environ.setdefault("OPSCHUB_DATA_DIR", tempfile.mkdtemp(prefix="opschub-bench-stats-"))

from sqlalchemy import Column, Date, Integer, MetaData, String, Table, select, text

from opschub.db import Database
from opschub.stats import catalogue, engine, periods, sources

POSTGRES_ADMIN_URL = os.environ.get(
    "OPSCHUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
METADATA = MetaData()
FACTS = Table(
    "bench_victim_facts",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("opened_on", Date, nullable=False),  # indexed after loading (INDEX_DDL)
    Column("org_unit_code", String(32)),
    Column("sex", String(16)),
    Column("age_band", String(16)),
    Column("form", String(32)),
    Column("setting", String(16)),
)
HIERARCHY: dict[str, str | None] = {"XA": None}
for p in (1, 2, 3):
    HIERARCHY[f"XA-0{p}"] = "XA"
    for d in (1, 2, 3):
        HIERARCHY[f"XA-0{p}-0{d}"] = f"XA-0{p}"
INDEX_DDL = "CREATE INDEX ix_bench_victim_facts_opened_on ON bench_victim_facts (opened_on)"
REGIONS = [c for c in HIERARCHY if c.count("-") == 2] + ["XA-02"]
SEXES = ["female", "male", "other", "unknown"]
AGES = ["0-4", "5-9", "10-14", "15-17", "unknown"]
FORMS = ["csam", "grooming", "prostitution", "sexual_extortion", "live_streaming"]
SETTINGS = ["online", "offline", "both"]
BY = ["region", "sex", "age_band"]


def victim_facts() -> Any:
    return select(
        FACTS.c.opened_on,
        FACTS.c.org_unit_code,
        FACTS.c.sex,
        FACTS.c.age_band,
        FACTS.c.form,
        FACTS.c.setting,
    )


def parse_rows(value: str) -> int:
    value = value.lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(value[-1:], 1)
    return int(float(value.rstrip("km")) * scale)


def make_frame(n: int, seed: int) -> Any:
    """The rows as a DataFrame: ISO date strings and categoricals, made with numpy (no Python
    object per row, so 10M rows take seconds)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    days = rng.integers(0, 730, n)
    opened = (np.datetime64("2025-01-01") + days.astype("timedelta64[D]")).astype("U10")
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "opened_on": opened,
            "org_unit_code": pd.Categorical.from_codes(rng.integers(0, len(REGIONS), n), REGIONS),
            "sex": pd.Categorical.from_codes(rng.choice(4, n, p=[0.6, 0.35, 0.01, 0.04]), SEXES),
            "age_band": pd.Categorical.from_codes(rng.integers(0, 5, n), AGES),
            "form": pd.Categorical.from_codes(rng.integers(0, 5, n), FORMS),
            "setting": pd.Categorical.from_codes(rng.integers(0, 3, n), SETTINGS),
        }
    )


COLUMNS = ["id", "opened_on", "org_unit_code", "sex", "age_band", "form", "setting"]


class Progress:
    """One line per chunk: rows so far, rows a second, estimated time left (to stderr)."""

    def __init__(self, what: str, total: int) -> None:
        self.what, self.total, self.start = what, total, time.perf_counter()

    def step(self, done: int) -> None:
        elapsed = time.perf_counter() - self.start
        rate = done / elapsed if elapsed else 0.0
        left = (self.total - done) / rate if rate else 0.0
        print(
            f"  {self.what}: {done:>12,} / {self.total:,} rows, {rate:>10,.0f} rows/s, "
            f"about {left:,.0f} s left",
            file=sys.stderr,
            flush=True,
        )

    def rate(self) -> float:
        return self.total / (time.perf_counter() - self.start)


def _chunk_columns(part: Any) -> list[list[Any]]:
    return [part["id"].tolist(), part["opened_on"].tolist()] + [
        np.asarray(part[c].cat.categories, dtype=object)[part[c].cat.codes.to_numpy()].tolist()
        for c in COLUMNS[2:]
    ]


def load_sqlite(database: Database, frame: Any, step: int = 250_000) -> float:
    """executemany in chunks of ``step`` rows in one transaction, journal and fsync off (a
    throwaway file), the date index built after the rows; returns rows a second."""
    METADATA.create_all(database.engine)
    raw = database.engine.raw_connection()
    progress = Progress("SQLite executemany", len(frame))
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA journal_mode=OFF")
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA cache_size=-262144")
        cursor.execute("BEGIN")
        for start in range(0, len(frame), step):
            part = frame.iloc[start : start + step]
            rows = zip(*_chunk_columns(part), strict=True)
            cursor.executemany("INSERT INTO bench_victim_facts VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            progress.step(min(start + step, len(frame)))
        cursor.execute("COMMIT")
        rate = progress.rate()
        t = time.perf_counter()
        cursor.execute(INDEX_DDL)
        cursor.execute("ANALYZE")
        print(f"  SQLite: date index built in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    finally:
        raw.close()
    return rate


def load_postgres(database: Database, frame: Any, step: int = 1_000_000) -> float:
    """COPY in chunks of ``step`` rows (CSV), the date index built after; rows a second."""
    METADATA.create_all(database.engine)
    raw = database.engine.raw_connection()
    progress = Progress("PostgreSQL COPY", len(frame))
    try:
        cursor = raw.cursor()
        for start in range(0, len(frame), step):
            buffer = io.StringIO()
            frame.iloc[start : start + step].to_csv(buffer, index=False, header=False)
            with cursor.copy("COPY bench_victim_facts FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write(buffer.getvalue())
            progress.step(min(start + step, len(frame)))
        raw.commit()
        rate = progress.rate()
        t = time.perf_counter()
        cursor.execute(INDEX_DDL)
        cursor.execute("ANALYZE bench_victim_facts")
        raw.commit()
        print(f"  PostgreSQL: date index built in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    finally:
        raw.close()
    return rate


def opschub_table(database: Database) -> tuple[dict[str, Any], float]:
    cats = catalogue.builtin()
    start = time.perf_counter()
    with database.read() as session:
        table = engine.compute(
            session, cats.get("victims"), BY, periods.parse("2026"), cats.dimensions
        )
    return table, time.perf_counter() - start


def pandas_table(frame: Any) -> tuple[dict[str, Any], float]:
    cats = catalogue.builtin()
    dims = [cats.dimensions[d] for d in BY]
    start = time.perf_counter()
    import pandas as pd

    column = frame["opened_on"]
    if len(column) and not isinstance(column.iloc[0], str):
        column = column.astype(str)  # dates read back from PostgreSQL
    opened = pd.to_datetime(column, format="%Y-%m-%d")
    year = frame[(opened >= pd.Timestamp(date(2026, 1, 1))) & (opened < pd.Timestamp(2027, 1, 1))]
    grouped = year.groupby(["org_unit_code", "sex", "age_band"], observed=True).size()
    rows = {tuple(map(str, k)): int(v) for k, v in grouped.items() if v}
    tree = engine.RegionTree.build(HIERARCHY, {k[0] for k in rows})
    rows = engine._relocate(rows, 0, tree)
    keys, sums = engine.margins(dims, rows, tree)
    elapsed = time.perf_counter() - start
    return {
        "cells": [{"key": dict(zip(BY, k, strict=True)), "value": sums[k]} for k in keys]
    }, elapsed


def cells(table: dict[str, Any]) -> dict[tuple[str, ...], float]:
    return {tuple(c["key"][d] for d in BY): c["value"] for c in table["cells"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", default="10m")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument(
        "--pandas-read",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also time pandas reading every row from PostgreSQL (default: up to 2M rows)",
    )
    args = parser.parse_args()
    n = parse_rows(args.rows)
    print(f"command: {' '.join(sys.argv)}")
    print(
        f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
        f"({os.cpu_count()} cores)"
    )
    sources.SOURCES["cases.victims"] = sources.Source(
        "cases.victims", __name__, "victim_facts", "opened_on"
    )
    sys.modules.setdefault(__name__, sys.modules["__main__"])
    engine.region_parents = lambda session: dict(HIERARCHY)  # type: ignore[assignment]
    t = time.perf_counter()
    frame = make_frame(n, args.seed)
    print(f"{n:,} rows generated in {time.perf_counter() - t:.1f} s", flush=True)

    results: dict[str, tuple[dict[str, Any], float]] = {}
    folder = Path(tempfile.mkdtemp(prefix="opschub-bench-stats-"))
    sqlite = Database(f"sqlite:///{folder / 'bench.sqlite3'}")
    t = time.perf_counter()
    rate = load_sqlite(sqlite, frame)
    print(
        f"SQLite: loaded in {time.perf_counter() - t:.1f} s ({rate:,.0f} rows/s before the index)",
        flush=True,
    )
    results["opschub on SQLite"] = opschub_table(sqlite)
    print(f"opschub on SQLite: {results['opschub on SQLite'][1]:.2f} s", flush=True)
    sqlite.dispose()

    from sqlalchemy.engine import make_url

    name = f"opschub_bench_{secrets.token_hex(4)}"
    admin = Database(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    postgres = Database(
        make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    )
    try:
        t = time.perf_counter()
        rate = load_postgres(postgres, frame)
        print(
            f"PostgreSQL: loaded in {time.perf_counter() - t:.1f} s "
            f"({rate:,.0f} rows/s before the index)",
            flush=True,
        )
        results["opschub on PostgreSQL"] = opschub_table(postgres)
        print(f"opschub on PostgreSQL: {results['opschub on PostgreSQL'][1]:.2f} s", flush=True)
        pandas_read = args.pandas_read if args.pandas_read is not None else n <= 2_000_000
        if pandas_read:
            import pandas as pd

            t = time.perf_counter()
            with postgres.engine.connect() as conn:
                read = pd.read_sql(
                    text("SELECT opened_on, org_unit_code, sex, age_band FROM bench_victim_facts"),
                    conn,
                )
            read_seconds = time.perf_counter() - t
            table, seconds = pandas_table(read)
            results["pandas reading PostgreSQL"] = (table, read_seconds + seconds)
    finally:
        postgres.dispose()
        with admin.engine.connect() as conn:
            conn.execute(
                text(
                    f'DROP DATABASE IF EXISTS "{name}" WITH (FORMAT)'.replace(
                        "WITH (FORMAT)", "WITH (FORCE)"
                    )
                )
            )
        admin.dispose()
    results["pandas in memory (peer)"] = pandas_table(frame)

    truth = cells(results["pandas in memory (peer)"][0])
    peer = results["pandas in memory (peer)"][1]
    year_rows = truth[("total", "total", "total")]
    print(
        f"\nvictims by region, sex, age band for 2026: {len(truth):,} cells, "
        f"{year_rows:,} rows in the year"
    )
    print(f"{'engine':<28} {'seconds':>9} {'x peer':>8}  same cells")
    for label, (table, seconds) in results.items():
        same = cells(table) == truth
        print(f"{label:<28} {seconds:>9.2f} {seconds / peer:>8.2f}  {same}")
        if not same:
            raise SystemExit(f"{label}: cells differ from the peer")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
