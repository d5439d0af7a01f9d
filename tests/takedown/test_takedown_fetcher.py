"""The safe fetcher against a real HTTP server on 127.0.0.1 serving generated, benign pages and
images. The server's address is allowed only where a test says so, as the setting would."""

from __future__ import annotations

import hashlib
import io
import ipaddress
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from loopback import self_signed
from opschub.takedown.fetcher import (
    FetchPolicy,
    HostRateLimiter,
    Outcome,
    SafeFetcher,
    media_links,
)


def generated_png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(buffer, format="PNG")
    return buffer.getvalue()


IMAGES = {f"/img/{n}.png": generated_png((40 * n, 100, 200)) for n in range(4)}
PAGE = (
    b"<html><body><h1>Test page</h1>"
    b'<img src="/img/0.png"><img src="img/1.png" srcset="/img/2.png 2x">'
    b'<video poster="/img/3.png"></video><img src="/img/0.png#dup"></body></html>'
)
HUGE = 2_000_000_000  # declared; the server stops writing when the client goes away


class Handler(BaseHTTPRequestHandler):
    requests: list[str]  # set on the subclass per server

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def send(self, status: int, body: bytes, content_type: str = "text/html") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", '"' + hashlib.sha256(body).hexdigest()[:16] + '"')
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self.requests.append(self.path)
        path = self.path
        if path == "/page":
            etag = '"' + hashlib.sha256(PAGE).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send(200, PAGE, "text/html; charset=utf-8")
        elif path in IMAGES:
            self.send(200, IMAGES[path], "image/png")
        elif path == "/gone":
            self.send(410, b"removed")
        elif path == "/missing":
            self.send(404, b"not here")
        elif path == "/loop-a":
            self.redirect("/loop-b")
        elif path == "/loop-b":
            self.redirect("/loop-a")
        elif path.startswith("/hop/"):
            n = int(path.rsplit("/", 1)[1])
            self.redirect(f"/hop/{n - 1}" if n > 0 else "/page")
        elif path == "/to-metadata":
            self.redirect("http://169.254.169.254/latest/meta-data/")
        elif path == "/huge":
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(HUGE))
            self.end_headers()
            self.stream_until_closed()
        elif path == "/huge-chunked":
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.stream_until_closed(chunked=True)
        elif path == "/slow":
            time.sleep(1.5)
            self.send(200, b"late")
        else:
            self.send(404, b"unknown")

    def stream_until_closed(self, chunked: bool = False) -> None:
        block = b"\0" * 65536
        try:
            for _ in range(HUGE // len(block)):
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
                else:
                    self.wfile.write(block)
        except OSError:
            return  # the fetcher hung up: that is the point


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, list[str]]]:
    requests: list[str] = []
    handler = type("TestHandler", (Handler,), {"requests": requests})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", requests
    httpd.shutdown()
    httpd.server_close()


def make_policy(**changes: object) -> FetchPolicy:
    values: dict[str, object] = {
        "allowed_networks": (ipaddress.ip_network("127.0.0.1/32"),),
        "host_interval": 0.0,
        "max_bytes": 256 * 1024,
        "read_timeout": 0.5,
        "connect_timeout": 0.5,
        "total_timeout": 10.0,
    }
    values.update(changes)
    return FetchPolicy(**values)  # type: ignore[arg-type]


@pytest.fixture
def fetcher() -> Iterator[SafeFetcher]:
    with SafeFetcher(make_policy()) as f:
        yield f


def test_a_private_address_is_refused_by_default_before_any_request(
    server: tuple[str, list[str]],
) -> None:
    base, requests = server
    before = len(requests)
    with SafeFetcher(FetchPolicy(host_interval=0)) as default:
        for url in (f"{base}/page", "http://localhost:9/", "http://[::ffff:127.0.0.1]:9/"):
            result = default.fetch(url)
            assert result.outcome == Outcome.refused_address, url
            assert "not a public address; refused" in (result.error or "")
    assert len(requests) == before  # the server never saw a request


