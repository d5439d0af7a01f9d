"""Attack: one anonymous request fills the disk.

The CSRF check used to read the whole multipart body (spooled to a temporary file, no size limit)
before checking the token or the rate limit. Bodies are now limited per route before they are
read, also when they arrive chunked without a Content-Length, and multipart is refused where no
file is expected.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest

from opschub.web.middleware import FORM_LIMIT, BodyLimit, BodyLimits

CHUNK = 64 * 1024
HUGE = 8 * 1024 * 1024


def _post(
    app: Any, path: str, content_type: str, total: int, *, declare_length: bool = False
) -> tuple[int, int, dict[str, str]]:
    """POST ``total`` bytes to ``app`` over ASGI in 64 KiB chunks; (status, bytes the app pulled,
    response headers)."""
    headers = [(b"content-type", content_type.encode()), (b"host", b"testserver")]
    if declare_length:
        headers.append((b"content-length", str(total).encode()))
    else:
        headers.append((b"transfer-encoding", b"chunked"))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("203.0.113.9", 5000),
        "server": ("testserver", 80),
    }
    pulled = 0
    response: dict[str, Any] = {}

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled >= total:
            return {"type": "http.disconnect"}
        size = min(CHUNK, total - pulled)
        pulled += size
        return {"type": "http.request", "body": b"a" * size, "more_body": pulled < total}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            response["status"] = message["status"]
            response["headers"] = {k.decode(): v.decode() for k, v in message["headers"]}

    # A loop of its own in a thread of its own: Playwright's sync API, once a browser test has run
    # in this worker, keeps an event loop running on the main thread.
    worker = threading.Thread(target=asyncio.run, args=(app(scope, receive, send),))
    worker.start()
    worker.join()
    return response["status"], pulled, response["headers"]


def test_huge_multipart_upload_to_the_login_form_is_refused_unread(app: Any) -> None:
    status, pulled, headers = _post(app, "/login", "multipart/form-data; boundary=x", HUGE)
    assert status == 415 and pulled == 0
    assert headers["x-content-type-options"] == "nosniff"  # answered inside the shell


def test_huge_chunked_form_without_length_stops_at_the_limit(app: Any) -> None:
    status, pulled, _ = _post(app, "/login", "application/x-www-form-urlencoded", HUGE)
    assert status == 413
    assert pulled <= FORM_LIMIT.max_bytes + CHUNK


def test_declared_oversize_form_is_refused_before_reading(app: Any) -> None:
    status, pulled, _ = _post(
        app, "/report/status", "application/x-www-form-urlencoded", HUGE, declare_length=True
    )
    assert (status, pulled) == (413, 0)


def test_huge_json_body_to_the_api_is_refused(app: Any) -> None:
    status, pulled, _ = _post(app, "/api/v1/me", "application/json", HUGE, declare_length=True)
    assert (status, pulled) == (413, 0)


def test_routes_that_declare_more_still_take_it(app: Any) -> None:
    # A long public report (above the forms' default) and a partner batch of 2 MiB are read.
    status, pulled, _ = _post(app, "/report", "application/x-www-form-urlencoded", 200 * 1024)
    assert status != 413 and pulled == 200 * 1024
    status, pulled, _ = _post(app, "/api/v1/reports", "application/json", 2 * 1024 * 1024)
    assert status != 413 and pulled == 2 * 1024 * 1024


def test_api_refusal_is_json(client: Any) -> None:
    response = client.post(
        "/api/v1/me",
        content=json.dumps({"x": "y" * 300_000}),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413 and "detail" in response.json()


def test_body_limit_registry_precedence() -> None:
    upload = BodyLimit(50 * 1024 * 1024, multipart=True)
    limits = BodyLimits({"/evidence/": upload, "/evidence/notes": BodyLimit(1000)})
    assert limits.for_request("/evidence/42/files", "multipart/form-data") == upload
    assert limits.for_request("/evidence/notes", "text/plain") == BodyLimit(1000)
    assert limits.for_request("/login", "application/x-www-form-urlencoded") == FORM_LIMIT
    assert limits.for_request("/evidence", "application/json").max_bytes > FORM_LIMIT.max_bytes
    with pytest.raises(ValueError, match="must start with /"):
        limits.declare("evidence", upload)
