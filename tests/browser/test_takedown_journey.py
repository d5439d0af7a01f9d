"""The whole takedown run in a real Chromium against the live app (issue 12, "Done when").

A report names a page on a local test server (a benign generated page with a generated picture);
an analyst starts the takedown from the report page with the "t" key; the capture job runs; the
item is shown blurred and greyscale; the analyst classifies it and a second analyst confirms it
(four eyes). The hosting look-up answers from loaded offline data (an iptoasn TSV and a provider
directory for 127.0.0.1): the provider's abuse contact is an email address (a real aiosmtpd on
loopback with STARTTLS) and the content is abroad, so the partner hotline of the hosting country
is told through its webhook (a local receiver that verifies signatures). Each notice arrives
exactly once, with valid X-ARF. A re-check a day later (clock frozen) finds the content still
there and re-sends; once the page is gone the next re-check records the removal, which the
removal figures page shows. Every takedown page visited passes axe-core in English and Chinese.
"""

from __future__ import annotations

import base64
import io
import socket
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import xarf
from browser_helpers import axe_source, serious
from PIL import Image
from sqlalchemy import select

from factories import browser_login, create_user
from loopback import Resource, Site
from opschub import config
from opschub.accounts.permissions import Role
from opschub.clock import frozen
from opschub.db import Database
from opschub.takedown import notifying, partners
from opschub.takedown import service as takedown
from opschub.takedown.hosting import HostingData
from opschub.takedown.models import Item

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "takedown"))
from notice_helpers import (
    Inbox,
    Mailbox,
    job,
    run,
    smtp_server,
    webhook_receiver,
)
from takedown_assess_helpers import report_with, run_captures

from pictures import photo

PARTNER_SECRET = "journey-partner-webhook-secret-0123456789"
PAGE = (
    b'<!doctype html><html lang="en"><title>Test page</title>'
    b'<p>A generated test page.</p><img src="/pic.png" alt=""></html>'
)
# Offline hosting data for the test server's address: a documentation AS in Germany, and the
# provider directory naming its abuse mailbox.
IPTOASN = "127.0.0.0\t127.255.255.255\t64500\tDE\tEXAMPLE-HOSTING\n"
PROVIDERS = """
[[provider]]
name = "Example Hosting"
asns = [64500]
abuse = "abuse@hosting.example"
language = "en"
"""
HOST = "pages.example"  # the tests' resolver points this name at 127.0.0.1
BASELINE = ("#real_child-yes", "#under_13-yes", "#abuse_or_genitals-yes")


@pytest.fixture
def mail(tmp_path: Path) -> Iterator[tuple[Mailbox, int, Path]]:
    mailbox = Mailbox()
    with smtp_server(tmp_path, mailbox) as (port, cert):
        yield mailbox, port, cert


@pytest.fixture
def hotline() -> Iterator[tuple[Inbox, str]]:
    inbox = Inbox(secret=PARTNER_SECRET.encode())
    with webhook_receiver(inbox) as url:
        yield inbox, url


@pytest.fixture
def content(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Site, str]]:
    """The test site, reachable as http://pages.example:PORT (a report of a loopback address
    is refused by intake, rightly): the resolver answers 127.0.0.1 for that one name."""
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == HOST else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    site = Site(HOST)
    site.routes["/page"] = Resource(200, PAGE)
    site.routes["/pic.png"] = Resource(200, photo(7, 240), "image/png")
    with site:
        yield site, site.url()


@pytest.fixture
def settings(
    settings: config.Settings,
    monkeypatch: pytest.MonkeyPatch,
    mail: tuple[Mailbox, int, Path],
) -> Iterator[config.Settings]:
    """The suite's settings plus the fetcher allow-list, the SMTP relay and the home country,
    set before the app is created."""
    _mailbox, port, cert = mail
    values = {
        "FETCH_ALLOWED_ADDRESSES": "127.0.0.1",
        "FETCH_HOST_INTERVAL_SECONDS": "0",
        "FETCH_TIMEOUT_SECONDS": "5",
        "RECHECK_HOST_INTERVAL_SECONDS": "0",
        "RECHECK_INTERVAL_MINUTES": "60",
        "NOTICE_RESEND_HOURS": "24",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_REQUIRE_TLS": "true",
        "SMTP_CA_FILE": str(cert),
        "NOTICE_HOME_COUNTRY": "FR",
        "TAKEDOWN_FOUR_EYES": "true",
    }
    for name, value in values.items():
        monkeypatch.setenv(f"OPSCHUB_{name}", value)
    monkeypatch.delenv("OPSCHUB_SHARED_REDIS_URL", raising=False)
    config.get_settings.cache_clear()
    yield config.get_settings()
    config.get_settings.cache_clear()