def test_the_check_is_made_on_the_resolved_address(server: tuple[str, list[str]]) -> None:
    base, requests = server
    port = base.rsplit(":", 1)[1]
    # A public-looking name that resolves to a private address (a rebinding attack).
    before = len(requests)
    with SafeFetcher(make_policy(), resolver=lambda host, p: ["10.1.2.3"]) as f:
        result = f.fetch(f"http://innocent.example:{port}/page")
    assert result.outcome == Outcome.refused_address
    assert len(requests) == before
    assert "innocent.example resolves to 10.1.2.3" in (result.error or "")
    # The allowed test address is reached through a name that resolves to it.
    with SafeFetcher(make_policy(), resolver=lambda host, p: ["127.0.0.1"]) as f:
        result = f.fetch(f"http://test-site.example:{port}/page")
    assert result.outcome == Outcome.ok
    assert result.server_addresses == ["127.0.0.1"]


def test_https_checks_the_certificate_against_the_name_not_the_address(
    tmp_path: Path,
) -> None:
    cert, key = self_signed(tmp_path)
    requests: list[str] = []
    handler = type("TLSHandler", (Handler,), {"requests": requests})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    httpd.socket = server_tls.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    port = httpd.server_address[1]
    client_tls = ssl.create_default_context(cafile=str(cert))
    try:
        with SafeFetcher(make_policy(), ssl_context=client_tls) as f:
            result = f.fetch(f"https://127.0.0.1:{port}/page")
        assert (result.outcome, result.body) == (Outcome.ok, PAGE)
        # The connection goes to the checked address, but TLS still verifies the host name.
        resolver = lambda host, p: ["127.0.0.1"]  # noqa: E731
        with SafeFetcher(make_policy(), ssl_context=client_tls, resolver=resolver) as f:
            result = f.fetch(f"https://other-name.example:{port}/page")
        assert result.outcome == Outcome.connection_error
        assert "certificate" in (result.error or "").lower()
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_redirect_to_a_private_address_is_refused_and_recorded(
    fetcher: SafeFetcher, server: tuple[str, list[str]]
) -> None:
    base, _ = server
    result = fetcher.fetch(f"{base}/to-metadata")
    assert result.outcome == Outcome.refused_address
    assert [(h.status, h.location) for h in result.redirects] == [
        (302, "http://169.254.169.254/latest/meta-data/")
    ]
    assert result.final_url == "http://169.254.169.254/latest/meta-data/"


def test_a_page_is_fetched_with_status_headers_address_and_hash(
    fetcher: SafeFetcher, server: tuple[str, list[str]]
) -> None:
    base, _ = server
    result = fetcher.fetch(f"{base}/hop/2")
    assert result.outcome == Outcome.ok and result.status == 200
    assert result.final_url == f"{base}/page"
    assert [h.location for h in result.redirects] == [
        f"{base}/hop/1",
        f"{base}/hop/0",
        f"{base}/page",
    ]
    assert result.body == PAGE
    assert result.sha256 == hashlib.sha256(PAGE).hexdigest()
    assert result.header("content-type") == "text/html; charset=utf-8"
    assert result.server_addresses == ["127.0.0.1"]
    assert result.to_json()["redirects"][0]["status"] == 302  # type: ignore[index]


@pytest.mark.parametrize(("path", "status"), [("/gone", 410), ("/missing", 404)])
def test_404_and_410_mean_gone(
    fetcher: SafeFetcher, server: tuple[str, list[str]], path: str, status: int
) -> None:
    result = fetcher.fetch(server[0] + path)
    assert (result.outcome, result.status) == (Outcome.gone, status)


def test_a_redirect_loop_ends_with_a_recorded_outcome(
    fetcher: SafeFetcher, server: tuple[str, list[str]]
) -> None:
    base, _ = server
    result = fetcher.fetch(f"{base}/loop-a")
    assert result.outcome == Outcome.redirect_loop
    assert [h.url for h in result.redirects] == [f"{base}/loop-a", f"{base}/loop-b"]
    with SafeFetcher(make_policy(max_redirects=3)) as strict:
        result = strict.fetch(f"{base}/hop/9")
    assert result.outcome == Outcome.too_many_redirects and len(result.redirects) == 4


