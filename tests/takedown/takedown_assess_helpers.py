"""Helpers of the takedown capture and assessment tests: the local web site on 127.0.0.1
(tests/loopback.py) with routes serving generated pictures (never real material), analysts as the
service sees them, and a run of the capture job."""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import numpy as np
import pytest
from sqlalchemy import select

from factories import Person
from loopback import Route, Site, send
from opschub import config
from opschub.db import Database
from opschub.intake import service as intake
from opschub.jobs import registry
from opschub.jobs.models import Job
from opschub.jobs.runner import run_job
from opschub.takedown import capture

HOST = "pages.example"  # resolved to 127.0.0.1 by the tests' resolver


def clip(frames: int = 10) -> bytes:
    """A generated MPEG-4 video of moving gradients (PyAV), never real material."""
    import av

    out = io.BytesIO()
    container = av.open(out, mode="w", format="mp4")
    stream = container.add_stream("mpeg4", rate=5)
    stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
    y, x = np.mgrid[0:120, 0:160]
    for i in range(frames):
        rgb = np.stack([(x * 2 + i * 5) % 256, (y * 2) % 256, (x + y + i * 10) % 256], axis=-1)
        frame = av.VideoFrame.from_ndarray(rgb.astype(np.uint8), format="rgb24")
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return out.getvalue()


def redirect(location: str, status: int = 302) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


def endless(handler: BaseHTTPRequestHandler) -> None:
    """A body that never ends (a "2 GB" answer without a length)."""
    handler.send_response(200)
    handler.send_header("Content-Type", "image/png")
    handler.end_headers()
    chunk = b"\0" * 65536
    try:
        for _ in range(2 * 1024 * 1024 * 1024 // len(chunk)):
            handler.wfile.write(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass


def declared_huge(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "video/mp4")
    handler.send_header("Content-Length", str(2 * 1024 * 1024 * 1024))
    handler.end_headers()


def sleeper(seconds: float) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            send(b"late", "text/plain")(handler)

    return route


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """The local site, allow-listed for the fetcher, with small limits."""
    monkeypatch.setenv("OPSCHUB_FETCH_ALLOWED_ADDRESSES", "127.0.0.1")
    monkeypatch.setenv("OPSCHUB_FETCH_MAX_BYTES", str(256 * 1024))
    monkeypatch.setenv("OPSCHUB_FETCH_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("OPSCHUB_FETCH_TOTAL_TIMEOUT_SECONDS", "3")
    monkeypatch.setenv("OPSCHUB_FETCH_HOST_INTERVAL_SECONDS", "0")
    monkeypatch.setenv("OPSCHUB_FETCH_MAX_MEDIA", "5")
    monkeypatch.setenv("OPSCHUB_FETCH_MAX_MEDIA_BYTES", str(256 * 1024))
    config.get_settings.cache_clear()
    monkeypatch.setattr(capture, "RESOLVER", lambda host, port: ["127.0.0.1"])
    with Site(HOST) as server:
        yield server


ASSESS = frozenset({"reports.read", "reports.assess"})
ANNA = Person("anna", ASSESS)
BORIS = Person("boris", ASSESS)
SENIOR = Person("senior", ASSESS | {"takedown.decide"})
ADMIN = Person("admin", frozenset({"takedown.configure"}))


def ensure_notify_task() -> None:
    """td-notify declares ``takedown.notify``; until its branch is merged the tests declare a
    stand-in so that confirming can schedule it."""
    if registry.get("takedown.notify") is None:

        @registry.task("takedown.notify")
        def _notify(ctx: object) -> None:  # pragma: no cover - never run here
            pass


def report_with(database: Database, *urls: str) -> str:
    with database.transaction() as session:
        submitted = intake.submit_report(session, intake.ReportIn(channel="public", urls=urls))
        return submitted.id


def run_captures(database: Database) -> list[str]:
    """Run every queued capture job; their end states."""
    with database.read() as session:
        ids = list(
            session.scalars(
                select(Job.id).where(Job.kind == "takedown.capture", Job.state == "queued")
            )
        )
    return [run_job(database, job_id, "test-worker") or "none" for job_id in ids]
