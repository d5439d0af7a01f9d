"""Servers on 127.0.0.1 for the tests and the benchmarks: a free port, a self-signed certificate
for 127.0.0.1, a small web server whose answers the test sets, a webhook receiver that keeps
what it is sent, and the whole app served as ``opschub serve`` serves it.

Only the standard library and ``cryptography`` at import (uvicorn and opschub when the app is
served): ``benchmarks/`` imports it too (it puts this folder on ``sys.path``), so nothing here may
import pytest or the test fixtures.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from opschub.config import Settings
    from opschub.db import Database


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` just now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def self_signed(folder: Path, hours: float = 2) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files ``cert.pem`` and
    ``key.pem`` in ``folder``; valid from five minutes ago for ``hours``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=hours))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


# -- a web server whose answers the test sets -----------------------------------------------------

# A route answers one GET: it calls the handler's send_response, headers and wfile itself.
Route = Callable[[BaseHTTPRequestHandler], None]


def send(body: bytes, content_type: str, status: int = 200) -> Route:
    """A route answering ``body`` with a Content-Length."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("X-Served-By", "takedown-test-site")
        handler.end_headers()
        handler.wfile.write(body)

    return route


@dataclass
class Resource:
    """A route that answers conditional requests: 304 when If-None-Match names its ETag, or when
    If-Modified-Since is its Last-Modified and no If-None-Match was sent."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        etag_match = self.etag and handler.headers.get("If-None-Match") == self.etag
        date_match = (
            self.last_modified and handler.headers.get("If-Modified-Since") == self.last_modified
        )
        if etag_match or (date_match and not handler.headers.get("If-None-Match")):
            handler.send_response(304)
            if self.etag:
                handler.send_header("ETag", self.etag)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        handler.send_response(self.status)
        handler.send_header("Content-Type", self.content_type)
        handler.send_header("Content-Length", str(len(self.body)))
        if self.etag:
            handler.send_header("ETag", self.etag)
        if self.last_modified:
            handler.send_header("Last-Modified", self.last_modified)
        handler.end_headers()
        handler.wfile.write(self.body)


NOT_FOUND = send(b"not found", "text/plain", 404)


class _Serving:
    """A ThreadingHTTPServer on 127.0.0.1 (port chosen by the system) in a thread of its own;
    a context manager: serving inside."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], name: str = "127.0.0.1") -> None:
        self.name = name
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "") -> str:
        return f"http://{self.name}:{self.port}{path}"

    def start(self) -> Self:
        self.thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


class Site(_Serving):
    """A web server on 127.0.0.1 (port chosen by the system) serving ``routes``: path -> route;
    any other path is 404. ``requests`` lists (path, status, request headers) in the order the
    answers were started. ``name`` is the host name in :meth:`url` (a test whose resolver points
    a name at 127.0.0.1 uses that name). Use it as a context manager: serving inside."""

    def __init__(self, name: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.routes.get(self.path, NOT_FOUND)(self)

            def send_response(self, code: int, message: str | None = None) -> None:
                # Recorded before the answer goes out: a client that has it sees it listed.
                with site.lock:
                    site.requests.append((self.path, str(code), dict(self.headers.items())))
                super().send_response(code, message)

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(Handler, name)


class Receiver(_Serving):
    """A webhook receiver on 127.0.0.1: every POST, to any path, is answered 204 and listed in
    ``received`` as (request headers, body) before the answer goes out. Use it as a context
    manager: receiving inside."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers.items()), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(Handler)


@contextmanager
def running_server(settings: Settings, database: Database) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of the whole app (uvicorn in a thread) served as
    ``opschub serve`` serves it; stopped on leaving."""
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
