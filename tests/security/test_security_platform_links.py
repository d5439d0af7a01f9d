"""Attack: a crafted path makes the 404 page's language links point at another site."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

LANGUAGE_LINK = re.compile(r'<a href="([^"]*)" lang="[^"]+" hreflang="([^"]+)"')


def _language_links(html: str) -> dict[str, str]:
    return {lang: href.replace("&amp;", "&") for href, lang in LANGUAGE_LINK.findall(html)}


def test_protocol_relative_path_does_not_turn_language_links_into_another_site(
    client: Any,
) -> None:
    # httpx would read "//evil.example" as a host: send the path as the attacker's link does.
    url = httpx.URL("http://testserver/").copy_with(raw_path=b"//evil.example/login")
    response = client.get(url)
    assert response.status_code == 404
    links = _language_links(response.text)
    assert set(links) == {"en", "zh-Hans"}
    page = "http://testserver//evil.example/login"
    for lang, href in links.items():
        assert href.startswith("?"), href  # query-only: it cannot name another host or path
        target = urlsplit(urljoin(page, href))
        assert target.netloc == "testserver"
        assert target.query.endswith(f"lang={lang}")


def test_language_links_keep_other_query_parameters_escaped(client: Any) -> None:
    response = client.get('/login?next=/queue&x="><script>&lang=en')
    links = _language_links(response.text)
    assert "<script>" not in response.text.split("<main")[0]
    assert links["zh-Hans"] == "?next=%2Fqueue&x=%22%3E%3Cscript%3E&lang=zh-Hans"
    assert links["en"].count("lang=") == 1
