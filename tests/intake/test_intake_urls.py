"""URL normalisation: one table of accepted forms, one of refusals naming the reason."""

from __future__ import annotations

import pytest

from opschub.intake.urls import UrlError, normalise_url

ACCEPTED = [
    ("HTTP://Example.ORG/a", "http://example.org/a"),
    ("example.org", "http://example.org/"),
    ("http://example.org", "http://example.org/"),
    ("http://example.org:80/x", "http://example.org/x"),
    ("https://example.org:443/x", "https://example.org/x"),
    ("https://example.org:8443/x", "https://example.org:8443/x"),
    ("http://example.org/a#fragment", "http://example.org/a"),
    ("http://example.org/a/./b/../c", "http://example.org/a/c"),
    ("http://example.org/%7euser", "http://example.org/~user"),
    ("http://example.org/a%2fb", "http://example.org/a%2Fb"),
    ("http://example.org/ä", "http://example.org/%C3%A4"),
    ("http://example.org/?q=%e4&b=1", "http://example.org/?q=%E4&b=1"),
    ("http://example.org/100%", "http://example.org/100%25"),
    ("http://user:secret@example.net/", "http://example.net/"),
    ("https://bücher.example/", "https://xn--bcher-kva.example/"),
    ("https://BÜCHER.example./", "https://xn--bcher-kva.example/"),
    ("http://例子.测试/路径", "http://xn--fsqu00a.xn--0zwm56d/%E8%B7%AF%E5%BE%84"),
    ("http://93.184.215.14/x", "http://93.184.215.14/x"),
    (
        "http://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/",
        "http://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/",
    ),
    ("  https://example.org/x  ", "https://example.org/x"),
]

REFUSED = [
    ("ftp://example.org/file", "only http and https"),
    ("javascript:alert(1)", "only http and https"),
    ("file:///etc/passwd", "only http and https"),
    ("http://127.0.0.1/", "loopback"),
    ("http://127.1/", "loopback"),
    ("http://2130706433/", "loopback"),
    ("http://0x7f.0.0.1/", "loopback"),
    ("http://[::1]/", "loopback"),
    ("http://[::ffff:10.0.0.1]/", "private"),
    ("http://10.1.2.3/", "private"),
    ("http://192.168.0.1/", "private"),
    ("http://172.16.5.4/", "private"),
    ("http://169.254.169.254/latest/meta-data", "link-local"),
    ("http://[fe80::1]/", "link-local"),
    ("http://localhost/", "local name"),
    ("http://printer.local/", "local name"),
    ("http://intranet/", "no dot"),
    ("http://exa mple.org/", "spaces"),
    ("http://example.org:99999/", "malformed"),
    ("http://[::1/", "malformed"),
    ("http://a..b/", "not a valid domain name"),
    ("", "empty"),
    ("http://example.org/" + "a" * 3000, "longer than"),
]


@pytest.mark.parametrize(("raw", "expected"), ACCEPTED)
def test_accepted(raw: str, expected: str) -> None:
    assert normalise_url(raw) == expected


@pytest.mark.parametrize(("raw", "reason"), REFUSED)
def test_refused_with_reason(raw: str, reason: str) -> None:
    with pytest.raises(UrlError) as caught:
        normalise_url(raw)
    assert reason in caught.value.reason


def test_normalising_is_idempotent() -> None:
    for raw, expected in ACCEPTED:
        assert normalise_url(expected) == expected, raw
