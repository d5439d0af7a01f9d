"""Job system benchmark: opschub's jobs against Dramatiq's own plain example, side by side.

For each setup: no-op jobs per second (a burst of ``--jobs`` jobs, from the first enqueue to the
last completion) and enqueue-to-start latency p50/p99 (``--samples`` jobs sent one at a time,
each waited for). Setups, each with 1 and 2 workers:

- embedded: opschub's in-process runtime (as inside `opschub serve`) on SQLite, N worker threads;
  the peer is a plain Dramatiq actor on Dramatiq's in-process StubBroker with N worker threads.
- redis: N `opschub worker --threads 1` processes on PostgreSQL and Redis; the peer is N plain
  `dramatiq` worker processes (one thread each) with a no-op actor on the same Redis.

opschub does more per job than the peer (a row created in its own transaction, claimed, then
completed: three commits), which is what the ratio shows. Queues are given random names on the
machine's Redis (127.0.0.1:6379), so nothing else is disturbed.

    .venv/bin/python benchmarks/bench_jobs.py                    # 2000 jobs, 200 samples
    .venv/bin/python benchmarks/bench_jobs.py --jobs 300 --samples 50   # a quick run
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SECRET = "bench-secret-0123456789abcdef0123456789abcdef"

PEER_MODULE = textwrap.dedent(
    """
    import os, time
    import dramatiq, redis
    from dramatiq.brokers.redis import RedisBroker

    broker = RedisBroker(url=os.environ["BENCH_REDIS_URL"])
    dramatiq.set_broker(broker)
    client = redis.Redis.from_url(os.environ["BENCH_REDIS_URL"])
    DONE = os.environ["BENCH_PREFIX"] + ":done"
    STARTS = os.environ["BENCH_PREFIX"] + ":starts"

    @dramatiq.actor(queue_name=os.environ["BENCH_QUEUE"], max_retries=0)
    def noop(sent: float, record: bool) -> None:
        if record:
            client.rpush(STARTS, time.time() - sent)
        client.incr(DONE)
    """
)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def wait_until(check: Callable[[], bool], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark step did not finish")
        time.sleep(0.005)


# --- opschub ------------------------------------------------------------------------------------


def _opschub_counts(database: Any) -> Callable[[], int]:
    from sqlalchemy import func, select

    from opschub.jobs.models import Job

    def done() -> int:
        with database.read() as session:
            return int(
                session.scalar(select(func.count()).select_from(Job).where(Job.state == "done"))
                or 0
            )

    return done


def _opschub_run(database: Any, jobs: int, samples: int, tag: str) -> dict[str, float]:
    from opschub.jobs import service
    from opschub.jobs.models import Job

    done = _opschub_counts(database)
    base = done()
    started = time.perf_counter()
    for n in range(jobs):
        with database.transaction() as session:
            service.schedule(session, kind="jobs.noop", key=f"{tag}:burst:{n}")
    wait_until(lambda: done() - base >= jobs)
    rate = jobs / (time.perf_counter() - started)
    latencies = []
    for n in range(samples):
        from opschub.clock import utcnow

        sent = utcnow()
        with database.transaction() as session:
            job_id = service.schedule(session, kind="jobs.noop", key=f"{tag}:latency:{n}").id

        def finished(job_id: str = job_id) -> bool:
            with database.read() as session:
                return session.get(Job, job_id).state == "done"  # type: ignore[union-attr]

        wait_until(finished)
        with database.read() as session:
            job = session.get(Job, job_id)
            assert job is not None and job.started_at is not None
            latencies.append((job.started_at - sent).total_seconds())
    return {"rate": rate, "p50": percentile(latencies, 50), "p99": percentile(latencies, 99)}


def opschub_embedded(workers: int, jobs: int, samples: int, tmp: Path) -> dict[str, float]:
    os.environ.update(OPSCHUB_DATA_DIR=str(tmp / f"emb{workers}"), OPSCHUB_SECRET_KEY=SECRET)
    os.environ["OPSCHUB_SCHEDULES"] = "{}"
    from opschub import config, migrate
    from opschub.db import Database
    from opschub.jobs import dispatch
    from opschub.jobs.runtime import JobRuntime

    config.get_settings.cache_clear()
    settings = config.get_settings()
    settings.ensure_data_dir()
    database = Database(settings.sqlalchemy_url)
    migrate.upgrade(database.engine)
    dispatch.reset()
    runtime = JobRuntime(settings, database, threads=workers)
    runtime.start()
    try:
        return _opschub_run(database, jobs, samples, f"emb{workers}")
    finally:
        runtime.stop()
        dispatch.reset()
        database.dispose()


def _create_pg(name: str) -> str:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from opschub.db import Database

    admin = Database(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _drop_pg(name: str) -> None:
    from sqlalchemy import text

    from opschub.db import Database

    admin = Database(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def opschub_redis(workers: int, jobs: int, samples: int, tmp: Path) -> dict[str, float]:
    from opschub import config, migrate
    from opschub.db import Database
    from opschub.jobs import dispatch

    name = f"opschub_bench_{secrets.token_hex(4)}"
    url = _create_pg(name)
    queue = f"bench-{secrets.token_hex(4)}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSCHUB_")}
    env.update(
        OPSCHUB_DATA_DIR=str(tmp / f"redis{workers}"),
        OPSCHUB_SECRET_KEY=SECRET,
        OPSCHUB_DATABASE_URL=url,
        OPSCHUB_BROKER_URL=REDIS_URL,
        OPSCHUB_JOB_QUEUE=queue,
        OPSCHUB_SCHEDULES="{}",
    )
    os.environ.update({k: v for k, v in env.items() if k.startswith("OPSCHUB_")})
    config.get_settings.cache_clear()
    dispatch.reset()
    database = Database(url)
    migrate.upgrade(database.engine)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "opschub", "worker", "--threads", "1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    try:
        from opschub.jobs import service

        wait_until(lambda: _alive(database, service) >= workers, timeout=60)
        return _opschub_run(database, jobs, samples, f"redis{workers}")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)
        database.dispose()
        dispatch.reset()
        _drop_pg(name)
        _clean_redis(f"opschub:{queue}*")


def _alive(database: Any, service: Any) -> int:
    with database.read() as session:
        return len(service.workers(session))


def _clean_redis(pattern: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(pattern):
        client.delete(key)
    client.close()


# --- the peer: Dramatiq's plain example ----------------------------------------------------------


def peer_stub(workers: int, jobs: int, samples: int, tmp: Path) -> dict[str, float]:
    import threading

    import dramatiq
    from dramatiq.brokers.stub import StubBroker

    broker = StubBroker()
    lock = threading.Lock()
    done = [0]
    starts: list[float] = []

    def noop(sent: float, record: bool) -> None:
        if record:
            starts.append(time.time() - sent)
        with lock:
            done[0] += 1

    actor = dramatiq.Actor(
        noop,
        broker=broker,
        actor_name="noop",
        queue_name="bench",
        priority=0,
        options={"max_retries": 0},
    )
    worker = dramatiq.Worker(broker, worker_threads=workers, worker_timeout=100)
    worker.start()
    try:
        started = time.perf_counter()
        for _ in range(jobs):
            actor.send(time.time(), False)
        wait_until(lambda: done[0] >= jobs)
        rate = jobs / (time.perf_counter() - started)
        for n in range(samples):
            actor.send(time.time(), True)
            wait_until(lambda n=n: len(starts) > n)  # type: ignore[misc]
    finally:
        worker.stop()
        broker.close()
    return {"rate": rate, "p50": percentile(starts, 50), "p99": percentile(starts, 99)}


def peer_redis(workers: int, jobs: int, samples: int, tmp: Path) -> dict[str, float]:
    import dramatiq
    import redis
    from dramatiq.brokers.redis import RedisBroker

    queue = f"bench-peer-{secrets.token_hex(4)}"
    prefix = f"bench:{queue}"
    (tmp / "bench_peer.py").write_text(PEER_MODULE)
    env = dict(os.environ, BENCH_REDIS_URL=REDIS_URL, BENCH_QUEUE=queue, BENCH_PREFIX=prefix)
    env["PYTHONPATH"] = str(tmp)
    os.environ.update(BENCH_REDIS_URL=REDIS_URL, BENCH_QUEUE=queue, BENCH_PREFIX=prefix)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dramatiq",
            "bench_peer",
            "--processes",
            str(workers),
            "--threads",
            "1",
        ],
        env=env,
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis.from_url(REDIS_URL)
    broker = RedisBroker(url=REDIS_URL)
    actor = dramatiq.Actor(
        lambda sent, record: None,
        broker=broker,
        actor_name="noop",
        queue_name=queue,
        priority=0,
        options={"max_retries": 0},
    )

    def count() -> int:
        return int(client.get(f"{prefix}:done") or 0)

    try:
        actor.send(time.time(), False)  # warm up: the worker processes are importing
        wait_until(lambda: count() >= 1, timeout=60)
        started = time.perf_counter()
        for _ in range(jobs):
            actor.send(time.time(), False)
        wait_until(lambda: count() >= jobs + 1)
        rate = jobs / (time.perf_counter() - started)
        for n in range(samples):
            actor.send(time.time(), True)
            wait_until(lambda n=n: client.llen(f"{prefix}:starts") > n)  # type: ignore[misc]
        starts = [float(v) for v in client.lrange(f"{prefix}:starts", 0, -1)]
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        broker.close()
        for key in client.scan_iter(f"*{queue}*"):
            client.delete(key)
        client.close()
    return {"rate": rate, "p50": percentile(starts, 50), "p99": percentile(starts, 99)}


def _one(kind: str, workers: int, jobs: int, samples: int) -> None:
    """Run one setup in this (fresh) process and print its figures as one line of JSON."""
    import json

    runner = {
        "opschub-embedded": opschub_embedded,
        "peer-embedded": peer_stub,
        "opschub-redis": opschub_redis,
        "peer-redis": peer_redis,
    }[kind]
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(runner(workers, jobs, samples, Path(tmp))))


def main() -> None:
    import json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _one(args.one, args.workers, args.jobs, args.samples)
        return
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load {os.getloadavg()}")
    print(f"# {args.jobs} no-op jobs per burst, {args.samples} latency samples")
    print("| setup | workers | engine | jobs/s | p50 start latency | p99 | opschub / peer jobs/s |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for setup in ("embedded", "redis"):
        for workers in (1, 2):
            figures = {}
            for engine in ("peer", "opschub"):
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--one",
                        f"{engine}-{setup}",
                        "--workers",
                        str(workers),
                        "--jobs",
                        str(args.jobs),
                        "--samples",
                        str(args.samples),
                    ],
                    capture_output=True,
                    text=True,
                    timeout=1800,
                    check=True,
                )
                figures[engine] = json.loads(out.stdout.strip().splitlines()[-1])
            for engine in ("peer", "opschub"):
                f = figures[engine]
                ratio = f["rate"] / figures["peer"]["rate"]
                label = "Dramatiq plain example" if engine == "peer" else "opschub jobs"
                print(
                    f"| {setup} | {workers} | {label} | {f['rate']:,.0f} | "
                    f"{f['p50'] * 1000:.1f} ms | {f['p99'] * 1000:.1f} ms | "
                    f"{ratio:.2f}x |"
                )
    print(f"# load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
