"""The public reporting pages in Chromium, as a new user would use them.

Both forms in both languages, the receipt and the status page, checked with axe-core (no serious
or critical violation). The self-report's network traffic is recorded and must never carry the
image's bytes. axe-core comes from npm: ``npm install --no-save axe-core`` in the repository (or
``OPSCHUB_AXE_JS`` pointing at ``axe.min.js``); without it the test skips, unless
``OPSCHUB_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from opschub.db import Database

REPO_ROOT = Path(__file__).resolve().parents[2]
AXE_RESULTS = (
    "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ("
    "{id: v.id, impact: v.impact, help: v.help,"
    " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)})))"
)


def _axe_source() -> str:
    configured = os.environ.get("OPSCHUB_AXE_JS")
    path = (
        Path(configured) if configured else REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
    )
    if not path.is_file():
        reason = f"axe-core not found at {path} (npm install --no-save axe-core)"
        if os.environ.get("OPSCHUB_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason} (OPSCHUB_REQUIRE_BROWSER=1)", pytrace=False)
        pytest.skip(reason)
    return path.read_text(encoding="utf-8")


def _submitted(page: Any, selector: str) -> None:
    """Click submit and wait for the answer page (a CSRF or Origin refusal fails the test)."""
    page.click(selector)
    page.wait_for_load_state()
    assert "cross-site request refused" not in page.content()


def _serious(page: Any, axe: str) -> list[dict[str, Any]]:
    page.evaluate(axe)
    violations: list[dict[str, Any]] = page.evaluate(AXE_RESULTS)
    return [v for v in violations if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_public_report_receipt_and_status(
    page: Any, live_server: tuple[str, Database], lang: str
) -> None:
    axe = _axe_source()
    base, _database = live_server
    page.goto(f"{base}/report?lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang
    assert _serious(page, axe) == []
    page.fill("#urls", "https://example.org/demo/browser-test")
    page.fill("#where_seen", "a website")
    page.check("#harm-grooming")
    _submitted(page, "button[type=submit].big-button")
    page.wait_for_selector("#receipt-code")
    assert _serious(page, axe) == []
    receipt = page.inner_text("#receipt-code")
    assert len(receipt.replace("-", "")) == 28
    page.click("a[href^='/report/status']")
    page.wait_for_selector("#code")
    assert _serious(page, axe) == []
    page.fill("#code", receipt.lower())
    _submitted(page, "button[type=submit].big-button")
    page.wait_for_selector("#report-status")
    assert page.get_attribute("#report-status", "data-status") == "received"
    assert _serious(page, axe) == []
    page.goto(f"{base}/help?lang={lang}")
    assert _serious(page, axe) == []


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_self_report_sends_fingerprints_never_the_image(
    page: Any, live_server: tuple[str, Database], shared_dir: Path, lang: str
) -> None:
    from opschub.intake.models import Report

    axe = _axe_source()
    base, database = live_server
    image = shared_dir / "pdq-reference" / "images" / "bridge-mods" / "aaa-orig.jpg"
    if not image.is_file():
        pytest.skip(f"reference image missing: {image}")
    data = image.read_bytes()
    bodies: list[bytes] = []
    page.on("request", lambda request: bodies.append(request.post_data_buffer or b""))
    page.goto(f"{base}/report/me?lang={lang}")
    assert _serious(page, axe) == []
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
    assert _serious(page, axe) == []
    with database.transaction() as session:
        report = session.scalars(select(Report)).one()
        fingerprints = {f.hash_type: f.value for f in report.fingerprints}
    assert fingerprints["sha256"] == hashlib.sha256(data).hexdigest()
    assert fingerprints["md5"] == hashlib.md5(data).hexdigest()
    assert len(fingerprints["pdq"]) == 64
