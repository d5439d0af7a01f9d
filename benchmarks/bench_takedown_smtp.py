"""Notices per second through SMTP on loopback: opschub's whole send path against plain smtplib.

opschub: ``--notices`` notices of confirmed targets in a SQLite database, each sent by running its
``takedown.notice_send`` job in turn (claim, the ``sending`` row committed, the X-ARF reports and
the body built and checked by the terminology checker, one SMTP exchange with STARTTLS, the
answer and the audit events committed). Peer: plain ``smtplib`` sending the same number of
prebuilt messages, one connection with STARTTLS per message as opschub does. The receiver is
aiosmtpd on 127.0.0.1 with a generated self-signed certificate, in its own thread.

    .venv/bin/python benchmarks/bench_takedown_smtp.py                 # 500 notices
    .venv/bin/python benchmarks/bench_takedown_smtp.py --notices 100   # a quick run
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import os
import smtplib
import ssl
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

# The self-signed certificate and the free port are the tests' (tests/loopback.py).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from loopback import free_port, self_signed


class Counter:
    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received += 1
        return "250 OK"


def make_targets(database: Any, n: int) -> list[str]:
    from opschub.evidence.models import EvidenceItem
    from opschub.ids import new_id
    from opschub.takedown.models import Item, Target

    now = dt.datetime.now(dt.UTC)
    ids = []
    with database.transaction() as session:
        for k in range(n):
            data = f"generated benchmark item {k}".encode()
            sha = hashlib.sha256(data).hexdigest()
            target_id = new_id()
            url = f"https://files{k}.example/{k}.png"
            abuse = f"abuse@host{k}.example"
            session.add(
                Target(
                    id=target_id,
                    url=url,
                    url_hash=hashlib.sha256(url.encode()).hexdigest(),
                    host=f"files{k}.example",
                    state="confirmed",
                    reported_at=now,
                    confirmed_at=now,
                    country="DE",
                    hosting={"ip": "192.0.2.1", "abuse": abuse, "notify": []},
                    capture={},
                )
            )
            evidence = EvidenceItem(
                sha256=sha,
                md5=hashlib.md5(data).hexdigest(),
                sha1=hashlib.sha1(data).hexdigest(),
                size=len(data),
                media_type="image/png",
                backend="local",
                matches=[],
            )
            session.add(evidence)
            session.flush()
            session.add(
                Item(
                    target_id=target_id,
                    evidence_item_id=evidence.id,
                    url=url,
                    kind="image",
                    media_type="image/png",
                    size=len(data),
                    sha256=sha,
                    md5=evidence.md5,
                    state="confirmed",
                    decision="illegal",
                    baseline=True,
                    fetch={},
                    matches=[],
                )
            )
            ids.append(target_id)
    return ids


def run_opschub(database: Any, targets: list[str]) -> tuple[float, list[EmailMessage]]:
    from sqlalchemy import select

    from opschub.jobs.models import Job
    from opschub.jobs.runner import run_job
    from opschub.takedown import notifying, sending

    with database.transaction() as session:
        for target_id in targets:
            notifying.create_notices(session, target_id)
    with database.read() as session:
        jobs = session.scalars(
            select(Job.id).where(Job.kind == "takedown.notice_send").order_by(Job.id)
        ).all()
    # The first job imports what sending needs (SMTP, X-ARF, the terminology checker): not timed.
    assert run_job(database, jobs[0], "bench") == "done"
    started = time.perf_counter()
    for job_id in jobs[1:]:
        assert run_job(database, job_id, "bench") == "done"
    elapsed = time.perf_counter() - started
    with database.read() as session:
        notices = session.scalars(
            select(notifying.Notice.id).where(notifying.Notice.state == "delivered")
        ).all()
        assert len(notices) == len(targets), f"{len(notices)} of {len(targets)} delivered"
        prebuilt = [
            sending.email_for(notifying.message_for(session, notice_id), 1) for notice_id in notices
        ]
    return elapsed, prebuilt


def run_peer(messages: list[EmailMessage], port: int, cert: Path) -> float:
    context = ssl.create_default_context(cafile=str(cert))
    started = time.perf_counter()
    for message in messages:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.starttls(context=context)
            smtp.send_message(message)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notices", type=int, default=500)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-smtp-"))
    cert, key = self_signed(folder)
    os.environ.update(
        {
            "OPSCHUB_DATA_DIR": str(folder / "var"),
            "OPSCHUB_SECRET_KEY": "benchmark-secret-key-0123456789abcdef0123456789",
            "OPSCHUB_SMTP_HOST": "127.0.0.1",
            "OPSCHUB_SMTP_REQUIRE_TLS": "true",
            "OPSCHUB_SMTP_CA_FILE": str(cert),
        }
    )
    from aiosmtpd.controller import Controller

    from opschub import config
    from opschub.db import Base, Database, import_all_models, set_database

    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    counter = Counter()
    port = free_port()
    controller = Controller(
        counter,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_tls,
        require_starttls=True,
        loop=asyncio.new_event_loop(),
    )
    controller.start()
    os.environ["OPSCHUB_SMTP_PORT"] = str(port)
    config.get_settings.cache_clear()
    config.get_settings().ensure_data_dir()
    database = Database(f"sqlite:///{folder / 'bench.sqlite3'}")
    import_all_models()
    Base.metadata.create_all(database.engine)
    set_database(database)
    try:
        targets = make_targets(database, args.notices + 1)
        ours, prebuilt = run_opschub(database, targets)
        received_ours = counter.received - 1  # the untimed first one
        before = counter.received
        peer = run_peer(prebuilt, port, cert)
        received_peer = counter.received - before
    finally:
        controller.stop()
    assert received_ours == args.notices and received_peer == len(prebuilt), (
        received_ours,
        received_peer,
        len(prebuilt),
    )
    print(f"command: {' '.join(sys.argv)}")
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"{args.notices} notices to aiosmtpd on 127.0.0.1, STARTTLS, one connection each")
    print(f"opschub send jobs (SQLite)  {args.notices / ours:8.1f} notices/s")
    print(f"smtplib, prebuilt messages  {len(prebuilt) / peer:8.1f} notices/s")
    print(f"ratio opschub / smtplib: {(args.notices / ours) / (len(prebuilt) / peer):.2f}")


if __name__ == "__main__":
    main()
