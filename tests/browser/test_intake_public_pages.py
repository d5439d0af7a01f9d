"""The public reporting pages in Chromium, as a new user would use them.

Both forms in both languages, the receipt and the status page, checked with axe-core (no serious
or critical violation). The self-report's network traffic is recorded and must never carry the
image's bytes. axe-core comes from npm: ``npm install --no-save axe-core`` in the repository (or
``OPSCHUB_AXE_JS`` pointing at ``axe.min.js``); without it the test skips, unless
``OPSCHUB_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import axe_source, serious, submitted
from sqlalchemy import select

from opschub.db import Database


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_public_report_receipt_and_status(
    page: Any, live_server: tuple[str, Database], lang: str
) -> None:
    axe = axe_source()
    base, _database = live_server
    page.goto(f"{base}/report?lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang
    assert serious(page, axe) == []
    page.fill("#urls", "https://example.org/demo/browser-test")
    page.fill("#where_seen", "a website")
    page.check("#harm-grooming")
    submitted(page, "button[type=submit].big-button")
    page.wait_for_selector("#receipt-code")
    assert serious(page, axe) == []
    receipt = page.inner_text("#receipt-code")
    assert len(receipt.replace("-", "")) == 28
    page.click("a[href^='/report/status']")
    page.wait_for_selector("#code")
    assert serious(page, axe) == []
    page.fill("#code", receipt.lower())
    submitted(page, "button[type=submit].big-button")
    page.wait_for_selector("#report-status")
    assert page.get_attribute("#report-status", "data-status") == "received"
    assert serious(page, axe) == []
    page.goto(f"{base}/help?lang={lang}")
    assert serious(page, axe) == []


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_self_report_sends_fingerprints_never_the_image(
    page: Any, live_server: tuple[str, Database], shared_dir: Path, lang: str
) -> None:
    from opschub.intake.models import Report

    axe = axe_source()
    base, database = live_server
    image = shared_dir / "pdq-reference" / "images" / "bridge-mods" / "aaa-orig.jpg"
    if not image.is_file():
        pytest.skip(f"reference image missing: {image}")
    data = image.read_bytes()
    bodies: list[bytes] = []
    page.on("request", lambda request: bodies.append(request.post_data_buffer or b""))
    page.goto(f"{base}/report/me?lang={lang}")
    assert serious(page, axe) == []
    page.set_input_files("#selfreport-file", str(image))
    page.wait_for_selector("#selfreport-form[data-state=ready]", timeout=30_000)
    page.select_option("#age_band", "13-14")
    page.click("#selfreport-submit")
    page.wait_for_load_state()
    samples = [data[i : i + 64] for i in range(0, len(data) - 64, max(1, len(data) // 50))]
    assert any(body for body in bodies), "the form sent nothing"
    for body in bodies:
        assert len(body) < 4096, "a request body is large enough to carry the image"
        for sample in samples:
            assert sample not in body, "a request carried the image's bytes"
    page.wait_for_selector("#receipt-code")
    assert serious(page, axe) == []
    with database.transaction() as session:
        report = session.scalars(select(Report)).one()
        fingerprints = {f.hash_type: f.value for f in report.fingerprints}
    assert fingerprints["sha256"] == hashlib.sha256(data).hexdigest()
    assert fingerprints["md5"] == hashlib.md5(data).hexdigest()
    assert len(fingerprints["pdq"]) == 64
