"""Intake's reports counted by day, channel and form on both engines (opschub.intake.facts)."""

from __future__ import annotations

from datetime import UTC, datetime

from opschub.clock import frozen
from opschub.db import Database
from opschub.intake import service as intake
from opschub.stats import service


def _report(channel: str, forms: list[str]) -> intake.ReportIn:
    if channel == "self_report":
        return intake.ReportIn(
            channel="self_report",
            fingerprints=[intake.FingerprintIn("sha256", f"{len(forms):064x}")],
            media_kind="image",
        )
    return intake.ReportIn(
        channel="public", incident_types=forms, urls=["https://example.org/stats"]
    )


def test_reports_are_counted_by_channel_and_first_form_in_their_month(database: Database) -> None:
    with frozen(datetime(2026, 3, 31, 23, 30, tzinfo=UTC)), database.transaction() as session:
        intake.submit_reports(
            session,
            [
                _report("public", ["grooming", "csam"]),
                _report("public", ["csam"]),
                _report("public", []),
                _report("self_report", []),
            ],
        )
    with frozen(datetime(2026, 4, 1, 0, 30, tzinfo=UTC)), database.transaction() as session:
        intake.submit_report(session, _report("public", ["csam"]))
    with database.read() as session:
        march = service.table(session, "reports_received", ["channel", "form"], "2026-03")
        april = service.table(session, "reports_received", ["channel"], "2026-04")
        year = service.table(session, "reports_received", [], "2026")
        selves = service.table(session, "self_reports_received", [], "2026-Q1")
    cells = {(c["key"]["channel"], c["key"]["form"]): c["value"] for c in march["cells"]}
    assert cells[("total", "total")] == 4
    assert cells[("public", "grooming")] == 1  # the first form named
    assert cells[("public", "csam")] == 1
    assert cells[("public", "unspecified")] == 1
    assert cells[("self_report", "total")] == 1
    assert cells[("partner", "total")] == 0
    assert {c["key"]["channel"]: c["value"] for c in april["cells"]}["total"] == 1
    assert year["cells"][0]["value"] == 5
    assert selves["cells"][0]["value"] == 1
