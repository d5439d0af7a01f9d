"""A fetcher for pages that may hold abuse material, safe to point at any URL a stranger sends.

Safety rules (docs/takedown.md, "The fetcher's safety rules"):

- **No private addresses.** The host is resolved when the connection is made and every address
  is checked *then*, on the address actually connected to, so neither a name that resolves to
  an internal address nor a DNS answer that changes between a check and the connection (DNS
  rebinding) reaches the hotline's own network. Redirects are fetched by this same code, so
  every hop is checked. Only addresses that are globally routable are allowed; the setting
  ``OPSCHUB_FETCH_ALLOWED_ADDRESSES`` lists exceptions (the tests' 127.0.0.1). No proxy from the
  environment is used.
- **Bounded.** Redirects are followed one by one and recorded, with a loop check and a limit;
  bodies are streamed and cut off at a byte limit (a 2 GB answer is never read whole); a page
  links at most ``max_media`` items; connect, read and whole-fetch timeouts.
- **Polite.** At most one request per host every ``host_interval`` seconds; a re-check sends
  ``If-None-Match`` and compares the body's SHA-256 with the previous one, so an unchanged page
  is recognised without being stored again.

The result is a plain :class:`FetchResult` that the evidence vault and the job worker consume;
nothing here writes to the database.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from html.parser import HTMLParser
from typing import Any, ClassVar
from urllib.parse import urldefrag, urljoin, urlsplit

import httpcore
import httpx

from opschub.clock import utcnow

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]


class Outcome(StrEnum):
    ok = "ok"  # 2xx, body read whole
    gone = "gone"  # 404 or 410
    http_error = "http_error"  # another 4xx or 5xx
    unchanged = "unchanged"  # 304 to If-None-Match, or the same SHA-256 as before
    too_large = "too_large"  # body over the byte limit: cut off
    timeout = "timeout"
    redirect_loop = "redirect_loop"
    too_many_redirects = "too_many_redirects"
    refused_address = "refused_address"  # resolves to a private, loopback, ... address
    connection_error = "connection_error"
    bad_url = "bad_url"


class AddressRefused(Exception):
    """Every address of a host is one the fetcher may not connect to."""

    def __init__(self, host: str, addresses: Sequence[str]) -> None:
        self.host = host
        self.addresses = list(addresses)
        shown = ", ".join(addresses) or "no address"
        super().__init__(f"{host} resolves to {shown}: not a public address; refused")


@dataclass(frozen=True)
class FetchPolicy:
    allowed_networks: tuple[IPNetwork, ...] = ()
    max_bytes: int = 50 * 1024 * 1024
    max_media: int = 50
    max_media_bytes: int = 200 * 1024 * 1024
    max_redirects: int = 10
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 120.0
    host_interval: float = 1.0
    user_agent: str = "opschub-fetcher/0.1 (notice and takedown)"

    @classmethod
    def from_settings(cls, settings: Any) -> FetchPolicy:
        return cls(
            allowed_networks=tuple(
                ipaddress.ip_network(a, strict=False) for a in settings.fetch_allowed_addresses
            ),
            max_bytes=settings.fetch_max_bytes,
            max_media=settings.fetch_max_media,
            max_media_bytes=getattr(settings, "fetch_max_media_bytes", cls.max_media_bytes),
            max_redirects=settings.fetch_max_redirects,
            read_timeout=settings.fetch_timeout_seconds,
            connect_timeout=min(10.0, settings.fetch_timeout_seconds),
            total_timeout=settings.fetch_total_timeout_seconds,
            host_interval=settings.fetch_host_interval_seconds,
        )

    def allows(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
        if any(address in network for network in self.allowed_networks):
            return True
        # is_global is False for private, loopback, link-local, shared (CGNAT), reserved,
        # documentation and unspecified addresses; multicast is never a web server.
        return address.is_global and not address.is_multicast


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: dict[str, None] = {}
    for info in infos:
        seen.setdefault(str(info[4][0]).split("%")[0], None)
    return list(seen)


class _SafeBackend(httpcore.SyncBackend):
    """httpcore's socket backend, resolving and checking the address at connect time and
    connecting to the checked address itself (never resolving the name twice)."""

    def __init__(self, policy: FetchPolicy, resolver: Resolver) -> None:
        self.policy = policy
        self.resolver = resolver

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            try:
                addresses = [ipaddress.ip_address(a) for a in self.resolver(host, port)]
            except (OSError, UnicodeError) as exc:
                raise httpcore.ConnectError(f"{host}: does not resolve ({exc})") from exc
        allowed = [a for a in addresses if self.policy.allows(a)]
        if not allowed:
            raise AddressRefused(host, [str(a) for a in addresses])
        last: Exception | None = None
        for address in allowed:
            try:
                return super().connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last


@dataclass(frozen=True)
class Hop:
    """One redirect: the URL asked for, its status, where it pointed, who answered."""

    url: str
    status: int
    location: str
    server_address: str | None

    def to_json(self) -> dict[str, object]:
        return {
            "url": self.url,
            "status": self.status,
            "location": self.location,
            "server_address": self.server_address,
        }


@dataclass
class FetchResult:
    url: str
    outcome: Outcome
    final_url: str
    fetched_at: datetime
    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    server_address: str | None = None
    redirects: list[Hop] = field(default_factory=list)
    body: bytes | None = None  # None for outcomes without a usable body
    size: int = 0  # bytes read (at most the limit)
    sha256: str | None = None  # of the whole body only
    content_type: str | None = None
    etag: str | None = None
    elapsed: float = 0.0
    error: str | None = None

    @property
    def server_addresses(self) -> list[str]:
        """Every address that answered, redirects first."""
        found = [h.server_address for h in self.redirects] + [self.server_address]
        return list(dict.fromkeys(a for a in found if a))

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)

    def to_json(self) -> dict[str, object]:
        """Everything but the body, for records and logs."""
        return {
            "url": self.url,
            "outcome": self.outcome.value,
            "final_url": self.final_url,
            "fetched_at": self.fetched_at.isoformat(),
            "status": self.status,
            "headers": [list(h) for h in self.headers],
            "server_addresses": self.server_addresses,
            "redirects": [h.to_json() for h in self.redirects],
            "size": self.size,
            "sha256": self.sha256,
            "content_type": self.content_type,
            "etag": self.etag,
            "elapsed": round(self.elapsed, 3),
            "error": self.error,
        }


class HostRateLimiter:
    """At most one request per host every ``interval`` seconds (thread-safe)."""

    def __init__(
        self,
        interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, host: str) -> float:
        """Block until ``host`` may be asked again; return the seconds waited."""
        with self._lock:
            now = self.clock()
            start = max(now, self._next.get(host, now))
            self._next[host] = start + self.interval
        delay = start - now
        if delay > 0:
            self.sleep(delay)
        return delay


class _MediaParser(HTMLParser):
    _SOURCES: ClassVar[dict[str, tuple[str, ...]]] = {
        "img": ("src", "srcset"),
        "video": ("src", "poster"),
        "audio": ("src",),
        "source": ("src", "srcset"),
        "embed": ("src",),
        "object": ("data",),
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    # Links (<a href>) count as media when they point at an image or a video file.
    _MEDIA_SUFFIXES = (
        ".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".avif", ".heic",
        ".mp4", ".m4v", ".webm", ".mov", ".avi", ".mkv", ".mpg", ".mpeg", ".wmv", ".3gp",
    )  # fmt: skip

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            for name, value in attrs:
                if name == "href" and value:
                    path = urlsplit(value.strip()).path.lower()
                    if path.endswith(self._MEDIA_SUFFIXES):
                        self.found.append(value.strip())
            return
        names = self._SOURCES.get(tag)
        if not names:
            return
        for name, value in attrs:
            if name not in names or not value:
                continue
            if name == "srcset":
                self.found.extend(p.strip().split(" ")[0] for p in value.split(",") if p.strip())
            else:
                self.found.append(value.strip())


def media_links(html: str, base_url: str) -> list[str]:
    """Absolute http(s) URLs of the images, videos and other media a page embeds, in page
    order, without duplicates."""
    parser = _MediaParser()
    parser.feed(html)
    parser.close()
    links: dict[str, None] = {}
    for raw in parser.found:
        url = urldefrag(urljoin(base_url, raw)).url
        if urlsplit(url).scheme in ("http", "https"):
            links.setdefault(url, None)
    return list(links)


@dataclass
class PageCapture:
    page: FetchResult
    media: list[FetchResult]
    media_found: int  # links found on the page; more than len(media) when over the limit

    @property
    def media_skipped(self) -> int:
        return self.media_found - len(self.media)


class SafeFetcher:
    """Fetch URLs under a :class:`FetchPolicy`. One instance is shared by a worker's threads
    (its connection pool and per-host limiter are thread-safe)."""

    def __init__(
        self,
        policy: FetchPolicy | None = None,
        *,
        resolver: Resolver = system_resolver,
        limiter: HostRateLimiter | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.policy = policy or FetchPolicy()
        self.limiter = limiter or HostRateLimiter(self.policy.host_interval)
        transport = httpx.HTTPTransport(retries=0)
        # httpx has no public hook for the socket layer; its transport wraps an httpcore pool,
        # which takes a network backend. tests/takedown prove the check still happens.
        transport._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(),
            max_connections=20,
            max_keepalive_connections=10,
            network_backend=_SafeBackend(self.policy, resolver),
        )
        self.client = httpx.Client(
            transport=transport,
            trust_env=False,  # never through a proxy named in the environment
            follow_redirects=False,  # each hop is recorded and checked here
            timeout=httpx.Timeout(self.policy.read_timeout, connect=self.policy.connect_timeout),
            headers={"User-Agent": self.policy.user_agent},
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> SafeFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        previous_sha256: str | None = None,
        max_bytes: int | None = None,
        last_modified: str | None = None,
    ) -> FetchResult:
        """Fetch ``url`` following redirects; never raises for anything the remote side does.

        ``etag`` and ``previous_sha256`` come from the last fetch of the same URL: a 304 or an
        identical body gives :attr:`Outcome.unchanged`; ``last_modified`` (the earlier
        Last-Modified) is sent as If-Modified-Since."""
        limit = self.policy.max_bytes if max_bytes is None else max_bytes
        started = time.monotonic()
        result = FetchResult(url, Outcome.bad_url, url, utcnow())
        seen = {url}
        current = url
        try:
            while True:
                parts = urlsplit(current)
                if parts.scheme not in ("http", "https") or not parts.hostname:
                    result.error = f"{current!r} is not an http(s) URL with a host"
                    return result
                self.limiter.wait(parts.hostname)
                headers = {"If-None-Match": etag} if etag else {}
                if last_modified:
                    headers["If-Modified-Since"] = last_modified
                remaining = self.policy.total_timeout - (time.monotonic() - started)
                if remaining <= 0:
                    raise httpx.ReadTimeout("whole-fetch time limit reached")
                with self.client.stream("GET", current, headers=headers) as response:
                    address = _server_address(response)
                    location = response.headers.get("location")
                    if response.is_redirect and location:
                        target = urldefrag(urljoin(current, location)).url
                        result.redirects.append(Hop(current, response.status_code, target, address))
                        if target in seen:
                            result.outcome = Outcome.redirect_loop
                            result.error = f"redirect loop back to {target}"
                            return result
                        if len(result.redirects) > self.policy.max_redirects:
                            result.outcome = Outcome.too_many_redirects
                            result.error = f"more than {self.policy.max_redirects} redirects"
                            return result
                        seen.add(target)
                        current = target
                        continue
                    result.final_url = current
                    result.server_address = address
                    self._read(response, result, limit, previous_sha256, started)
                    return result
        except AddressRefused as exc:
            result.outcome = Outcome.refused_address
            result.final_url = current
            result.error = str(exc)
        except httpx.TimeoutException as exc:
            result.outcome = Outcome.timeout
            result.final_url = current
            result.error = f"timed out: {exc or type(exc).__name__}"
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            result.outcome = Outcome.bad_url
            result.error = str(exc)
        except (httpx.TransportError, httpx.DecodingError) as exc:
            result.outcome = Outcome.connection_error
            result.final_url = current
            result.error = str(exc) or type(exc).__name__
        finally:
            result.elapsed = time.monotonic() - started
        return result

    def _read(
        self,
        response: httpx.Response,
        result: FetchResult,
        limit: int,
        previous_sha256: str | None,
        started: float,
    ) -> None:
        result.status = response.status_code
        result.headers = list(response.headers.multi_items())
        result.content_type = response.headers.get("content-type")
        result.etag = response.headers.get("etag")
        if response.status_code == 304:
            result.outcome = Outcome.unchanged
            return
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            result.outcome = Outcome.too_large
            result.error = f"declared {int(declared)} bytes, over the limit of {limit}"
            return  # not one byte read
        digest = hashlib.sha256()
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            if time.monotonic() - started > self.policy.total_timeout:
                raise httpx.ReadTimeout("whole-fetch time limit reached while reading")
            take = chunk[: max(0, limit - size)]
            chunks.append(take)
            digest.update(take)
            size += len(take)
            if len(take) < len(chunk):
                result.outcome = Outcome.too_large
                result.size = size
                result.body = b"".join(chunks)  # the first ``limit`` bytes, no hash
                result.error = f"more than {limit} bytes; cut off"
                return
        result.size = size
        result.body = b"".join(chunks)
        result.sha256 = digest.hexdigest()
        if response.status_code in (404, 410):
            result.outcome = Outcome.gone
        elif response.status_code >= 400:
            result.outcome = Outcome.http_error
        elif previous_sha256 and previous_sha256 == result.sha256:
            result.outcome = Outcome.unchanged
        else:
            result.outcome = Outcome.ok

    def capture(self, url: str) -> PageCapture:
        """The page and the media it embeds (at most ``max_media`` of them)."""
        page = self.fetch(url)
        links: list[str] = []
        if page.outcome == Outcome.ok and page.body and _is_html(page.content_type):
            try:
                text = page.body.decode(_charset(page.content_type) or "utf-8", errors="replace")
            except LookupError:  # a charset Python does not know
                text = page.body.decode("utf-8", errors="replace")
            links = media_links(text, page.final_url)
        media = [
            self.fetch(link, max_bytes=self.policy.max_media_bytes)
            for link in links[: self.policy.max_media]
        ]
        return PageCapture(page, media, len(links))


def _server_address(response: httpx.Response) -> str | None:
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    peer = stream.get_extra_info("server_addr")
    return str(peer[0]) if peer else None


def _is_html(content_type: str | None) -> bool:
    if not content_type:
        return False
    return content_type.split(";")[0].strip().lower() in ("text/html", "application/xhtml+xml")


def _charset(content_type: str | None) -> str | None:
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return None
