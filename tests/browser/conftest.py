"""Shared fixtures for tests that run in Chromium (python playwright, sync API).

Fixtures:
- ``browser`` (session): a headless Chromium launched from the system binary (env
  ``OPSCHUB_CHROMIUM``, else ``/usr/bin/chromium``, else ``chromium`` on PATH); never downloads a
  browser. Skips the test when playwright or Chromium is missing, unless
  ``OPSCHUB_REQUIRE_BROWSER=1``, in which case the test fails.
- ``page``: a fresh incognito context and page per test (closed afterwards).
- ``static_server`` (session): ``static_server({"/": dir, "/js": other_dir}, headers={...})``
  serves directories on 127.0.0.1 (a free port, a background thread) and returns the base URL
  without a trailing slash. GET and HEAD only; paths cannot escape their directory; every response
  carries ``Cache-Control: no-store`` plus the given headers (use it to set a CSP).
- ``live_server``: the whole opschub application (uvicorn in a thread) on 127.0.0.1 over a fresh
  SQLite database; yields ``(base_url, database)``.
- ``shared_dir`` (session): the shared reference data directory (env ``OPSCHUB_SHARED_DIR``, else
  ``<repo>/../shared``).

Every test in this directory is marked ``browser``.
"""

from __future__ import annotations

import mimetypes
import os
import shutil
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from opschub.config import Settings
from opschub.db import Database

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]

StaticServer = Callable[..., str]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("OPSCHUB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (OPSCHUB_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(reason)


def chromium_path() -> str | None:
    """The Chromium binary to use, or None when there is none."""
    configured = os.environ.get("OPSCHUB_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        _unavailable("python playwright is not installed")
    executable = chromium_path()
    if executable is None:
        _unavailable("Chromium not found (set OPSCHUB_CHROMIUM or install /usr/bin/chromium)")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except Error as exc:
            _unavailable(f"Chromium at {executable} did not start: {exc.message.splitlines()[0]}")
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


class _Handler(BaseHTTPRequestHandler):
    mounts: tuple[tuple[str, Path], ...] = ()
    extra_headers: Mapping[str, str] = {}

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _resolve(self) -> Path | None:
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        for prefix, root in self.mounts:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                relative = path[len(prefix.rstrip("/")) :].lstrip("/")
                target = (root / relative).resolve()
                if target != root and root not in target.parents:
                    return None
                if target.is_dir():
                    target = target / "index.html"
                return target if target.is_file() else None
        return None

    def _send(self, body: bool) -> None:
        target = self._resolve()
        if target is None:
            self.send_error(404)
            return
        data = target.read_bytes()
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if target.suffix in {".js", ".mjs"}:
            content_type = "text/javascript"
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in self.extra_headers.items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_GET(self) -> None:
        self._send(body=True)

    def do_HEAD(self) -> None:
        self._send(body=False)


@pytest.fixture(scope="session")
def static_server() -> Iterator[StaticServer]:
    servers: list[ThreadingHTTPServer] = []

    def serve(mounts: Mapping[str, Path], headers: Mapping[str, str] | None = None) -> str:
        ordered = sorted(
            (
                (prefix if prefix.startswith("/") else "/" + prefix, Path(root).resolve())
                for prefix, root in mounts.items()
            ),
            key=lambda item: len(item[0]),
            reverse=True,  # longest prefix wins
        )
        for _, root in ordered:
            if not root.is_dir():
                raise ValueError(f"static_server: {root} is not a directory")
        handler = type(
            "MountedHandler",
            (_Handler,),
            {"mounts": tuple(ordered), "extra_headers": dict(headers or {})},
        )
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    configured = os.environ.get("OPSCHUB_SHARED_DIR")
    return Path(configured) if configured else REPO_ROOT.parent / "shared"


@pytest.fixture
def live_server(tmp_path: Path, settings: Settings) -> Iterator[tuple[str, Database]]:
    """The whole app on 127.0.0.1 (uvicorn in a thread) over a fresh SQLite database.

    Browser tests drive the pages; what they check does not depend on the database engine, which
    the rest of the suite covers on both.
    """
    from loopback import running_server
    from opschub.db import set_database

    database = Database(f"sqlite:///{tmp_path / 'browser.sqlite3'}")
    database.create_all()
    set_database(database)
    try:
        with running_server(settings, database) as base:
            yield base, database
    finally:
        database.dispose()
