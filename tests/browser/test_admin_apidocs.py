"""/api/docs in Chromium: the bundled Swagger UI renders today's OpenAPI 3.1 document, lists every
operation, loads nothing from another site and breaks no rule of the Content-Security-Policy."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from opschub.db import Database

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def test_api_docs_page_shows_every_operation(page: Any, live_server: tuple[str, Database]) -> None:
    base, _database = live_server
    with urllib.request.urlopen(f"{base}/api/v1/openapi.json") as response:
        document = json.load(response)
    assert document["openapi"].startswith("3.1")
    operations = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }
    assert operations, "the API has operations to show"

    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    foreign: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(base) else foreign.append(r.url))

    page.goto(f"{base}/api/docs?lang=en")
    page.wait_for_selector(".opblock", timeout=15_000)
    shown = {
        (
            block.query_selector(".opblock-summary-method").inner_text().strip().upper(),
            block.query_selector(".opblock-summary-path").get_attribute("data-path"),
        )
        for block in page.query_selector_all(".opblock")
    }
    assert shown == operations
    assert "Unable to render this definition" not in page.content()
    assert foreign == []
    assert problems == []
