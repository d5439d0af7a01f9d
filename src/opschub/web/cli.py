"""``opschub serve``: run the web application."""

from __future__ import annotations

import logging
from typing import Any

import typer

from opschub.config import Settings

log = logging.getLogger("opschub.serve")


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How uvicorn must run opschub (``opschub serve`` and the test servers use the same).

    - No access log and no WebSockets: uvicorn logs both with the client's address.
    - Behind a reverse proxy, ``X-Forwarded-For`` is believed only from ``OPSCHUB_TRUSTED_PROXIES``
      (uvicorn takes the right-most address that is not a trusted proxy): the rate limits then
      key on the real visitor, and a visitor cannot pick their own address with the header.
    """
    trusted = ",".join(settings.trusted_proxies)
    return {
        "access_log": False,
        "ws": "none",
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted or None,
        "server_header": False,
    }


def startup_checkpoint(settings: Settings) -> None:
    """Anchor the audit log outside the database when the service starts; the job scheduler
    writes the next ones (``audit.checkpoint`` in ``OPSCHUB_SCHEDULES``, every 5 minutes)."""
    from opschub.audit import service
    from opschub.db import get_database

    try:
        with get_database().read() as session:  # SQLite: without taking the write lock
            service.write_checkpoint(session, settings)
    except Exception:  # a missed checkpoint must not stop the service; the schedule retries
        log.exception("could not write an audit checkpoint")


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on"),
    port: int = typer.Option(8000, help="Port to listen on"),
    workers: int = typer.Option(1, min=1, help="Worker processes"),
) -> None:
    """Serve the web application and the JSON API."""
    import os

    import uvicorn

    from opschub.config import get_settings

    settings = get_settings()
    if not settings.broker_url:  # no broker: the web process(es) run jobs too
        os.environ["OPSCHUB_RUN_JOBS"] = "1"
        get_settings.cache_clear()
        settings = get_settings()
    settings.ensure_data_dir()
    settings.resolved_secret_key()  # create it once, before workers race for it
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    typer.echo(f"opschub serving on http://{host}:{port} (data in {settings.data_dir.resolve()})")
    if settings.trusted_proxies:
        typer.echo(f"trusting X-Forwarded-For from {', '.join(settings.trusted_proxies)}")
    # Once in this process, however many workers: checkpoints are not written twice.
    startup_checkpoint(settings)
    uvicorn.run(
        "opschub.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        **uvicorn_options(settings),
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
