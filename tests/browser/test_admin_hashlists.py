"""Hash-list import in Chromium: a large file uploads with a progress bar and lands on the list's
page; a file with bad lines shows every bad line in place, and the form works again; the pages
have no serious accessibility finding and break no CSP rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from browser_helpers import axe_source, serious

from factories import browser_login, create_user
from opschub.accounts.permissions import Role
from opschub.db import Database


def _log_in(page: Any, base: str, database: Database, role: Role) -> None:
    user, _password = create_user(database, role)
    browser_login(page, base, database, user)


def test_large_import_shows_progress_and_bad_lines_in_place(
    page: Any, live_server: tuple[str, Database], tmp_path: Path
) -> None:
    base, database = live_server
    _log_in(page, base, database, Role.SENIOR_ANALYST)
    problems: list[str] = []

    def console(message: Any) -> None:
        # The refused file is answered 400 on purpose (Chromium logs that); anything else, e.g. a
        # CSP violation, is a problem.
        if message.type == "error" and "status of 400" not in message.text:
            problems.append(message.text)

    page.on("console", console)

    bad = tmp_path / "bad.csv"
    bad.write_text("hash_type,hash\nmd5," + "a" * 32 + "\nmd5,zz\n", encoding="utf-8")
    page.goto(f"{base}/hashlists/import?lang=zh-Hans")
    page.fill("#name", "big-list")
    page.set_input_files("#file", str(bad))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#file-errors")
    assert page.url == f"{base}/hashlists/import?lang=zh-Hans"  # shown in place
    assert "第 3 行：" in page.inner_text("#file-errors")
    assert page.evaluate("document.activeElement.id") == "file-errors"

    # 40,000 MD5 hashes (1.5 MB): the progress bar is shown while it goes.
    good = tmp_path / "big.csv"
    lines = ["hash_type,hash,label"] + [f"md5,{i:032x},item" for i in range(40_000)]
    good.write_text("\n".join(lines) + "\n", encoding="utf-8")
    page.fill("#name", "big-list")
    page.set_input_files("#file", str(good))
    # A slow uplink (1 MB/s) so that the upload takes long enough to be watched.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 1_000_000},
    )
    page.click("#import-form button[type=submit]")
    page.wait_for_function(
        "() => { const bar = document.getElementById('upload-progress');"
        " return bar && !bar.closest('[hidden]') && bar.value > 0 && bar.value < 100; }",
        timeout=30_000,
    )
    page.wait_for_url(f"{base}/hashlists/big-list?*", timeout=60_000)
    assert "40,000" in page.inner_text("main")
    assert "big.csv" in page.inner_text("main")  # the import history names the file
    assert problems == []


def test_hash_list_pages_have_no_serious_accessibility_finding(
    page: Any, live_server: tuple[str, Database], tmp_path: Path
) -> None:
    base, database = live_server
    from opschub.hashlists import service

    list_file = tmp_path / "demo.csv"
    list_file.write_text("hash_type,hash\nmd5," + "c" * 32 + "\n", encoding="utf-8")
    service.store().import_file("axe-list", list_file, version="1", source="test")
    _log_in(page, base, database, Role.ADMIN)
    axe = axe_source()
    for lang in ("en", "zh-Hans"):
        for path in (
            "/hashlists",
            "/hashlists/axe-list",
            "/hashlists/import",
            "/hashlists/axe-list/remove",
            "/audit",
        ):
            page.goto(f"{base}{path}?lang={lang}")
            assert serious(page, axe) == [], f"{path} ({lang})"
