"""Service rules that the pages and the API share: linking, validation, status changes."""

from __future__ import annotations

import pytest

from opschub.db import Database
from opschub.intake import service
from opschub.intake.models import Report


def public(url: str) -> service.ReportIn:
    return service.ReportIn(channel="public", urls=[url])


def test_links_within_a_batch_and_skips_closed_reports(database: Database) -> None:
    with database.transaction() as session:
        closed = service.submit_report(session, public("https://example.org/p")).report
        service.change_status(session, closed.id, "closed", None)
    with database.transaction() as session:
        first, second = service.submit_reports(
            session, [public("https://example.org/p#a"), public("HTTPS://example.org/p")]
        )
        assert first.report.urls[0].linked_report_id is None  # the only earlier one is closed
        assert second.report.urls[0].linked_report_id == first.report.id


def test_one_report_errors_point_at_fields_without_prefix(database: Database) -> None:
    with database.transaction() as session, pytest.raises(service.IntakeInvalid) as caught:
        service.submit_report(
            session,
            service.ReportIn(
                channel="public",
                urls=["http://10.0.0.1/"],
                description="x" * (service.MAX_DESCRIPTION + 1),
                stated_age_band="12",
            ),
        )
    fields = {e.field for e in caught.value.errors}
    assert fields == {"/urls/0", "/description", "/stated_age_band"}
    with database.transaction() as session:
        assert session.query(Report).count() == 0


def test_status_change_validates_and_is_idempotent(database: Database) -> None:
    with database.transaction() as session:
        report = service.submit_report(session, public("https://example.org/s")).report
        with pytest.raises(ValueError, match="unknown status"):
            service.change_status(session, report.id, "done", None)
        with pytest.raises(service.UnknownReport):
            service.change_status(session, "0" * 32, "closed", None)
        service.change_status(session, report.id, "assessing", None)
        service.change_status(session, report.id, "assessing", None)
        assert report.status == "assessing"
