"""Anonymous self-reports used to plant "known matches" (issue 8, item 8).

Anyone can send any hash as a self-report. Its fingerprints go to a list marked unverified
(exported with that marking), a match against it is never a known match, repeats do not raise
priority, and analysts can reject false entries with a recorded reason.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from factories import logged_in_client
from opschub.accounts.permissions import Role
from opschub.audit.models import AuditEvent
from opschub.clock import frozen
from opschub.db import Database
from opschub.intake import service
from opschub.matching.formats import Entry, UnsupportedExport
from opschub.matching.store import HashListStore

SHA = "a1" * 32
MD5 = "b2" * 16


@pytest.fixture
def store(database: Database) -> HashListStore:
    return service.default_store()


def _self_report(database: Database, sha: str = SHA, md5: str = MD5) -> service.Submitted:
    with database.transaction() as session:
        return service.submit_report(
            session,
            service.ReportIn(
                channel="self_report",
                fingerprints=[
                    service.FingerprintIn("sha256", sha),
                    service.FingerprintIn("md5", md5),
                ],
            ),
            with_receipts=True,
        )


def test_repeated_anonymous_self_reports_never_make_a_known_match(
    database: Database, store: HashListStore
) -> None:
    first = _self_report(database)
    repeats = [_self_report(database) for _ in range(3)]
    assert not store.info(service.SELF_REPORTED_LIST).verified
    for again in repeats:
        assert "known_match" not in again.priority_reasons
        assert again.priority == first.priority  # repeating raises nothing
        assert "self_report_match" in again.priority_reasons
        with database.read() as session:
            labels = {m.label for m in service.get_report(session, again.id).matches}
        assert labels == {f"report:{first.id}"}  # linked to the report it repeats


def test_partner_report_of_a_self_reported_hash_is_not_a_known_match(
    database: Database, store: HashListStore
) -> None:
    _self_report(database)
    with database.transaction() as session:
        partner = service.submit_report(
            session,
            service.ReportIn(
                channel="partner",
                incident_types=["csam"],
                fingerprints=[service.FingerprintIn("sha256", SHA)],
            ),
        )
    assert partner.priority == 0 and partner.priority_reasons == ("self_report_match",)


def test_known_benign_list_match_is_not_a_known_match(
    database: Database, store: HashListStore
) -> None:
    store.create_list("benign-photos", benign=True)
    store.add_entries("benign-photos", [Entry("sha256", SHA)])
    with database.transaction() as session:
        partner = service.submit_report(
            session,
            service.ReportIn(
                channel="partner",
                incident_types=["csam"],
                fingerprints=[service.FingerprintIn("sha256", SHA)],
            ),
        )
    assert "known_match" not in partner.priority_reasons


def test_verified_list_match_stays_a_known_match(database: Database, store: HashListStore) -> None:
    store.create_list("confirmed")
    store.add_entries("confirmed", [Entry("sha256", SHA)])
    with database.transaction() as session:
        partner = service.submit_report(
            session,
            service.ReportIn(
                channel="partner",
                incident_types=["csam"],
                fingerprints=[service.FingerprintIn("sha256", SHA)],
            ),
        )
    assert partner.priority_reasons == ("known_match",)


def test_self_reported_list_of_an_older_version_is_marked_unverified(
    database: Database, store: HashListStore
) -> None:
    store.create_list(service.SELF_REPORTED_LIST, sharing="partners")  # verified by default
    _self_report(database)
    assert not store.info(service.SELF_REPORTED_LIST).verified


def test_unverified_list_exports_say_so_in_every_record(
    database: Database, store: HashListStore
) -> None:
    _self_report(database)
    out = io.StringIO()
    assert store.export(service.SELF_REPORTED_LIST, out, format="jsonl") == 2
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["verified"] for r in records] == [False, False]
    out = io.StringIO()
    store.export(service.SELF_REPORTED_LIST, out, format="csv")
    header, *rows = out.getvalue().splitlines()
    assert header.endswith(",verified") and all(r.endswith(",false") for r in rows)
    out = io.StringIO()
    store.export(service.SELF_REPORTED_LIST, out, format="tx-csv")
    assert all("unverified" in r for r in out.getvalue().splitlines()[1:])
    for unmarkable in ("lines", "vics"):
        with pytest.raises(UnsupportedExport):
            store.export(service.SELF_REPORTED_LIST, io.StringIO(), format=unmarkable)


@pytest.fixture
def senior(app: FastAPI, database: Database) -> Iterator[TestClient]:
    with logged_in_client(app, database, Role.SENIOR_ANALYST) as client:
        yield client


def test_analyst_rejects_false_self_reported_entries_with_an_audited_reason(
    app: FastAPI, senior: TestClient, database: Database, store: HashListStore
) -> None:
    report = _self_report(database)
    page = senior.get(f"/queue/{report.id}/reject-fingerprints")
    assert page.status_code == 200 and "in the unverified list" in page.text
    refused = senior.post(f"/queue/{report.id}/reject-fingerprints", data={"hash": f"sha256:{SHA}"})
    assert refused.status_code == 400  # no reason given: nothing changes
    assert len(list(store.entries(service.SELF_REPORTED_LIST))) == 2
    done = senior.post(
        f"/queue/{report.id}/reject-fingerprints",
        data={"hash": f"sha256:{SHA}", "reason": "hash of a known stock photo"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "1" in senior.get(done.headers["location"]).text
    assert [e.hash for e in store.entries(service.SELF_REPORTED_LIST)] == [MD5]
    assert store.match([Entry("sha256", SHA)]) == [[]]
    out = io.StringIO()
    store.export(service.SELF_REPORTED_LIST, out, format="jsonl")
    assert SHA not in out.getvalue()
    # Sending it again does not put it back.
    _self_report(database)
    assert [e.hash for e in store.entries(service.SELF_REPORTED_LIST)] == [MD5]
    with database.read() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "intake.self_reports.rejected")
        ).one()
    assert event.actor_id == senior.user.id  # type: ignore[attr-defined]
    assert event.details["reason"] == "hash of a known stock photo"
    assert event.details["removed"] == [f"sha256:{SHA}"]
    with logged_in_client(app, database, Role.ANALYST) as analyst:
        assert analyst.get(f"/queue/{report.id}/reject-fingerprints").status_code == 403


def test_rejecting_from_the_command_line_names_bad_hashes_and_needs_a_reason(
    database: Database, store: HashListStore
) -> None:
    from opschub.cli import app

    _self_report(database)
    runner = CliRunner()
    bad = runner.invoke(app, ["intake", "self-reports", "reject", "xyz", "--reason", "flood"])
    assert bad.exit_code == 2 and "hash 1 ('xyz')" in bad.stderr
    empty = runner.invoke(app, ["intake", "self-reports", "reject", SHA, "--reason", " "])
    assert empty.exit_code == 2 and "--reason" in empty.stderr
    done = runner.invoke(
        app,
        [
            "intake",
            "self-reports",
            "reject",
            SHA,
            "md5:" + "0" * 32,
            "--reason",
            "flood",
            "--format",
            "json",
        ],
    )
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout) == {
        "removed": [f"sha256:{SHA}"],
        "not_in_list": ["md5:" + "0" * 32],
    }


def test_suspicious_self_reports_are_benign_matches_and_bursts(
    database: Database, store: HashListStore
) -> None:
    store.create_list("benign-photos", benign=True)
    store.add_entries("benign-photos", [Entry("md5", MD5)])
    _self_report(database)  # its MD5 is a known harmless image
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    flood = []
    for i in range(5):
        with frozen(start + timedelta(minutes=i)):
            flood.append(_self_report(database, sha=f"{i:064x}", md5=f"{i:032x}"))
    with frozen(start + timedelta(days=2)):
        _self_report(database, sha="c" * 64, md5="d" * 32)  # alone: not a burst
    with database.read() as session:
        found = service.suspicious_self_reports(
            session, burst_size=8, burst_window=timedelta(minutes=10)
        )
    benign = {(s.entry.hash_type, s.entry.hash) for s in found if s.reason == "benign_match"}
    burst = {s.entry.hash for s in found if s.reason == "burst"}
    assert benign == {("md5", MD5)}
    assert burst == {f"{i:064x}" for i in range(5)} | {f"{i:032x}" for i in range(5)}