def test_a_2gb_response_is_cut_off_without_being_read(
    fetcher: SafeFetcher, server: tuple[str, list[str]]
) -> None:
    base, _ = server
    declared = fetcher.fetch(f"{base}/huge")
    assert declared.outcome == Outcome.too_large
    assert declared.size == 0 and declared.body is None  # refused on Content-Length alone
    chunked = fetcher.fetch(f"{base}/huge-chunked")
    assert chunked.outcome == Outcome.too_large
    assert chunked.size == 256 * 1024 and chunked.sha256 is None
    assert chunked.body is not None and len(chunked.body) == 256 * 1024


def test_a_server_that_does_not_answer_times_out(
    fetcher: SafeFetcher, server: tuple[str, list[str]]
) -> None:
    result = fetcher.fetch(server[0] + "/slow")
    assert result.outcome == Outcome.timeout
    assert result.status is None and result.body is None


def test_a_recheck_uses_the_etag_and_the_previous_hash(
    fetcher: SafeFetcher, server: tuple[str, list[str]]
) -> None:
    base, _ = server
    first = fetcher.fetch(f"{base}/page")
    again = fetcher.fetch(f"{base}/page", etag=first.etag)
    assert (again.outcome, again.status, again.body) == (Outcome.unchanged, 304, None)
    same = fetcher.fetch(f"{base}/page", previous_sha256=first.sha256)
    assert (same.outcome, same.status) == (Outcome.unchanged, 200)
    changed = fetcher.fetch(f"{base}/page", previous_sha256="0" * 64)
    assert changed.outcome == Outcome.ok


def test_capture_fetches_the_page_media_up_to_the_limit(server: tuple[str, list[str]]) -> None:
    base, _ = server
    with SafeFetcher(make_policy(max_media=3)) as f:
        capture = f.capture(f"{base}/page")
    assert capture.page.outcome == Outcome.ok
    assert capture.media_found == 4 and capture.media_skipped == 1
    assert [m.final_url for m in capture.media] == [f"{base}/img/{n}.png" for n in range(3)]
    assert [m.body for m in capture.media] == [IMAGES[f"/img/{n}.png"] for n in range(3)]


def test_media_links_resolves_relative_links_and_drops_other_schemes() -> None:
    html = (
        '<img src="a.png"><img src="data:image/png;base64,AA"><source srcset="b.jpg 1x, c.jpg 2x">'
    )
    assert media_links(html, "https://site.example/dir/page") == [
        "https://site.example/dir/a.png",
        "https://site.example/dir/b.jpg",
        "https://site.example/dir/c.jpg",
    ]


def test_requests_to_one_host_are_spaced_and_other_hosts_are_not_held_up() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = HostRateLimiter(2.0, clock=lambda: now[0], sleep=sleep)
    assert limiter.wait("a.example") == 0
    assert limiter.wait("b.example") == 0
    assert limiter.wait("a.example") == 2.0
    now[0] += 5
    assert limiter.wait("a.example") == 0
    assert slept == [2.0]


def test_the_allowed_addresses_setting_reaches_the_policy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from opschub import config

    monkeypatch.setenv("OPSCHUB_FETCH_ALLOWED_ADDRESSES", "127.0.0.1, 10.9.0.0/16")
    config.get_settings.cache_clear()
    policy = FetchPolicy.from_settings(config.get_settings())
    assert policy.allows(ipaddress.ip_address("10.9.3.4"))
    assert not policy.allows(ipaddress.ip_address("10.8.0.1"))
    assert not FetchPolicy().allows(ipaddress.ip_address("127.0.0.1"))
    assert FetchPolicy().allows(ipaddress.ip_address("8.8.8.8"))
    monkeypatch.setenv("OPSCHUB_FETCH_ALLOWED_ADDRESSES", "not-an-address")
    config.get_settings.cache_clear()
    with pytest.raises(config.SettingsError, match="OPSCHUB_FETCH_ALLOWED_ADDRESSES"):
        config.load_settings()
