"""Capture: from "Start takedown" to items in the vault, on SQLite and PostgreSQL, against a local
web site serving generated pictures. Every remote failure ends as a recorded outcome."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from takedown_assess_helpers import (
    ANNA,
    clip,
    declared_huge,
    endless,
    redirect,
    report_with,
    run_captures,
    site,
    sleeper,
)

from loopback import Site, send
from opschub.audit.models import AuditEvent
from opschub.db import Database
from opschub.evidence.models import EvidenceAcquisition, EvidenceItem
from opschub.jobs.models import Job
from opschub.takedown import service
from opschub.takedown.fetcher import media_links
from opschub.takedown.models import Item, Target
from pictures import photo

__all__ = ["site"]

PAGE = b"""<!doctype html><html><body>
<img src="/a.png" alt="">
<a href="/b.jpg">a linked picture</a>
<a href="/about.html">not a medium</a>
<img src="/a.png" alt="the same again">
</body></html>"""


def _start(database: Database, *urls: str) -> list[str]:
    report_id = report_with(database, *urls)
    with database.transaction() as session:
        return [t.id for t in service.start_takedown(session, ANNA, report_id)]


def _target(database: Database, target_id: str) -> service.TargetView:
    with database.read() as session:
        return service.get_target(session, target_id)


def _serve_page(site: Site) -> None:
    site.routes["/page.html"] = send(PAGE, "text/html; charset=utf-8")
    site.routes["/a.png"] = send(photo(1), "image/png")
    site.routes["/b.jpg"] = send(photo(2, fmt="JPEG"), "image/jpeg")


def test_links_to_picture_files_count_as_media() -> None:
    found = media_links(PAGE.decode(), "http://pages.example/page.html")
    assert found == ["http://pages.example/a.png", "http://pages.example/b.jpg"]


def test_start_takedown_makes_one_target_per_url_and_one_capture_job_each(
    database: Database, site: Site
) -> None:
    report_id = report_with(database, site.url("/page.html"), site.url("/other.html"))
    with database.transaction() as session:
        first = service.start_takedown(session, ANNA, report_id)
    with database.transaction() as session:
        again = service.start_takedown(session, ANNA, report_id)  # a second click adds nothing
    assert {t.id for t in first} == {t.id for t in again}
    with database.read() as session:
        targets = service.targets_of_report(session, report_id)
        jobs = session.scalars(select(Job).where(Job.kind == "takedown.capture")).all()
    assert len(targets) == 2
    assert all(t.state == "new" and t.claimed_by == ANNA.id for t in targets)
    assert sorted(j.payload["target_id"] for j in jobs) == sorted(t.id for t in targets)


def test_capture_stores_page_and_media_in_the_vault_with_hashes_and_the_fetch_record(
    database: Database, site: Site
) -> None:
    _serve_page(site)
    site.routes["/start"] = redirect("/page.html")
    (target_id,) = _start(database, site.url("/start"))
    assert run_captures(database) == ["done"]
    view = _target(database, target_id)
    assert view.state == "captured"
    assert view.capture_outcome == "ok"
    page = view.capture["page"]
    assert page["status"] == 200
    assert page["final_url"] == site.url("/page.html")
    assert [h["status"] for h in page["redirects"]] == [302]
    assert page["server_addresses"] == ["127.0.0.1"]
    assert ["x-served-by", "takedown-test-site"] in page["headers"]
    with database.read() as session:
        items = service.items_of(session, target_id)
        stored = {e.sha256 for e in session.scalars(select(EvidenceItem))}
        sources = {a.source for a in session.scalars(select(EvidenceAcquisition))}
    assert sorted(i.url.rsplit("/", 1)[-1] for i in items) == ["a.png", "b.jpg"]
    assert all(i.state == "pending" and i.kind == "image" for i in items)
    assert all(i.pdq and i.pdq_quality and i.pdq_quality >= 50 for i in items)
    assert all(len(i.md5) == 32 for i in items)
    assert {i.sha256 for i in items} < stored  # the page itself is in the vault too
    assert sources == {"url_capture"}


def test_a_url_that_is_itself_a_picture_is_the_item(database: Database, site: Site) -> None:
    site.routes["/direct.png"] = send(photo(3), "image/png")
    (target_id,) = _start(database, site.url("/direct.png"))
    run_captures(database)
    with database.read() as session:
        (item,) = service.items_of(session, target_id)
    assert item.url == site.url("/direct.png")


@pytest.mark.parametrize(
    ("routes", "path", "outcome"),
    [
        ({"/loop1": redirect("/loop2"), "/loop2": redirect("/loop1")}, "/loop1", "redirect_loop"),
        ({"/slow": sleeper(4)}, "/slow", "timeout"),
        ({"/endless": endless}, "/endless", "too_large"),
        ({"/huge": declared_huge}, "/huge", "too_large"),
        ({}, "/missing", "gone"),
    ],
)
def test_remote_failures_end_as_a_recorded_outcome_never_a_stuck_job(
    database: Database, site: Site, routes: dict, path: str, outcome: str
) -> None:
    site.routes.update(routes)
    (target_id,) = _start(database, site.url(path))
    assert run_captures(database) == ["done"]
    view = _target(database, target_id)
    assert view.state == "capture_failed"
    assert view.capture_outcome == outcome
    assert view.capture_error or outcome == "gone"
    with database.read() as session:
        assert service.items_of(session, target_id) == []
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.target_id == target_id)
        ).all()
    assert "takedown.capture.failed" in actions


def test_a_huge_medium_on_a_page_is_recorded_and_not_stored(database: Database, site: Site) -> None:
    site.routes["/page.html"] = send(
        b'<html><img src="/ok.png"><img src="/huge.mp4"></html>', "text/html"
    )
    site.routes["/ok.png"] = send(photo(4), "image/png")
    site.routes["/huge.mp4"] = endless
    (target_id,) = _start(database, site.url("/page.html"))
    run_captures(database)
    view = _target(database, target_id)
    assert view.state == "captured"
    outcomes = {m["url"].rsplit("/", 1)[-1]: m["outcome"] for m in view.capture["media"]}
    assert outcomes == {"ok.png": "ok", "huge.mp4": "too_large"}
    with database.read() as session:
        assert [i.url.rsplit("/", 1)[-1] for i in service.items_of(session, target_id)] == [
            "ok.png"
        ]


def test_a_private_address_is_refused_without_the_allow_list(
    database: Database, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opschub import config

    monkeypatch.setenv("OPSCHUB_FETCH_ALLOWED_ADDRESSES", "")
    config.get_settings.cache_clear()
    _serve_page(site)
    (target_id,) = _start(database, site.url("/page.html"))
    run_captures(database)
    view = _target(database, target_id)
    assert (view.state, view.capture_outcome) == ("capture_failed", "refused_address")


def test_hosting_is_recorded_from_loaded_data(
    database: Database, site: Site, hosting_files: dict, cli_app: object
) -> None:
    from typer.testing import CliRunner

    tsv = hosting_files["iptoasn"]
    tsv.write_text(tsv.read_text() + "127.0.0.0\t127.255.255.255\t64500\tDE\tEXAMPLE-HOSTING\n")
    result = CliRunner().invoke(cli_app, ["hosting", "load", str(tsv), "--format", "iptoasn"])
    assert result.exit_code == 0, result.output
    _serve_page(site)
    (target_id,) = _start(database, site.url("/page.html"))
    run_captures(database)
    view = _target(database, target_id)
    assert (view.country, view.asn, view.provider) == ("DE", 64500, "EXAMPLE-HOSTING")
    assert view.hosting["ip"] == "127.0.0.1"


def test_without_hosting_data_the_capture_still_succeeds_and_says_so(
    database: Database, site: Site
) -> None:
    _serve_page(site)
    (target_id,) = _start(database, site.url("/page.html"))
    run_captures(database)
    view = _target(database, target_id)
    assert view.state == "captured"
    assert view.country is None
    assert "no hosting data" in view.hosting["error"]


def test_a_target_is_captured_once_even_if_its_job_runs_again(
    database: Database, site: Site
) -> None:
    _serve_page(site)
    (target_id,) = _start(database, site.url("/page.html"))
    run_captures(database)
    from opschub.config import get_settings
    from opschub.takedown.capture import capture_url, make_fetcher

    with make_fetcher(get_settings()) as fetcher:
        again = capture_url(site.url("/page.html"), fetcher)
    with database.transaction() as session:
        service.record_capture(session, target_id, again)
    with database.read() as session:
        assert len(session.scalars(select(Item)).all()) == 2
        assert session.get(Target, target_id).state == "captured"  # type: ignore[union-attr]


def test_a_video_is_an_item_hashed_by_its_first_frame_and_previewed_as_a_blurred_sheet(
    database: Database, site: Site
) -> None:
    site.routes["/watch"] = send(
        b'<html><video controls><source src="/clip.mp4" type="video/mp4"></video></html>',
        "text/html",
    )
    site.routes["/clip.mp4"] = send(clip(), "video/mp4")
    (target_id,) = _start(database, site.url("/watch"))
    run_captures(database)
    with database.read() as session:
        (item,) = service.items_of(session, target_id)
    assert item.kind == "video" and item.media_type == "video/mp4"
    assert item.pdq is not None  # the first frame's PDQ stands for the video
    with database.transaction() as session:
        sheet = service.preview(session, ANNA, item.id)
    import io

    from PIL import Image

    assert Image.open(io.BytesIO(sheet)).mode == "L"


def test_a_failure_on_our_side_is_retried_then_recorded_never_left_capturing(
    database: Database, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from opschub.clock import utcnow
    from opschub.jobs.runner import run_job
    from opschub.takedown import capture

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the hashing library crashed")

    monkeypatch.setattr(capture, "capture_url", broken)
    (target_id,) = _start(database, site.url("/page.html"))
    with database.read() as session:
        job_id = session.scalars(select(Job.id).where(Job.kind == "takedown.capture")).one()
    assert run_job(database, job_id, "w") == "queued"  # retried later
    assert _target(database, target_id).state == "capturing"
    for _ in range(2):  # the remaining attempts, made due now
        with database.transaction() as session:
            session.execute(
                update(Job).where(Job.id == job_id).values(due_at=utcnow() - timedelta(1))
            )
        state = run_job(database, job_id, "w")
    assert state == "done"
    view = _target(database, target_id)
    assert view.state == "capture_failed" and view.capture_outcome == "error"
    assert "the hashing library crashed" in (view.capture_error or "")
