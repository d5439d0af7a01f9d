"""Is it still there? One re-check of a notified URL, politely.

:func:`recheck_url` asks for the page with what the last re-check saw (``If-None-Match`` with the
ETag, ``If-Modified-Since`` with Last-Modified): a 304, or a body with the same SHA-256 as before,
means unchanged and nothing more is fetched. A changed page is searched for the confirmed items:
each medium it embeds is asked for conditionally too, and one whose ETag or hash says it has not
changed keeps its earlier hash without being downloaded again. The outcome is

- ``gone``: 404 or 410, or none of the confirmed items' SHA-256 among the page (or its media);
- ``unchanged``: 304 or the same page hash;
- ``changed``: the page changed, but a confirmed item is still among its media;
- ``still_there``: first look, a confirmed item is there;
- ``error``: could not tell (timeout, refused, 5xx ...): nothing is concluded.

Every request waits for the host's turn in a per-host limiter; :class:`RedisHostLimiter` shares
the turns between all workers (``OPSCHUB_REDIS_URL``), :class:`opschub.takedown.fetcher.
HostRateLimiter` is the in-process one. Pure apart from the fetcher: no database.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opschub.clock import utcnow
from opschub.takedown.fetcher import (
    FetchResult,
    Outcome,
    SafeFetcher,
    _charset,
    _is_html,
    media_links,
)

GONE, UNCHANGED, CHANGED, STILL_THERE, ERROR = (
    "gone",
    "unchanged",
    "changed",
    "still_there",
    "error",
)


@dataclass
class RecheckResult:
    url: str
    outcome: str
    checked_at: datetime
    status: int | None = None
    fetch_outcome: str | None = None
    validators: dict[str, Any] = field(default_factory=dict)
    downloaded: int = 0  # responses with a body read (a 304 reads none)
    requests: int = 0
    detail: str | None = None


def _validators(result: FetchResult, sha256: str | None) -> dict[str, Any]:
    return {
        "etag": result.etag,
        "last_modified": result.header("last-modified"),
        "sha256": sha256,
    }


def recheck_url(
    fetcher: SafeFetcher,
    url: str,
    item_sha256s: Collection[str],
    previous: dict[str, Any] | None = None,
) -> RecheckResult:
    """Look at ``url`` again; ``previous`` is the ``validators`` of the last re-check."""
    previous = previous or {}
    items = set(item_sha256s)
    page_before = previous.get("page") or {}
    checked = RecheckResult(url, ERROR, utcnow())
    page = fetcher.fetch(
        url,
        etag=page_before.get("etag"),
        last_modified=page_before.get("last_modified"),
        previous_sha256=page_before.get("sha256"),
    )
    checked.requests += 1
    checked.status, checked.fetch_outcome = page.status, page.outcome.value
    if page.body is not None and page.status != 304:
        checked.downloaded += 1
    if page.outcome == Outcome.gone:
        checked.outcome = GONE
        checked.detail = f"HTTP {page.status}"
        return checked
    if page.outcome == Outcome.unchanged:
        checked.outcome = UNCHANGED
        kept = dict(previous)
        page_now = dict(page_before)
        if page.etag:
            page_now["etag"] = page.etag
        kept["page"] = page_now
        checked.validators = kept
        checked.detail = "not modified" if page.status == 304 else "same content as before"
        return checked
    if page.outcome != Outcome.ok or page.body is None:
        checked.detail = page.error or f"fetch outcome {page.outcome.value}"
        checked.validators = dict(previous)
        return checked
    validators: dict[str, Any] = {"page": _validators(page, page.sha256), "media": {}}
    found = page.sha256 in items
    unreadable: list[str] = []
    if not found and _is_html(page.content_type):
        text = page.body.decode(_charset(page.content_type) or "utf-8", errors="replace")
        media_before: dict[str, Any] = previous.get("media") or {}
        links = media_links(text, page.final_url)[: fetcher.policy.max_media]
        # Media that held a confirmed item last time first: the answer is usually there.
        links.sort(key=lambda link: (media_before.get(link) or {}).get("sha256") not in items)
        for link in links:
            before = media_before.get(link) or {}
            medium = fetcher.fetch(
                link,
                etag=before.get("etag"),
                last_modified=before.get("last_modified"),
                previous_sha256=before.get("sha256"),
                max_bytes=fetcher.policy.max_media_bytes,
            )
            checked.requests += 1
            if medium.body is not None and medium.status != 304:
                checked.downloaded += 1
            if medium.outcome == Outcome.unchanged:
                sha = before.get("sha256")
                entry = dict(before)
            elif medium.outcome == Outcome.ok:
                sha = medium.sha256
                entry = _validators(medium, sha)
            else:
                if medium.outcome != Outcome.gone:  # a medium we could not read: cannot tell
                    unreadable.append(f"{link}: {medium.error or medium.outcome.value}")
                continue
            validators["media"][link] = entry
            if sha in items:
                found = True
                break
    checked.validators = validators
    if not found and unreadable:
        checked.validators = dict(previous)
        checked.detail = "could not read every medium: " + "; ".join(unreadable[:3])
        return checked
    if not found:
        checked.outcome = GONE
        checked.detail = "none of the confirmed items is on the page any more"
    elif page_before.get("sha256") and page_before.get("sha256") != page.sha256:
        checked.outcome = CHANGED
        checked.detail = "the page changed; a confirmed item is still there"
    else:
        checked.outcome = STILL_THERE if not page_before else CHANGED
        checked.detail = "a confirmed item is still there"
    return checked


class RedisHostLimiter:
    """At most one request per host every ``interval`` seconds, across every worker that shares
    the Redis server: each caller reserves the host's next free slot atomically (server time)."""

    _SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(now, nxt)
local interval = tonumber(ARGV[1])
local ttl = math.floor((start + interval - now) / 1000) + 1000
redis.call('SET', KEYS[1], tostring(start + interval), 'PX', ttl)
return tostring(start - now)
"""

    def __init__(
        self,
        url: str,
        interval: float,
        *,
        prefix: str = "opschub:recheck:host:",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import redis

        self.interval = interval
        self.prefix = prefix
        self.sleep = sleep
        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
        self._reserve = self.client.register_script(self._SCRIPT)

    def wait(self, host: str) -> float:
        """Block until ``host`` may be asked again; return the seconds waited."""
        micros = int(self.interval * 1_000_000)
        delay = float(self._reserve(keys=[self.prefix + host.lower()], args=[micros])) / 1e6
        if delay > 0:
            self.sleep(delay)
        return delay


def fetcher_from_settings(settings: Any) -> SafeFetcher:
    """The re-check fetcher: the capture policy, the re-check per-host interval, shared by Redis
    when one is configured."""
    from dataclasses import replace

    from opschub.takedown.fetcher import FetchPolicy, HostRateLimiter

    policy = replace(
        FetchPolicy.from_settings(settings), host_interval=settings.recheck_host_interval_seconds
    )
    limiter: Any
    if settings.shared_redis_url:
        limiter = RedisHostLimiter(settings.shared_redis_url, policy.host_interval)
    else:
        limiter = HostRateLimiter(policy.host_interval)
    return SafeFetcher(policy, limiter=limiter)