def _load_hosting(settings: config.Settings, tmp_path: Path) -> None:
    """What `opschub hosting load` does, for the test server's address."""
    tsv = tmp_path / "ip2asn-combined.tsv"
    tsv.write_text(IPTOASN)
    toml = tmp_path / "providers.toml"
    toml.write_text(PROVIDERS)
    data = HostingData(settings.data_dir / "hosting")
    data.load(tsv, "iptoasn")
    data.load(toml, "providers")


def _decide_illegal(page: Any) -> None:
    for selector in BASELINE:
        page.check(selector)
    with page.expect_navigation():
        page.click("#decide-illegal")


def _xarf_of(content: bytes) -> list[str]:
    email = message_from_bytes(content, policy=policy.default)
    assert isinstance(email, EmailMessage)
    return [
        part.get_content() if isinstance(part.get_content(), str) else part.get_content().decode()
        for part in email.iter_attachments()
        if part.get_content_type() == "application/json"
    ]


def _target_state(database: Database, target_id: str) -> Any:
    with database.read() as session:
        return takedown.get_target(session, target_id)


def test_takedown_from_report_to_removal_figures(
    browser: Any,
    page: Any,
    live_server: tuple[str, Database],
    settings: config.Settings,
    mail: tuple[Mailbox, int, Path],
    hotline: tuple[Inbox, str],
    content: tuple[Site, str],
    tmp_path: Path,
) -> None:
    axe = axe_source()
    base, database = live_server
    mailbox = mail[0]
    inbox, hook_url = hotline
    site, site_base = content
    _load_hosting(settings, tmp_path)
    with database.transaction() as session:
        partners.add(
            session,
            None,
            partners.PartnerIn(
                "Example Hotline DE", "DE", "webhook", hook_url, "en", PARTNER_SECRET
            ),
        )
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    # 1. a report of the page on the test server.
    url = f"{site_base}/page"
    report_id = report_with(database, url)

    # 2. the first analyst starts the takedown with "t" on the report page.
    anna = create_user(database, Role.ANALYST)[0]
    browser_login(page, base, database, anna)
    page.goto(f"{base}/queue/{report_id}?lang=en")
    assert page.locator("#start-takedown").is_visible()
    with page.expect_navigation():
        page.keyboard.press("t")
    assert f"/takedown/reports/{report_id}" in page.url
    assert run_captures(database) == ["done"]
    page.reload()
    target_link = page.locator(f'a.mono:has-text("{url}")')
    target_link.wait_for()
    target_id = (target_link.get_attribute("href") or "").split("/takedown/targets/")[1]
    target_id = target_id.split("?")[0]
    target = _target_state(database, target_id)
    assert target.state == "captured"
    assert (target.country, target.asn) == ("DE", 64500)
    assert target.hosting["abuse"] == "abuse@hosting.example"
    with database.read() as session:
        [item_id] = session.scalars(select(Item.id).where(Item.target_id == target_id)).all()

    page.goto(f"{base}/takedown/items/{item_id}?lang=en")
    material = page.locator("img#material")
    assert material.get_attribute("class") == "blurred"
    css_filter = material.evaluate("e => getComputedStyle(e).filter")
    assert "blur(" in css_filter and "grayscale(1)" in css_filter
    src = material.get_attribute("src") or ""
    assert src.startswith("data:image/")
    shown = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
    assert shown.mode == "L" and max(shown.size) <= 480  # a small greyscale rendition
    original = base64.b64encode(photo(7, 240)).decode()
    html = page.content()
    assert original[:200] not in html  # the picture itself is not in the page before reveal
    assert "revealed" not in (material.get_attribute("class") or "")
    assert page.locator("#reveal-form").is_visible()
    _decide_illegal(page)
    with database.read() as session:
        assert takedown.get_item(session, item_id).state == "awaiting_confirmation"

    # 3. a second analyst confirms (four eyes).
    boris = create_user(database, Role.ANALYST)[0]
    second = browser.new_context().new_page()
    try:
        browser_login(second, base, database, boris)
        second.goto(f"{base}/takedown/items/{item_id}?lang=en")
        assert second.locator("img#material").get_attribute("class") == "blurred"
        _decide_illegal(second)
    finally:
        second.context.close()
    assert _target_state(database, target_id).state == "confirmed"

    # 4-5. notices: the provider by email over STARTTLS, the partner hotline by webhook.
    assert run(database, f"takedown.notify:{target_id}") == "done"
    with database.read() as session:
        notices = notifying.notices_of(session, target_id)
        by_kind = {n.recipient_kind: (n.id, n.channel, n.address) for n in notices}
    assert by_kind == {
        "host": (by_kind["host"][0], "email", "abuse@hosting.example"),
        "hotline": (by_kind["hotline"][0], "webhook", hook_url),
    }
    for notice_id, _channel, _address in by_kind.values():
        assert run(database, f"takedown.notice_send:{notice_id}:1") == "done"
    [(over_tls, recipients, email_bytes)] = mailbox.messages
    assert over_tls and recipients == ["abuse@hosting.example"]
    reports = _xarf_of(email_bytes)
    assert reports and all(xarf.parse(r).errors == [] for r in reports)
    assert inbox.posts == 1 and inbox.refused_signatures == 0
    [delivered] = inbox.processed
    assert delivered["body"]["role"] == "hotline"
    assert all(xarf.parse(r).errors == [] for r in delivered["body"]["reports"])
    notified = _target_state(database, target_id)
    assert notified.state == "notified" and notified.first_notice_at is not None
    first_notice = notified.first_notice_at.replace(tzinfo=UTC)

    page.goto(f"{base}/takedown/targets/{target_id}/notices?lang=en")
    assert page.locator("section.card").count() == 2

    # 6. re-checks: the content is still there; before the re-send interval (24 h) nothing is
    # sent again, after it the provider gets a second email.
    host_id = by_kind["host"][0]
    with frozen(first_notice + timedelta(hours=2)):
        assert run(database, f"takedown.recheck:{target_id}:1") == "done"
    assert job(database, f"takedown.notice_send:{host_id}:2") is None
    assert len(mailbox.messages) == 1
    day_later = first_notice + timedelta(hours=25)
    with frozen(day_later):
        assert run(database, f"takedown.recheck:{target_id}:2") == "done"
        assert run(database, f"takedown.notice_send:{host_id}:2") == "done"
    assert len(mailbox.messages) == 2
    assert mailbox.messages[1][0] and mailbox.messages[1][1] == ["abuse@hosting.example"]
    with database.read() as session:
        outcomes = [c.outcome for c in reversed(notifying.rechecks_of(session, target_id))]
    assert outcomes[0] == "still_there" and outcomes[1] in ("unchanged", "still_there")
    assert _target_state(database, target_id).state == "notified"

    # 7. the page is removed; the next re-check sees it gone.
    site.routes["/page"] = Resource(404, b"not found", "text/plain")
    with frozen(day_later + timedelta(hours=2)):
        assert run(database, f"takedown.recheck:{target_id}:3") == "done"
    removed = _target_state(database, target_id)
    assert removed.state == "removed" and removed.removed_at is not None
    today = datetime.now(UTC).date().isoformat()
    page.goto(f"{base}/takedown/figures?lang=en&start={today}&end={today}")
    overall = page.locator("#overall")
    assert overall.locator("dt:has-text('Removed') + dd").inner_text().strip() == "1"
    assert page.locator("#overall-notice-to-removal").inner_text().strip().startswith("27")

    # 8. every takedown page visited passes axe-core in both languages.
    pages = [
        f"/takedown/items/{item_id}",
        f"/takedown/targets/{target_id}",
        f"/takedown/targets/{target_id}/notices",
        "/takedown/notices",
        f"/takedown/figures?start={today}&end={today}",
    ]
    for lang in ("en", "zh-Hans"):
        for path in pages:
            joiner = "&" if "?" in path else "?"
            page.goto(f"{base}{path}{joiner}lang={lang}")
            assert page.locator("html").get_attribute("lang") == lang
            assert serious(page, axe) == [], (lang, path)
    assert errors == []  # no CSP violation or script error on any page
