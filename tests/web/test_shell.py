"""The web shell: health, security headers, language negotiation, no cookies on public pages."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from opschub.config import SettingsError, load_settings
from opschub.web.i18n import parse_accept_language


def test_healthz_reports_database(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"], body["broker"]) == ("ok", "ok", "embedded")


def test_security_headers_on_pages(client: TestClient) -> None:
    response = client.get("/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in response.headers  # plain http in tests


def test_hsts_under_https(monkeypatch: pytest.MonkeyPatch, database) -> None:  # type: ignore[no-untyped-def]
    from opschub import config
    from opschub.web.app import create_app

    monkeypatch.setenv("OPSCHUB_BASE_URL", "https://hotline.example.org")
    config.get_settings.cache_clear()
    app = create_app(config.get_settings(), database)
    with TestClient(app) as client:
        assert "max-age" in client.get("/healthz").headers["strict-transport-security"]


def test_public_pages_set_no_cookie(client: TestClient) -> None:
    for path in ("/", "/?lang=zh-Hans", "/healthz"):
        assert "set-cookie" not in client.get(path).headers


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-Hans"),
        ("en-GB,en;q=0.9", "en"),
        ("fr-FR, zh-Hans;q=0.5", "zh-Hans"),
        ("zh-TW", None),
        ("de", None),
        ("en;q=0.2, zh;q=0.8", "zh-Hans"),
    ],
)
def test_accept_language(header: str, expected: str | None) -> None:
    assert parse_accept_language(header, ("zh-Hans", "en")) == expected


def test_language_from_header_and_explicit_choice(client: TestClient) -> None:
    zh = client.get("/", headers={"accept-language": "zh-CN"})
    assert '<html lang="zh-Hans">' in zh.text
    assert "跳到主要内容" in zh.text
    en = client.get("/?lang=en", headers={"accept-language": "zh-CN"})
    assert '<html lang="en">' in en.text
    assert "Skip to main content" in en.text
    # An explicit choice is kept in links, since no cookie remembers it.
    assert 'href="/login?lang=en"' in en.text


def test_unknown_page_is_translated_404(client: TestClient) -> None:
    response = client.get("/no-such-page", headers={"accept-language": "zh-Hans"})
    assert response.status_code == 404
    assert "找不到页面" in response.text


def test_api_errors_are_json(client: TestClient) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_openapi_document_served(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json").json()
    assert document["info"]["title"] == "opschub"
    assert "/healthz" in document["paths"]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("OPSCHUB_LANGUAGES", "en,fr", "OPSCHUB_LANGUAGES: unknown language 'fr'"),
        ("OPSCHUB_BASE_URL", "hotline.example.org", "OPSCHUB_BASE_URL: must start with http"),
        ("OPSCHUB_DATABASE_URL", "mysql://x", "OPSCHUB_DATABASE_URL: must be a sqlite:// or"),
        ("OPSCHUB_SECRET_KEY", "short", "OPSCHUB_SECRET_KEY: must be at least 32"),
        ("OPSCHUB_LOGIN_MAX_FAILURES", "0", "OPSCHUB_LOGIN_MAX_FAILURES:"),
    ],
)
def test_wrong_setting_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_secret_key_generated_with_mode_0600(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("OPSCHUB_SECRET_KEY")
    monkeypatch.setenv("OPSCHUB_DATA_DIR", str(tmp_path / "fresh"))
    settings = load_settings()
    key = settings.resolved_secret_key()
    path = tmp_path / "fresh" / "secret.key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(key) >= 32
    assert settings.resolved_secret_key() == key  # stable across starts


def test_unexpected_errors_keep_the_security_headers(app) -> None:  # type: ignore[no-untyped-def]
    from fastapi import APIRouter

    from opschub.accounts.permissions import PUBLIC
    from opschub.web.auth import requires

    router = APIRouter()

    @router.get("/boom", dependencies=[requires(PUBLIC)])
    def boom() -> None:
        raise RuntimeError("unexpected")

    app.include_router(router)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
