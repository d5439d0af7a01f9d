"""The network half of a capture: fetch a page and its media, hash and match each medium, look up
where the server is. No database: :func:`opschub.takedown.service.record_capture` stores the
result in one transaction, so a capture is recorded whole or not at all.

Every remote misbehaviour (unreachable, timeout, redirect loop, 2 GB answer) comes back as an
outcome from :class:`~opschub.takedown.fetcher.SafeFetcher`; nothing here waits without a limit.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from opschub.takedown.fetcher import (
    FetchPolicy,
    FetchResult,
    Outcome,
    Resolver,
    SafeFetcher,
    system_resolver,
)
from opschub.takedown.service import Captured, CapturedMedium

MEDIA_TYPES = ("image", "video")
# How host names become addresses; the tests point names at their local server.
RESOLVER: Resolver = system_resolver


def make_fetcher(settings: Any) -> SafeFetcher:
    return SafeFetcher(FetchPolicy.from_settings(settings), resolver=RESOLVER)


def _kind(result: FetchResult) -> tuple[str, str | None]:
    from opschub.evidence.service import sniff_media_type

    declared = (result.content_type or "").split(";")[0].strip().lower() or None
    sniffed = sniff_media_type((result.body or b"")[:512], result.final_url.rsplit("/", 1)[-1])
    for candidate in (declared, sniffed):
        if candidate and candidate.split("/")[0] in MEDIA_TYPES:
            return candidate.split("/")[0], candidate
    return "other", declared or sniffed


def first_frame_png(data: bytes) -> bytes | None:
    """The first decodable frame of a video as PNG (its PDQ stands for the video)."""
    try:
        import av
    except ImportError:  # pragma: no cover - PyAV is a dependency
        return None
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                return None
            for frame in container.decode(container.streams.video[0]):
                out = io.BytesIO()
                frame.to_image().save(out, format="PNG")
                return out.getvalue()
    except (av.FFmpegError, ValueError, OSError):
        return None
    return None


def hash_and_match(medium: CapturedMedium, store: Any, sha256: str, md5: str) -> None:
    """PDQ (images; the first frame of a video) and matches against every hash list, with
    dihedral and border-trimmed variants."""
    from opschub.matching.formats import Entry
    from opschub.matching.hashing import query_hashes_from_bytes

    assert medium.body is not None
    picture = medium.body if medium.kind == "image" else first_frame_png(medium.body)
    queries: list[Any] = [Entry("sha256", sha256), Entry("md5", md5)]
    if picture is not None:
        hashes, variants = query_hashes_from_bytes(picture, medium.url)
        if hashes.error is None and hashes.pdq is not None:
            medium.pdq, medium.pdq_quality = hashes.pdq, hashes.quality
            queries.extend(variants)
    if store is None:
        return
    try:
        found = store.match(queries)
    except (OSError, ValueError, Exception):  # a damaged list must not lose the capture
        return
    seen: set[tuple[str, str, str]] = set()
    for matches in found:
        for match in matches:
            key = (match.list, match.hash_type, match.hash)
            if key not in seen:
                seen.add(key)
                medium.matches.append(match.to_json())


def _medium(result: FetchResult, store: Any) -> CapturedMedium:
    import hashlib

    kind, media_type = _kind(result)
    body = result.body if result.outcome in (Outcome.ok, Outcome.unchanged) else None
    if kind == "other":
        body = None  # pages, scripts, audio: recorded, not assessed
    medium = CapturedMedium(
        url=result.final_url, fetch=result.to_json(), body=body, media_type=media_type, kind=kind
    )
    if body is not None:
        sha256, md5 = hashlib.sha256(body).hexdigest(), hashlib.md5(body).hexdigest()
        hash_and_match(medium, store, sha256, md5)
    return medium


def hosting_answer(address: str | None, directory: Path) -> dict[str, Any]:
    """What the loaded hosting data say about the server's address (no network look-up)."""
    from opschub.takedown.hosting import HostingData, HostingDataError

    if not address:
        return {"error": "no server address (nothing answered)"}
    data = HostingData(directory)
    try:
        if not data.has_data():
            return {"ip": address, "error": "no hosting data loaded"}
        answers = data.lookup(address)
    except (HostingDataError, OSError, ValueError) as exc:
        return {"ip": address, "error": str(exc)[:300]}
    if not answers:
        return {"ip": address, "error": "no answer"}
    return answers[0].to_json()


def capture_url(
    url: str, fetcher: SafeFetcher, *, store: Any = None, hosting_dir: Path | None = None
) -> Captured:
    """Fetch ``url`` and what it embeds; never raises for what the remote side does."""
    page_capture = fetcher.capture(url)
    page = page_capture.page
    media = [_medium(result, store) for result in page_capture.media]
    page_kind, page_type = _kind(page)
    page_body = page.body if page.outcome == Outcome.ok else None
    if page_kind != "other" and page_body is not None:
        # The URL is itself an image or a video: the page is the medium.
        media.insert(0, _medium(page, store))
        page_body = None
    address = page.server_address or (page.server_addresses[0] if page.server_addresses else None)
    return Captured(
        page=page.to_json(),
        outcome=page.outcome.value,
        error=page.error,
        page_body=page_body,
        page_media_type=page_type,
        media=media,
        media_found=page_capture.media_found + (1 if page_kind != "other" else 0),
        hosting=hosting_answer(address, hosting_dir) if hosting_dir else {},
    )
