"""A real uvicorn server in a thread, run with the options of ``opschub serve``."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from intruder import tampering as tampering
from opschub.config import Settings
from opschub.db import Database


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_server(settings: Settings, database: Database) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of the whole app served as ``opschub serve`` serves it."""
    import uvicorn

    from opschub.web.app import create_app
    from opschub.web.cli import uvicorn_options

    app = create_app(settings, database)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", **uvicorn_options(settings)
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def record_events(database: Database, n: int) -> None:
    from opschub.audit import service

    with database.transaction() as session:
        for i in range(n):
            service.record(
                session, action="user.login", actor_label=f"person {i}", details={"i": i}
            )
