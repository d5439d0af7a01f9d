"""Fault check: SIGKILL the server in the middle of a load; no acknowledged report may be lost.

    .venv/bin/python benchmarks/fault_partner_api.py [--engine sqlite --engine postgresql]
        [--kill-after 3] [--concurrency 8] [--batch 5] [--rounds 3]

Clients send benign synthetic reports; the server is killed with SIGKILL (no shutdown, no
flush) after a random moment within ``--kill-after`` seconds. Then the database is opened
directly: every report whose request got a 2xx answer must be there, whole (its URLs and
fingerprints all present, as sent). Exit status 1 if any is missing or partial.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text

from apiserver import postgres_available, reports, running_server


@dataclass
class Acknowledged:
    lock: threading.Lock = field(default_factory=threading.Lock)
    # report id -> (org_reference, number of URLs, number of fingerprints)
    reports: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    requests: int = 0
    cut_off: int = 0  # requests that got no answer (the kill)


def _client(
    base_url: str, token: str, batch: int, stop: threading.Event, acknowledged: Acknowledged
) -> None:
    headers = {"authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=10) as client:
        for _ in range(100_000):  # bounded
            if stop.is_set():
                return
            sent = reports(batch, prefix=uuid.uuid4().hex[:8])
            try:
                response = client.post(
                    "/api/v1/reports",
                    json={"reports": sent},
                    headers={"idempotency-key": uuid.uuid4().hex},
                )
            except httpx.HTTPError:
                with acknowledged.lock:
                    acknowledged.cut_off += 1
                return
            with acknowledged.lock:
                acknowledged.requests += 1
                if 200 <= response.status_code < 300:
                    for report_id, report in zip(response.json()["ids"], sent, strict=True):
                        acknowledged.reports[report_id] = (
                            str(report["org_reference"]),
                            len(report["urls"]),  # type: ignore[arg-type]
                            len(report["fingerprints"]),  # type: ignore[arg-type]
                        )


def _check(database_url: str, acknowledged: Acknowledged) -> tuple[int, list[str]]:
    engine = create_engine(database_url)
    problems: list[str] = []
    found = 0
    with engine.connect() as conn:
        for report_id, (reference, urls, fingerprints) in acknowledged.reports.items():
            row = conn.execute(
                text("SELECT partner_reference FROM intake_reports WHERE id = :id"),
                {"id": report_id},
            ).first()
            if row is None:
                problems.append(f"{report_id}: acknowledged but missing")
                continue
            url_count = conn.execute(
                text("SELECT count(*) FROM intake_report_urls WHERE report_id = :id"),
                {"id": report_id},
            ).scalar_one()
            fp_count = conn.execute(
                text("SELECT count(*) FROM intake_report_fingerprints WHERE report_id = :id"),
                {"id": report_id},
            ).scalar_one()
            if row[0] != reference or url_count != urls or fp_count != fingerprints:
                problems.append(
                    f"{report_id}: partial (reference {row[0]!r}, {url_count}/{urls} URLs, "
                    f"{fp_count}/{fingerprints} fingerprints)"
                )
                continue
            found += 1
    engine.dispose()
    return found, problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--kill-after", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    console = Console(width=180)
    table = Table(title="SIGKILL during partner-API load")
    for column in (
        "engine",
        "round",
        "killed after s",
        "requests answered",
        "cut off",
        "reports acknowledged",
        "found whole",
        "lost or partial",
    ):
        table.add_column(column, justify="right")
    failures = 0
    for engine in args.engine or ["sqlite", "postgresql"]:
        if engine == "postgresql" and not postgres_available():
            console.print("[yellow]PostgreSQL not reachable: skipped[/]")
            continue
        for round_no in range(1, args.rounds + 1):
            with running_server(engine) as server:
                acknowledged = Acknowledged()
                stop = threading.Event()
                threads = [
                    threading.Thread(
                        target=_client,
                        args=(server.base_url, server.token, args.batch, stop, acknowledged),
                    )
                    for _ in range(args.concurrency)
                ]
                for thread in threads:
                    thread.start()
                delay = rng.uniform(args.kill_after / 3, args.kill_after)
                time.sleep(delay)
                server.kill()
                stop.set()
                for thread in threads:
                    thread.join(timeout=30)
                found, problems = _check(server.database_url, acknowledged)
            failures += len(problems)
            for problem in problems[:10]:
                console.print(f"[red]{engine}: {problem}[/]")
            table.add_row(
                engine,
                str(round_no),
                f"{delay:.2f}",
                str(acknowledged.requests),
                str(acknowledged.cut_off),
                str(len(acknowledged.reports)),
                str(found),
                str(len(problems)),
            )
    console.print(table)
    console.print(
        "[green]no acknowledged report lost[/]"
        if failures == 0
        else f"[red]{failures} acknowledged reports lost or partial[/]"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
