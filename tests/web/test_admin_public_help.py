"""Help lines per language on the public pages, the operator's own list, and the quick exit."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from opschub.config import Settings


@pytest.mark.parametrize("path", ["/report", "/report/me", "/report/status", "/help"])
def test_chinese_pages_show_chinas_help_lines(client: TestClient, path: str) -> None:
    page = client.get(path, params={"lang": "zh-Hans"}).text
    for number in ('href="tel:110"', 'href="tel:12355"', 'href="tel:120"'):
        assert number in page
    assert "116 111" not in page and "911" not in page
    assert 'href="https://www.baidu.com/"' in page  # the quick exit


@pytest.mark.parametrize("path", ["/report", "/report/me", "/report/status", "/help"])
def test_english_pages_show_international_help_lines(client: TestClient, path: str) -> None:
    page = client.get(path, params={"lang": "en"}).text
    assert 'href="tel:112"' in page
    assert "https://childhelplineinternational.org/helplines/" in page
    assert "12355" not in page and 'href="tel:110"' not in page
    assert 'href="https://www.google.com/"' in page


def test_operators_list_replaces_the_defaults(client: TestClient, settings: Settings) -> None:
    (settings.data_dir / "helplines.json").write_text(
        json.dumps(
            {
                "quick_exit": {"en": "https://weather.example/"},
                "services": [
                    {"name": {"en": "Hotline of Ruritania"}, "phone": "0800 123", "text": {}},
                    {"languages": ["zh-Hans"], "name": {"en": "Chinese only"}, "phone": "1"},
                ],
            }
        ),
        encoding="utf-8",
    )
    en = client.get("/help", params={"lang": "en"}).text
    assert "Hotline of Ruritania" in en and "Chinese only" not in en and "12355" not in en
    assert 'href="https://weather.example/"' in en
    zh = client.get("/help", params={"lang": "zh-Hans"}).text
    assert "Hotline of Ruritania" in zh and "Chinese only" in zh
    assert 'href="https://weather.example/"' in zh  # falls back to the English address


def test_quick_exit_never_leaves_for_a_non_https_address(
    client: TestClient, settings: Settings
) -> None:
    (settings.data_dir / "helplines.json").write_text(
        json.dumps({"quick_exit": {"en": "javascript:alert(1)"}, "services": []}),
        encoding="utf-8",
    )
    page = client.get("/report", params={"lang": "en"}).text
    assert "javascript:" not in page
    assert 'href="https://www.google.com/"' in page


def test_the_public_home_page_has_the_quick_exit_too(client: TestClient) -> None:
    assert (
        'href="https://www.baidu.com/" rel="noreferrer" data-quick-exit'
        in client.get("/", params={"lang": "zh-Hans"}).text
    )
