"""Helpers shared by the browser tests (the fixtures are in conftest.py): axe-core, the checks a
walked page passes, submitting a form, access keys and the problems a page logs.

Import them by name (``from browser_helpers import checked``): pytest puts this folder on the path.
axe-core comes from npm: ``npm install --no-save axe-core`` in the repository (or ``OPSCHUB_AXE_JS``
pointing at ``axe.min.js``); without it a test that asks for it skips, unless
``OPSCHUB_REQUIRE_BROWSER=1``, in which case it fails.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
WIDTHS = (1280, 375)
# A code is lower-case words joined by underscores (``self_report``); people never read one.
RAW_CODE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")
SHOTS = os.environ.get("OPSCHUB_DOC_SCREENSHOTS")
# Short Chinese labels broken over lines ("已收/到"): a label of up to four characters on more
# than one line, or any short label with one character per line.
BROKEN_CJK = """() => Array.from(document.querySelectorAll(
    'th, td, dt, dd, button, label, .badge, a, summary, legend'))
  .filter(e => e.offsetParent !== null)
  .filter(e => { const t = e.innerText.trim(); return t.length >= 2 && t.length <= 8
                 && /^[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+$/.test(t); })
  .filter(e => { const tops = new Set();
                 const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
                 for (let n = walker.nextNode(); n; n = walker.nextNode()) {
                   if (n.parentElement.closest('.visually-hidden')) { continue; }
                   const range = document.createRange(); range.selectNodeContents(n);
                   for (const r of range.getClientRects()) { tops.add(Math.round(r.top)); }
                 }
                 const t = e.innerText.trim();
                 return (tops.size > 1 && t.length <= 4) || tops.size >= t.length; })
  .map(e => e.innerText.trim())"""
AXE_RESULTS = (
    "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ("
    "{id: v.id, impact: v.impact, help: v.help,"
    " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)})))"
)


def axe_source() -> str:
    """The text of ``axe.min.js``, to evaluate in a page before :func:`serious`."""
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


def serious(page: Any, axe: str) -> list[dict[str, Any]]:
    """The page's serious and critical axe-core violations (id, impact, help, first nodes)."""
    page.evaluate(axe)
    violations: list[dict[str, Any]] = page.evaluate(AXE_RESULTS)
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def checked(page: Any, axe: str, *, width: int | None = None) -> None:
    """A step of a walk: once the page has loaded, no serious or critical axe-core finding and,
    given ``width``, nothing wider than that many pixels."""
    page.wait_for_load_state()
    assert serious(page, axe) == [], page.url
    if width is not None:
        assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


def submitted(page: Any, selector: str) -> None:
    """Click submit and wait for the answer page (a CSRF or Origin refusal fails the test)."""
    page.click(selector)
    page.wait_for_load_state()
    assert "cross-site request refused" not in page.content()


def submit(page: Any, selector: str) -> None:
    """Click submit and wait for the navigation it starts (a CSRF or Origin refusal fails)."""
    with page.expect_navigation():
        page.click(selector)
    assert "cross-site request refused" not in page.content()


def access_key(page: Any, key: str) -> None:
    """The page's main next action carries ``accesskey=key`` and is visible (Alt+key in
    Chromium, Alt+Shift+key in Firefox). Synthetic key presses do not reach access keys in
    headless Chromium, so the attribute is what is checked."""
    action = page.locator(f"[accesskey='{key}']")
    assert action.count() == 1, f"{page.url}: no single accesskey={key}"
    assert action.is_visible()


def problems_of(page: Any) -> list[str]:
    """A list that fills, from now on, with what goes wrong on the page: script errors logged to
    the console (a CSP violation among them) and answers of 400 or more. A failed load is
    counted by its status, not its console line; the browser's own favicon request is not ours."""
    problems: list[str] = []

    def console(message: Any) -> None:
        if message.type == "error" and "Failed to load resource" not in message.text:
            problems.append(message.text)

    def response(answer: Any) -> None:
        if answer.status >= 400 and not answer.url.endswith("/favicon.ico"):
            problems.append(f"{answer.status} {answer.url}")

    page.on("console", console)
    page.on("response", response)
    return problems


def at_every_width(
    page: Any, axe: str, lang: str, *, codes: bool = True, shot: str | None = None
) -> None:
    """The page as it is now at 1280 and 375 px (resized, not reloaded): no serious or
    critical axe-core finding, no horizontal overflow, no short Chinese label broken over lines,
    no raw code (``action_taken``) in what a person reads; the Chinese page's header in Chinese.
    ``OPSCHUB_DOC_SCREENSHOTS=<dir>`` also saves screenshots named after ``shot``."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{page.url} at {width} px overflows by {overflow} px"
        assert serious(page, axe) == [], f"{page.url} at {width} px"
        if lang.startswith("zh"):
            assert page.evaluate(BROKEN_CJK) == [], f"{page.url} at {width} px"
        if codes:
            text = page.locator("body").inner_text()
            assert RAW_CODE.findall(text) == [], f"{page.url}: raw codes shown"
        if SHOTS and shot:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            name = f"{shot}-{width}.png" if lang == "en" else f"{shot}-{lang}-{width}.png"
            page.screenshot(path=str(Path(SHOTS) / name))
    if lang.startswith("zh"):
        header = page.locator("header").inner_text()
        assert "Log out" not in header and "Analyst" not in header, header
