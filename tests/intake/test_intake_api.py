"""Partner API: happy path, every error code, idempotency, a full batch, matching on arrival."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.testclient import TestClient
from intake_helpers import make_token, reference_pdq
from sqlalchemy import func, select

from opschub.db import Database
from opschub.intake.models import Report, ReportMatch
from opschub.intake.ratelimit import RateLimiter
from opschub.matching.formats import Entry
from opschub.matching.store import HashListStore

URL = "/api/v1/reports"


def one(**extra: object) -> dict[str, object]:
    report: dict[str, object] = {"incident_types": ["csam"], "urls": ["https://example.org/a"]}
    report.update(extra)
    return report


def count_reports(database: Database) -> int:
    with database.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Report)) or 0)


def test_submit_and_read_status(
    client: TestClient, partner: dict[str, str], database: Database
) -> None:
    body = {
        "reports": [
            one(
                fingerprints=[{"type": "sha256", "value": "AB" * 32}],
                incident_time="2026-01-31T12:00:00Z",
                org_reference="ticket-1",
            ),
            one(urls=["http://Example.org:80/a#x"], incident_types=["live_streaming"]),
        ]
    }
    response = client.post(URL, json=body, headers=partner)
    assert response.status_code == 202, response.text
    ids = response.json()["ids"]
    assert response.json()["received"] == 2 and len(ids) == 2
    status = client.get(f"{URL}/{ids[0]}", headers=partner)
    assert status.status_code == 200
    assert status.json()["status"] == "received"
    assert status.json()["org_reference"] == "ticket-1"
    with database.transaction() as session:
        second = session.get(Report, ids[1])
        assert second is not None
        assert second.urls[0].original == "http://Example.org:80/a#x"
        assert second.urls[0].normalised == "http://example.org/a"
        # http and https are different addresses: not linked to the first report.
        assert second.urls[0].linked_report_id is None
        assert second.priority > 0 and "live_harm" in second.priority_reasons
        first = session.get(Report, ids[0])
        assert first is not None and first.fingerprints[0].value == "ab" * 32


def test_links_to_earlier_open_report(
    client: TestClient, partner: dict[str, str], database: Database
) -> None:
    first = client.post(URL, json={"reports": [one()]}, headers=partner).json()["ids"][0]
    second = client.post(
        URL, json={"reports": [one(urls=["HTTPS://EXAMPLE.ORG:443/a#frag"])]}, headers=partner
    ).json()["ids"][0]
    with database.transaction() as session:
        report = session.get(Report, second)
        assert report is not None and report.urls[0].linked_report_id == first


def test_other_tokens_cannot_see_a_report(
    client: TestClient, partner: dict[str, str], database: Database
) -> None:
    report_id = client.post(URL, json={"reports": [one()]}, headers=partner).json()["ids"][0]
    _, other = make_token(database)
    assert (
        client.get(f"{URL}/{report_id}", headers={"Authorization": f"Bearer {other}"}).status_code
        == 404
    )
    _, reader = make_token(database, permissions=("reports.read",), role="analyst")
    assert (
        client.get(f"{URL}/{report_id}", headers={"Authorization": f"Bearer {reader}"}).status_code
        == 200
    )
    assert client.get(f"{URL}/nonexistent", headers=partner).status_code == 404


def test_bad_fields_are_named_by_json_pointer_and_nothing_is_stored(
    client: TestClient, partner: dict[str, str], database: Database
) -> None:
    body = {
        "reports": [
            one(),
            one(urls=["https://example.org/ok", "ftp://example.org/x"]),
            one(fingerprints=[{"type": "md5", "value": "ab" * 20}]),
            one(incident_types=["unknown_code"]),
            one(urls=["http://192.168.1.1/"]),
            {"incident_types": ["csam"]},
        ]
    }
    response = client.post(URL, json=body, headers=partner)
    assert response.status_code == 400
    fields = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert "only http and https" in fields["/reports/1/urls/1"]
    assert "32 hexadecimal digits" in fields["/reports/2/fingerprints/0"]
    assert "/reports/3/incident_types/0" in fields
    assert "private network" in fields["/reports/4/urls/0"]
    assert "at least one URL or fingerprint" in fields["/reports/5"]
    assert count_reports(database) == 0


def test_malformed_json_and_bombs_are_refused(client: TestClient, partner: dict[str, str]) -> None:
    headers = {**partner, "Content-Type": "application/json"}
    assert client.post(URL, content=b"{not json", headers=headers).status_code == 400
    deep = client.post(URL, content=b"[" * 200_000 + b"]" * 200_000, headers=headers)
    assert deep.status_code in (400, 413)
    deep = client.post(
        URL, content=b'{"reports":' + b"[" * 50_000 + b"]" * 50_000 + b"}", headers=headers
    )
    assert deep.status_code == 400
    huge = {"reports": [one()] * 1001}
    response = client.post(URL, json=huge, headers=partner)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "/reports"
    wide = {"reports": [one(urls=["x"] * 100_000)]}
    response = client.post(URL, json=wide, headers=partner)
    assert response.status_code == 400 and len(response.json()["errors"]) <= 100


def test_oversized_body_is_413_by_header_and_by_stream(
    client: TestClient, partner: dict[str, str]
) -> None:
    payload = b'{"reports": [' + b" " * (6 * 1024 * 1024) + b"]}"
    headers = {**partner, "Content-Type": "application/json"}
    assert client.post(URL, content=payload, headers=headers).status_code == 413

    def chunks() -> Iterator[bytes]:
        for _ in range(7):
            yield b" " * (1024 * 1024)

    streamed = client.post(URL, content=chunks(), headers=headers)  # chunked, no Content-Length
    assert streamed.status_code == 413


def test_authentication_and_permission(client: TestClient, database: Database) -> None:
    bad = client.post(URL, json={"reports": [one()]}, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert "www-authenticate" in bad.headers
    missing = client.post(URL, json={"reports": [one()]})  # no token at all: 401, not a CSRF 403
    assert missing.status_code == 401
    assert "www-authenticate" in missing.headers
    _, reader = make_token(database, permissions=("reports.read",), role="analyst")
    refused = client.post(
        URL, json={"reports": [one()]}, headers={"Authorization": f"Bearer {reader}"}
    )
    assert refused.status_code == 403
    assert client.get(f"{URL}/x", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_idempotency(client: TestClient, partner: dict[str, str], database: Database) -> None:
    body = {"reports": [one()]}
    headers = {**partner, "Idempotency-Key": "batch-1"}
    first = client.post(URL, json=body, headers=headers)
    again = client.post(URL, json=body, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert count_reports(database) == 1
    changed = client.post(
        URL, json={"reports": [one(urls=["https://example.org/b"])]}, headers=headers
    )
    assert changed.status_code == 409
    assert count_reports(database) == 1
    # Keys belong to a token: another partner may use the same key.
    _, other = make_token(database)
    other_headers = {"Authorization": f"Bearer {other}", "Idempotency-Key": "batch-1"}
    assert client.post(URL, json=body, headers=other_headers).status_code == 202
    assert count_reports(database) == 2


def test_rate_limit_answers_429_with_retry_after(
    client: TestClient, partner: dict[str, str]
) -> None:
    client.app.state.intake_api_limiter = RateLimiter(3, 0.01)  # type: ignore[attr-defined]
    body = {"reports": [one(), one()]}
    assert client.post(URL, json=body, headers=partner).status_code == 202
    limited = client.post(URL, json=body, headers=partner)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1


def test_full_batch_of_1000(
    client: TestClient, partner: dict[str, str], database: Database
) -> None:
    body = {
        "reports": [
            one(
                urls=[f"https://example.org/item/{i}"],
                fingerprints=[{"type": "md5", "value": f"{i:032x}"}],
            )
            for i in range(1000)
        ]
    }
    response = client.post(URL, json=body, headers=partner)
    assert response.status_code == 202, response.text[:500]
    assert len(set(response.json()["ids"])) == 1000
    assert count_reports(database) == 1000


def test_fingerprints_are_matched_on_arrival(
    client: TestClient, partner: dict[str, str], database: Database, store: HashListStore
) -> None:
    _, pdq = reference_pdq()
    store.create_list("known-test")
    store.add_entries("known-test", [Entry("pdq", pdq, "case-7"), Entry("md5", "ab" * 16)])
    near = format(int(pdq, 16) ^ 0b111, "064x")  # three bits away
    body = {
        "reports": [
            one(fingerprints=[{"type": "pdq", "value": near, "quality": 100}]),
            one(fingerprints=[{"type": "md5", "value": "AB" * 16}]),
            one(fingerprints=[{"type": "pdq", "value": near, "quality": 10}]),  # too poor to match
            one(),
        ]
    }
    ids = client.post(URL, json=body, headers=partner).json()["ids"]
    with database.transaction() as session:
        reports = [session.get(Report, i) for i in ids]
        assert all(r is not None for r in reports)
        pdq_match = reports[0].matches  # type: ignore[union-attr]
        assert [(m.list_name, m.hash_type, m.distance, m.label) for m in pdq_match] == [
            ("known-test", "pdq", 3, "case-7")
        ]
        assert reports[0].priority >= 1000  # type: ignore[union-attr]
        assert reports[1].matches[0].hash_type == "md5"  # type: ignore[union-attr]
        assert reports[2].matches == [] and reports[3].matches == []  # type: ignore[union-attr]
        assert session.scalar(select(func.count()).select_from(ReportMatch)) == 2


def test_unknown_fields_are_refused_with_escaped_pointers(
    client: TestClient, partner: dict[str, str]
) -> None:
    response = client.post(URL, json={"reports": [one(**{"a/b~c": 1})]}, headers=partner)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "/reports/0/a~1b~0c"
