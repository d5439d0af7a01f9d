"""``opschub serve``: run the web application."""

from __future__ import annotations

import typer


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on"),
    port: int = typer.Option(8000, help="Port to listen on"),
    workers: int = typer.Option(1, min=1, help="Worker processes"),
) -> None:
    """Serve the web application and the JSON API."""
    import logging
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
    uvicorn.run(
        "opschub.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # uvicorn's access log carries client addresses; ours does not
        proxy_headers=False,
        server_header=False,
        log_level="info",
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
