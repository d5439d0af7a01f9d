"""Re-checks until removal against a real local web server: 404, 410, the item's hash gone from
the page, a changed page still carrying the item, ETag and Last-Modified answered with 304
(nothing downloaded again), re-notification after the interval and escalation with injected time,
and the per-host limit shared through Redis."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from notice_helpers import (
    ITEM,
    ITEM2,
    T0,
    Mailbox,
    confirmed_target,
    free_port,
    jobs_like,
    run,
    sha,
    smtp_server,
)
from sqlalchemy import select

from loopback import Resource, Site
from opschub import config
from opschub.clock import as_utc, frozen
from opschub.db import Database
from opschub.takedown import notifying
from opschub.takedown.fetcher import FetchPolicy, HostRateLimiter, SafeFetcher
from opschub.takedown.notice_models import Notice, Recheck
from opschub.takedown.recheck import RedisHostLimiter, recheck_url


def page(*images: str) -> bytes:
    tags = "".join(f'<img src="{src}" alt="">' for src in images)
    return f"<!doctype html><title>t</title><p>gallery</p>{tags}".encode()


@pytest.fixture
def fetcher() -> Iterator[SafeFetcher]:
    policy = FetchPolicy(
        allowed_networks=FetchPolicy.from_settings(_loopback()).allowed_networks, host_interval=0
    )
    with SafeFetcher(policy, limiter=HostRateLimiter(0)) as safe:
        yield safe


def _loopback() -> config.Settings:
    return config.Settings(fetch_allowed_addresses=("127.0.0.1",))


@pytest.fixture
def site() -> Iterator[tuple[Site, str]]:
    with Site() as site:
        yield site, site.url()


def test_404_and_410_are_gone(fetcher: SafeFetcher, site: tuple[Site, str]) -> None:
    served, base = site
    served.routes["/gone"] = Resource(410, b"gone", "text/plain")
    assert recheck_url(fetcher, f"{base}/missing", [sha(ITEM)]).outcome == "gone"
    result = recheck_url(fetcher, f"{base}/gone", [sha(ITEM)])
    assert (result.outcome, result.status) == ("gone", 410)


def test_a_page_without_the_items_hash_is_gone_and_with_it_still_there(
    fetcher: SafeFetcher, site: tuple[Site, str]
) -> None:
    served, base = site
    served.routes["/a.png"] = Resource(200, ITEM, "image/png")
    served.routes["/b.png"] = Resource(200, ITEM2, "image/png")
    served.routes["/p"] = Resource(200, page("/b.png", "/a.png"))
    first = recheck_url(fetcher, f"{base}/p", [sha(ITEM)])
    assert first.outcome == "still_there"
    served.routes["/p"] = Resource(200, page("/b.png"))
    later = recheck_url(fetcher, f"{base}/p", [sha(ITEM)], first.validators)
    assert later.outcome == "gone" and "none of the confirmed items" in (later.detail or "")


def test_a_changed_page_that_still_carries_the_item_is_changed(
    fetcher: SafeFetcher, site: tuple[Site, str]
) -> None:
    served, base = site
    served.routes["/a.png"] = Resource(200, ITEM, "image/png", etag='"img-1"')
    served.routes["/p"] = Resource(200, page("/a.png"))
    first = recheck_url(fetcher, f"{base}/p", [sha(ITEM)])
    served.routes["/p"] = Resource(200, page("/a.png") + b"<p>new comment</p>")
    served.requests.clear()
    later = recheck_url(fetcher, f"{base}/p", [sha(ITEM)], first.validators)
    assert later.outcome == "changed"
    # The image was asked for with its ETag and answered 304: not downloaded again.
    assert [(path, answer) for path, answer, _ in served.requests] == [
        ("/p", "200"),
        ("/a.png", "304"),
    ]
    assert later.downloaded == 1


def test_an_etag_or_last_modified_answered_304_downloads_nothing(
    fetcher: SafeFetcher, site: tuple[Site, str]
) -> None:
    served, base = site
    served.routes["/e.png"] = Resource(200, ITEM, "image/png", etag='"v1"')
    served.routes["/m.png"] = Resource(
        200, ITEM, "image/png", last_modified="Tue, 01 Dec 2026 08:00:00 GMT"
    )
    for path, header in (("/e.png", "If-None-Match"), ("/m.png", "If-Modified-Since")):
        first = recheck_url(fetcher, f"{base}{path}", [sha(ITEM)])
        assert first.outcome == "still_there" and first.downloaded == 1
        served.requests.clear()
        again = recheck_url(fetcher, f"{base}{path}", [sha(ITEM)], first.validators)
        assert again.outcome == "unchanged" and again.downloaded == 0
        [(_, answer, headers)] = served.requests
        assert answer == "304" and header in headers


def test_the_same_body_again_is_unchanged_by_hash(
    fetcher: SafeFetcher, site: tuple[Site, str]
) -> None:
    served, base = site
    served.routes["/n.png"] = Resource(200, ITEM, "image/png")
    first = recheck_url(fetcher, f"{base}/n.png", [sha(ITEM)])
    again = recheck_url(fetcher, f"{base}/n.png", [sha(ITEM)], first.validators)
    assert again.outcome == "unchanged"


def test_a_medium_that_cannot_be_read_is_not_taken_for_removal(
    fetcher: SafeFetcher, site: tuple[Site, str]
) -> None:
    served, base = site
    served.routes["/a.png"] = Resource(503, b"busy", "text/plain")
    served.routes["/p"] = Resource(200, page("/a.png"))
    result = recheck_url(fetcher, f"{base}/p", [sha(ITEM)])
    assert result.outcome == "error" and "could not read every medium" in (result.detail or "")


def test_a_server_that_cannot_be_reached_concludes_nothing(fetcher: SafeFetcher) -> None:
    result = recheck_url(fetcher, f"http://127.0.0.1:{free_port()}/x", [sha(ITEM)])
    assert result.outcome == "error" and result.detail


# -- the whole loop with the job worker, time injected ------------------------------------------


def configure(monkeypatch: pytest.MonkeyPatch, **values: object) -> None:
    for name, value in values.items():
        monkeypatch.setenv(f"OPSCHUB_{name.upper()}", str(value))
    config.get_settings.cache_clear()


def _notices(database: Database, target_id: str) -> list[Notice]:
    with database.read() as session:
        rows = notifying.notices_of(session, target_id)
        for row in rows:
            session.expunge(row)
        return rows


def _due_recheck(database: Database, target_id: str) -> str:
    keys = [
        j.key for j in jobs_like(database, f"takedown.recheck:{target_id}:") if j.state == "queued"
    ]
    assert len(keys) == 1, keys
    return keys[0]


def test_still_there_is_notified_again_after_24_hours_escalated_after_72_then_removal_recorded(
    database: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, site: tuple[Site, str]
) -> None:
    served, base = site
    served.routes["/a.png"] = Resource(200, ITEM, "image/png", etag='"a"')
    served.routes["/p"] = Resource(200, page("/a.png"), etag='"p1"')
    mailbox = Mailbox()
    with smtp_server(tmp_path, mailbox) as (port, cert):
        configure(
            monkeypatch,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_ca_file=cert,
            notice_police_address="cyber@police.example",
            fetch_allowed_addresses="127.0.0.1",
            recheck_host_interval_seconds=0,
            recheck_interval_minutes=360,
        )
        with frozen(T0):
            target_id = confirmed_target(database, f"{base}/p")
            with database.transaction() as session:
                notifying.create_notices(session, target_id)
            host, police = sorted(_notices(database, target_id), key=lambda n: n.recipient_kind)
            assert (host.recipient_kind, police.recipient_kind) == ("host", "police")
            assert run(database, f"takedown.notice_send:{host.id}:1") == "done"
            assert run(database, f"takedown.notice_send:{police.id}:1") == "done"
        assert len(mailbox.messages) == 2
        # Six hours later: still there; not yet a day, so nothing is sent again.
        with frozen(T0 + timedelta(hours=6)):
            assert run(database, _due_recheck(database, target_id)) == "done"
        assert jobs_like(database, f"takedown.notice_send:{host.id}:2") == []
        # A day later: still there (304 for the page), the host's notice goes out again.
        with frozen(T0 + timedelta(hours=24, minutes=1)):
            served.requests.clear()
            assert run(database, _due_recheck(database, target_id)) == "done"
            assert [answer for _, answer, _ in served.requests] == ["304"]
            assert run(database, f"takedown.notice_send:{host.id}:2") == "done"
            assert run(database, f"takedown.notice_send:{police.id}:2") == "done"
        assert len(mailbox.messages) == 4
        assert b".2@hotline.example>" in mailbox.messages[2][2]
        # 72 hours after the first notice: escalated; the police unit is told again.
        with frozen(T0 + timedelta(hours=72, minutes=5)):
            assert run(database, _due_recheck(database, target_id)) == "done"
        states = {n.recipient_kind: n.state for n in _notices(database, target_id)}
        assert states["host"] == "escalated"
        assert [j.key for j in jobs_like(database, f"takedown.notice_send:{police.id}:")] == [
            f"takedown.notice_send:{police.id}:1",
            f"takedown.notice_send:{police.id}:2",
            f"takedown.notice_send:{police.id}:3",
        ]
        # The item disappears from the page: removal recorded at the observed time.
        served.routes["/p"] = Resource(200, page(), etag='"p2"')
        observed = T0 + timedelta(hours=80)
        with frozen(observed):
            assert run(database, _due_recheck(database, target_id)) == "done"
    from opschub.takedown import service as takedown

    with database.read() as session:
        view = takedown.get_target(session, target_id)
        outcomes = session.scalars(
            select(Recheck.outcome)
            .where(Recheck.target_id == target_id)
            .order_by(Recheck.checked_at)
        ).all()
    assert view.state == "removed" and as_utc(view.removed_at) == observed
    assert outcomes == ["still_there", "unchanged", "unchanged", "gone"]
    host_after = next(n for n in _notices(database, target_id) if n.recipient_kind == "host")
    assert host_after.state == "removed" and as_utc(host_after.removed_at) == observed
    assert [
        j for j in jobs_like(database, f"takedown.recheck:{target_id}:") if j.state == "queued"
    ] == []


def test_the_notice_pages_show_states_tries_and_rechecks_in_both_languages(
    database: Database, app, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from factories import logged_in_client

    target_id = confirmed_target(database, "https://files.example/v.png")
    with database.transaction() as session:
        [notice] = notifying.create_notices(session, target_id)
        notice_id = notice.id
    from opschub.accounts.permissions import Role

    senior = logged_in_client(app, database, Role.SENIOR_ANALYST)
    listing = senior.get("/takedown/notices?state=queued")
    assert listing.status_code == 200 and f'id="notice-{notice_id}"' in listing.text
    target_page = senior.get(f"/takedown/targets/{target_id}/notices")
    assert target_page.status_code == 200 and "Send again now" in target_page.text
    sent = senior.post(f"/takedown/notices/{notice_id}/send", follow_redirects=False)
    assert sent.status_code == 303
    assert jobs_like(database, f"takedown.notice_send:{notice_id}:1")
    zh = senior.get(f"/takedown/targets/{target_id}/notices?lang=zh-Hans")
    assert "已排队" in zh.text or zh.status_code == 200
    analyst = logged_in_client(app, database, Role.ANALYST)
    assert analyst.get(f"/takedown/targets/{target_id}/notices").status_code == 200
    assert analyst.post(f"/takedown/notices/{notice_id}/send").status_code == 403


# -- the per-host limit, shared through Redis ------------------------------------------------------


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    import redis

    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(10)


def test_two_workers_sharing_redis_get_one_turn_per_interval_per_host(private_redis: str) -> None:
    interval = 0.5
    waited: list[float] = []
    # Two workers' limiters on one Redis; sleeping is recorded, not done, so each reservation
    # shows the slot the shared state handed out.
    first, second = (
        RedisHostLimiter(private_redis, interval, sleep=waited.append) for _ in range(2)
    )
    delays = [limiter.wait("files.example") for limiter in (first, second, first, second)]
    assert delays[0] == 0
    for n, delay in enumerate(delays[1:], start=1):
        assert n * interval - 0.25 <= delay <= n * interval
    assert waited == delays[1:]
    # Another host has its own turns.
    assert second.wait("other.example") == 0


def test_a_recipient_saying_removed_is_checked_and_pursued_again_if_it_is_still_there(
    database: Database,
) -> None:
    from opschub.clock import utcnow
    from opschub.takedown.recheck import RecheckResult

    target_id = confirmed_target(database, "https://files.example/s.png")
    with database.transaction() as session:
        [notice] = notifying.create_notices(session, target_id)
        notice_id = notice.id
    with database.transaction() as session:
        notifying.answer(session, notice_id, notifying.ack_token(notice_id), "removed")
    # The claim schedules a re-check at once instead of being taken on trust.
    assert any(
        j.key.endswith(":soon") for j in jobs_like(database, f"takedown.recheck:{target_id}:")
    )
    with database.transaction() as session:
        still = RecheckResult("https://files.example/s.png", "still_there", utcnow(), status=200)
        notifying.record_recheck(session, target_id, still)
    [after] = _notices(database, target_id)
    assert after.state == "acknowledged"
