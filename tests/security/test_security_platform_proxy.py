"""Attacks on the rate limits through the reverse proxy.

Behind a proxy every visitor used to share the proxy's address, so one visitor could use up the
public forms' limit for everyone; and a visitor must not escape the limit by sending their own
``X-Forwarded-For``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from loopback import running_server
from opschub.config import Settings
from opschub.db import Database
from opschub.intake.views import PUBLIC_BURST
from opschub.web.cli import uvicorn_options

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _status_lookups(base: str, forwarded_for: Iterator[str], times: int) -> list[bool]:
    """POST the public receipt-status form ``times`` times, each claiming an address; True for
    each one refused as a flood (429)."""
    with httpx.Client(base_url=base, timeout=10) as http:
        token = TOKEN.search(http.get("/report/status").text)
        assert token is not None
        return [
            http.post(
                "/report/status",
                data={"csrf_token": token.group(1), "code": "NO-SUCH-CODE"},
                headers={"x-forwarded-for": next(forwarded_for)},
            ).status_code
            == 429
            for _ in range(times)
        ]


def _addresses(*fixed: str) -> Iterator[str]:
    if fixed:
        while True:
            yield from fixed
    n = 0
    while True:
        n += 1
        yield f"198.51.100.{n % 250 + 1}"


def test_one_visitor_behind_the_proxy_cannot_use_up_everyone_s_limit(
    settings: Settings, database: Database
) -> None:
    trusted = settings.model_copy(update={"trusted_proxies": ("127.0.0.0/8",)})
    with running_server(trusted, database) as base:
        flooding = _status_lookups(base, _addresses("203.0.113.7"), PUBLIC_BURST + 1)
        assert flooding == [False] * PUBLIC_BURST + [True]
        # Another visitor behind the same proxy still gets through.
        assert _status_lookups(base, _addresses("203.0.113.8"), 1) == [False]
        # The right-most untrusted address counts: a made-up left-most entry changes nothing.
        spoofed = _status_lookups(base, _addresses("10.9.9.9, 203.0.113.7"), 1)
        assert spoofed == [True]


def test_forged_forwarded_for_from_an_untrusted_client_is_ignored(
    settings: Settings, database: Database
) -> None:
    assert settings.trusted_proxies == ()
    with running_server(settings, database) as base:
        statuses = _status_lookups(base, _addresses(), PUBLIC_BURST + 1)
    assert statuses[-1] is True  # a new X-Forwarded-For each time did not buy a new bucket


def test_trusted_proxies_setting_names_the_bad_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    from opschub.config import SettingsError, load_settings

    monkeypatch.setenv("OPSCHUB_TRUSTED_PROXIES", "10.0.0.1, 10.0.0.0/8, fd00::/8")
    loaded = load_settings()
    assert loaded.trusted_proxies == ("10.0.0.1", "10.0.0.0/8", "fd00::/8")
    options = uvicorn_options(loaded)
    assert options["proxy_headers"] is True
    assert options["forwarded_allow_ips"] == "10.0.0.1,10.0.0.0/8,fd00::/8"
    monkeypatch.setenv("OPSCHUB_TRUSTED_PROXIES", "10.0.0.1,proxy.example")
    with pytest.raises(SettingsError, match=r"OPSCHUB_TRUSTED_PROXIES: 'proxy\.example'"):
        load_settings()


def test_server_logs_no_address_and_takes_no_websockets(settings: Settings) -> None:
    options = uvicorn_options(settings)
    assert options["access_log"] is False
    assert options["ws"] == "none"  # uvicorn logs WebSocket handshakes with the address
    assert options["proxy_headers"] is False
