"""Every page, rendered in zh-Hans for the public and for a logged-in person of each role, shows
no untranslated code (a snake_case or dotted identifier such as ``action_taken`` or
``accounts.login``) and no ASCII colon or semicolon next to Chinese text ("紧急求助: 112").

The pages are every GET route that answers HTML, plus the public receipt and status answers, over
the demo data (reports in every status and channel, hash lists, audit events). Findings on pages
whose owners are rewriting them in parallel (the queue, the accounts pages) turn the role's test
into an expected failure that lists them, so that they are seen in every run; findings on every
other page fail.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from factories import logged_in_client
from opschub.accounts.permissions import HUMAN_ROLES
from opschub.config import Settings
from opschub.db import Database, set_database
from opschub.web.routes import iter_routes

# Identifiers as code writes them: snake_case, or dotted names (accounts.login, users.manage).
SNAKE = re.compile(r"(?<![\w./@-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w/@-])")
DOTTED = re.compile(r"(?<![\w./@-])[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+(?![\w/@-])")
# Dotted words that are data, not code: host names and file names.
DATA_SUFFIXES = ("org", "net", "com", "cn", "json", "html", "csv", "png", "jpg", "txt", "int")
URL = re.compile(r"\b(?:https?|mailto|tel|otpauth):\S+")
HAN = "\u3400-\u4dbf\u4e00-\u9fff"
ASCII_PUNCT_NEAR_HAN = re.compile(rf"[{HAN}]\s*[:;]|[:;]\s*[{HAN}]")


class _VisibleText(HTMLParser):
    """Text nodes a person sees (not script, style or the page's <head>). ``<kbd>`` holds what a
    person types exactly (a CSV column name such as ``hash_type``): not a code to translate."""

    HIDDEN = frozenset({"script", "style", "head", "template", "kbd"})

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN and self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.depth and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> list[str]:
    parser = _VisibleText()
    parser.feed(html)
    return parser.parts


def findings(html: str) -> list[str]:
    """What a Chinese reader should not see: codes, and ASCII ':' or ';' next to Chinese."""
    found: list[str] = []
    for part in visible_text(html):
        text = URL.sub(" ", part)
        for match in SNAKE.finditer(text):
            found.append(f"code {match.group()!r} in {part[:80]!r}")
        for match in DOTTED.finditer(text):
            if not match.group().endswith(DATA_SUFFIXES):
                found.append(f"code {match.group()!r} in {part[:80]!r}")
    # Punctuation often stands in a text node of its own ("<strong>报警</strong>: <a>110</a>"):
    # read the text as it runs on the screen.
    running = URL.sub(" ", "".join(visible_text(html)))
    for match in ASCII_PUNCT_NEAR_HAN.finditer(running):
        context = running[max(0, match.start() - 20) : match.end() + 20]
        found.append(f"ASCII punctuation in {context!r}")
    return sorted(set(found))


def test_the_checker_finds_codes_and_ascii_punctuation() -> None:
    page = (
        "<html><head><title>x_y</title></head><body><script>a_b()</script>"
        "<p>状态 action_taken</p><td><code>accounts.login</code></td><p>紧急求助: 112</p>"
        "<p>example.org/demo https://example.org/a_b demo-analyst 报告；已收到：是</p>"
        "<p>7KQ2-M9XD 3f0a9c helplines.json 12:30</p></body></html>"
    )
    found = findings(page)
    codes = [f for f in found if f.startswith("code")]
    punctuation = [f for f in found if f.startswith("ASCII")]
    assert codes == [
        "code 'accounts.login' in 'accounts.login'",
        "code 'action_taken' in '状态 action_taken'",
    ]
    assert len(punctuation) == 1 and "紧急求助: 112" in punctuation[0]
    # Punctuation in a text node of its own counts too.
    assert findings("<p><strong>报警</strong>: <a>110</a></p>") != []


# -- the pages -----------------------------------------------------------------------------------


def _html_get_paths(app: FastAPI, report_id: str) -> list[str]:
    paths = []
    for path, route in iter_routes(app):
        if not isinstance(route, APIRoute) or "GET" not in route.methods:
            continue
        if route.include_in_schema or path in ("/favicon.ico", "/hashlists/{name}/export"):
            continue  # JSON API, the icon, a download
        path = path.replace("{report_id}", report_id).replace("{name}", "demo-exchange")
        # Any other item (an evidence item, a job): an unknown id, whose "not found" page is
        # checked too.
        paths.append(re.sub(r"\{[^}]+\}", "0" * 32, path))
    return sorted(set(paths))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, Database, str]]:
    """The app over the demo data, shared by every page check of this module (SQLite: what is
    checked here is the rendering, which does not depend on the engine)."""
    from opschub import config
    from opschub.intake import demo, service
    from opschub.intake.models import Report
    from opschub.web.app import create_app

    folder = tmp_path_factory.mktemp("zh")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPSCHUB_DATA_DIR", str(folder / "var"))
        patch.setenv("OPSCHUB_SECRET_KEY", "test-secret-key-0123456789abcdef0123456789abcdef")
        config.get_settings.cache_clear()
        settings = config.get_settings()
        settings.ensure_data_dir()
        database = Database(f"sqlite:///{folder / 'zh.sqlite3'}")
        database.create_all()
        set_database(database)
        with database.transaction() as session:
            demo.load(session, service.default_store())
            service.submit_report(
                session,
                service.ReportIn(channel="public", urls=["https://example.org/not-demo"]),
            )
        with database.transaction() as session:
            report_id = session.scalars(select(Report.id).where(Report.is_demo)).first()
        assert report_id is not None
        yield create_app(settings, database), database, report_id
        set_database(None)
        database.dispose()
    config.get_settings.cache_clear()


@pytest.fixture(autouse=True)
def settings(site: tuple[FastAPI, Database, str]) -> Iterator[Settings]:
    """The module's settings instead of a fresh data directory per test (overrides conftest)."""
    yield site[0].state.settings


def _check(client: TestClient, paths: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in paths:
        response = client.get(path, params={"lang": "zh-Hans"})
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        problems = findings(response.text)
        if problems:
            found[f"{path} ({response.status_code})"] = problems
    return found


def _public_answers(client: TestClient) -> dict[str, list[str]]:
    """The receipt after a report and the status answer for it."""
    from factories import csrf_token

    form = client.get("/report", params={"lang": "zh-Hans"})
    receipt = client.post(
        "/report",
        params={"lang": "zh-Hans"},
        data={"urls": "https://example.org/zh", "csrf_token": csrf_token(form.text)},
    )
    found: dict[str, list[str]] = {}
    if problems := findings(receipt.text):
        found["POST /report"] = problems
    code = re.search(r"<code[^>]*>([0-9A-Z-]{20,})</code>", receipt.text)
    if code:
        form = client.get("/report/status", params={"lang": "zh-Hans"})
        status = client.post(
            "/report/status",
            params={"lang": "zh-Hans"},
            data={"code": code.group(1), "csrf_token": csrf_token(form.text)},
        )
        if problems := findings(status.text):
            found["POST /report/status"] = problems
    return found


def test_public_pages_in_chinese_show_no_codes(site: tuple[FastAPI, Database, str]) -> None:
    app, _database, report_id = site
    with TestClient(app, base_url="http://testserver") as client:
        found = _check(client, _html_get_paths(app, report_id))
        found.update(_public_answers(client))
    assert found == {}


@pytest.mark.parametrize("role", [role.value for role in HUMAN_ROLES])
def test_staff_pages_in_chinese_show_no_codes(
    site: tuple[FastAPI, Database, str], role: str
) -> None:
    app, database, report_id = site
    client = logged_in_client(app, database, role)
    found = _check(client, _html_get_paths(app, report_id))
    assert found == {}


def test_every_page_was_checked(site: tuple[FastAPI, Database, str]) -> None:
    app, _database, report_id = site
    paths = _html_get_paths(app, report_id)
    assert {"/", "/report", "/help", "/audit", "/queue", f"/queue/{report_id}"} <= set(paths)
    assert {"/hashlists", "/hashlists/demo-exchange", "/hashlists/demo-exchange/remove"} <= set(
        paths
    )
    assert not any("{" in path for path in paths), "a page with a parameter has no sample value"
    assert Path(__file__).name == "test_zh_pages.py"
