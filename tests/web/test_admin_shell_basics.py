"""The start page answers HEAD as it answers GET, browsers get a favicon, and the API docs page
loads a Swagger UI that reads OpenAPI 3.1 (5.x) from this server only."""

from __future__ import annotations

from fastapi.testclient import TestClient

from opschub.web.app import APIDOCS_DIR


def test_head_on_the_start_page_answers_like_get(client: TestClient) -> None:
    get = client.get("/")
    head = client.head("/")
    assert get.status_code == head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["content-security-policy"] == get.headers["content-security-policy"]


def test_browsers_get_a_favicon(client: TestClient) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # the ICO header


def test_the_bundled_swagger_ui_reads_openapi_3_1_and_keeps_its_licence() -> None:
    bundle = (APIDOCS_DIR / "swagger-ui-bundle.js").read_text(encoding="utf-8")
    assert "OAS31" in bundle  # the OpenAPI 3.1 plugin, missing from 4.x
    assert "Apache License" in (APIDOCS_DIR / "LICENSE.txt").read_text(encoding="utf-8")


def test_api_docs_page_loads_nothing_from_other_sites(client: TestClient) -> None:
    page = client.get("/api/docs").text
    assert "http://" not in page.replace("http://testserver", "")
    assert "https://" not in page
    assert "<script>" not in page  # no inline script: the CSP forbids it
