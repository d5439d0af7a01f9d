"""Every route of the application, including those of included routers.

FastAPI 0.165 keeps included routers lazily (``app.routes`` holds wrappers); its
``iter_route_contexts`` flattens them. Older releases list the routes directly.
"""

from __future__ import annotations

from collections.abc import Iterator

import fastapi.routing
from fastapi import FastAPI
from starlette.routing import BaseRoute


def iter_routes(app: FastAPI) -> Iterator[tuple[str, BaseRoute]]:
    """(full path, the route as declared) for every route of ``app``."""
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    if iterate is None:
        for route in app.routes:
            yield getattr(route, "path", ""), route
        return
    for context in iterate(app.routes):
        yield context.path or "", context.original_route
