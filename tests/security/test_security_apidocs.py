"""Issue 8 item 19: /static/apidocs/ served Swagger UI's whole distribution, including its sample
index.html (a page that loads any OpenAPI URL given in the query) and oauth2-redirect.html (a page
that posts tokens to its opener). Only the two files /api/docs uses are served now."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize(
    "path",
    [
        "/static/apidocs/",
        "/static/apidocs/index.html",
        "/static/apidocs/oauth2-redirect.html",
        "/static/apidocs/oauth2-redirect.js",
        "/static/apidocs/swagger-initializer.js",
        "/static/apidocs/swagger-ui.js",
        "/static/apidocs/swagger-ui-bundle.js.map",
        "/static/apidocs/LICENSE.txt",
        "/static/apidocs/README.md",
        "/static/apidocs/../apidocs.js",
        "/static/apidocs/%2e%2e/vendor/swagger_ui/README.md",
    ],
)
def test_apidocs_sample_pages_are_not_served(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "SwaggerUIBundle" not in response.text
    assert "window.opener" not in response.text  # the redirect page hands tokens to its opener


def test_apidocs_serves_only_what_the_docs_page_loads(client: TestClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    for asset in ("/static/apidocs/swagger-ui-bundle.js", "/static/apidocs/swagger-ui.css"):
        assert f'"{asset}"' in page.text
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert len(response.content) > 10_000
