"""Load on the partner API: reports accepted per second and latency, SQLite and PostgreSQL.

    .venv/bin/python benchmarks/load_partner_api.py [--seconds 15] [--concurrency 16]
        [--batch 1 --batch 50] [--engine sqlite --engine postgresql] [--workers 1]

Each run starts a real server (``opschub serve``) on loopback, sends benign synthetic reports
(example.org URLs, random fingerprints) from concurrent clients for a bounded time, and prints
reports/s, p50 and p99 request latency side by side with the issue's targets and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from dataclasses import dataclass, field

import httpx
from rich.console import Console
from rich.table import Table

from apiserver import postgres_available, reports, running_server

TARGETS = {"postgresql": 500.0, "sqlite": 300.0}  # reports/s (2-core machine)
P99_TARGET_MS = 250.0


@dataclass
class Result:
    engine: str
    batch: int
    requests: int = 0
    accepted: int = 0
    failed: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0


async def _client(
    server_url: str, token: str, batch: int, stop_at: float, result: Result, max_requests: int
) -> None:
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server_url, headers=headers, timeout=30) as client:
        while time.monotonic() < stop_at and result.requests < max_requests:
            body = {"reports": reports(batch, prefix=uuid.uuid4().hex[:8])}
            started = time.perf_counter()
            response = await client.post(
                "/api/v1/reports", json=body, headers={"idempotency-key": uuid.uuid4().hex}
            )
            result.latencies.append((time.perf_counter() - started) * 1000)
            result.requests += 1
            if response.status_code == 202:
                result.accepted += len(response.json()["ids"])
            else:
                result.failed[response.status_code] = result.failed.get(response.status_code, 0) + 1


async def _load(
    server_url: str,
    token: str,
    engine: str,
    batch: int,
    seconds: float,
    concurrency: int,
    max_requests: int,
) -> Result:
    result = Result(engine, batch)
    started = time.monotonic()
    stop_at = started + seconds
    await asyncio.gather(
        *(
            _client(server_url, token, batch, stop_at, result, max_requests)
            for _ in range(concurrency)
        )
    )
    result.elapsed = time.monotonic() - started
    return result


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--batch", type=int, action="append", help="reports per request")
    parser.add_argument("--engine", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument("--max-requests", type=int, default=200_000)
    args = parser.parse_args()
    engines = args.engine or ["sqlite", "postgresql"]
    batches = args.batch or [1, 50]
    console = Console(width=180)
    results: list[Result] = []
    for engine in engines:
        if engine == "postgresql" and not postgres_available():
            console.print("[yellow]PostgreSQL not reachable: skipped[/]")
            continue
        for batch in batches:
            with running_server(engine, workers=args.workers) as server:
                # A short warm-up so start-up costs (imports, first connections) are not counted.
                asyncio.run(_load(server.base_url, server.token, engine, batch, 1.0, 2, 50))
                result = asyncio.run(
                    _load(
                        server.base_url,
                        server.token,
                        engine,
                        batch,
                        args.seconds,
                        args.concurrency,
                        args.max_requests,
                    )
                )
            results.append(result)
            console.print(f"{engine} batch={batch}: {result.accepted} reports accepted")
    table = Table(
        title=f"Partner API load ({args.seconds:.0f} s, {args.concurrency} clients, "
        f"{args.workers} server worker(s))"
    )
    for column in (
        "engine",
        "reports/request",
        "requests",
        "reports/s",
        "target",
        "ratio",
        "p50 ms",
        "p99 ms",
        "p99 target",
        "errors",
    ):
        table.add_column(column, justify="right")
    for r in results:
        rate = r.accepted / r.elapsed if r.elapsed else 0.0
        target = TARGETS[r.engine]
        table.add_row(
            r.engine,
            str(r.batch),
            str(r.requests),
            f"{rate:,.0f}",
            f"{target:,.0f}",
            f"{rate / target:.2f}x",
            f"{_percentile(r.latencies, 50):.1f}",
            f"{_percentile(r.latencies, 99):.1f}",
            f"{P99_TARGET_MS:.0f}",
            ", ".join(f"{code}: {n}" for code, n in sorted(r.failed.items())) or "0",
        )
    console.print(table)


if __name__ == "__main__":
    main()
