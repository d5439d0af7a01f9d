"""Attacks on reported URLs and on stored times (issue 8, items 3 and 11)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, MetaData, String, Table, insert, select

from opschub.db import Database, UTCDateTime
from opschub.intake.urls import UrlError, normalise_url

UNICODE_DOT_HOSTS = [
    "http://127。0。0。1/",  # ideographic full stop
    "http://169．254．169．254/latest/meta-data/",  # full-width full stop
    "http://127｡0｡0｡1/",  # half-width ideographic full stop
    "http://localhost。/",
    "http://localhost./",
    "http://localhost../",
    "http://LOCALHOST。:8080/admin",
    "http://１２７．０．０．１/",  # full-width digits
    "http://10。0。0。1/",
    "http://192.168.0.1。/",
    "http://intranet。local/",
    "http://2130706433/",  # decimal IPv4
    "http://0x7f000001/",  # hexadecimal IPv4
    "http://0177.0.0.1/",  # octal IPv4
    "http://0177。0。0。1/",  # octal IPv4 with ideographic full stops
    "http://127.1/",
    "http://[::1]/",
    "http://[0:0:0:0:0:0:0:1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::127.0.0.1]/",  # IPv4-compatible
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "http://[fe80::1%25eth0]/",
    "http://[fd00::1]/",
]


@pytest.mark.parametrize("url", UNICODE_DOT_HOSTS)
def test_url_filter_bypass_with_unicode_full_stops_and_other_forms_is_refused(url: str) -> None:
    with pytest.raises(UrlError):
        normalise_url(url)


def test_unicode_full_stops_in_a_public_name_are_mapped_not_refused() -> None:
    assert normalise_url("http://example。org/a") == "http://example.org/a"
    assert normalise_url("https://bücher．example/") == "https://xn--bcher-kva.example/"


OFFSETS = [
    ("2026-01-31T12:00:00+02:00", datetime(2026, 1, 31, 10, 0, tzinfo=UTC)),
    ("2026-01-31T12:00:00-05:30", datetime(2026, 1, 31, 17, 30, tzinfo=UTC)),
    ("2026-01-01T00:30:00+14:00", datetime(2025, 12, 31, 10, 30, tzinfo=UTC)),
    ("2026-01-31T12:00:00Z", datetime(2026, 1, 31, 12, 0, tzinfo=UTC)),
]


@pytest.mark.parametrize(("text", "utc"), OFFSETS)
def test_time_with_offset_is_not_stored_as_its_wall_clock(
    database: Database, text: str, utc: datetime
) -> None:
    metadata = MetaData()
    table = Table(
        "security_intake_times", metadata, Column("id", String(8)), Column("at", UTCDateTime())
    )
    metadata.create_all(database.engine)
    try:
        with database.transaction() as session:
            session.execute(insert(table), [{"id": "a", "at": datetime.fromisoformat(text)}])
        with database.read() as session:
            stored = session.scalar(select(table.c.at))
        assert stored == utc
        assert stored is not None and stored.utcoffset() == timedelta(0)
    finally:
        metadata.drop_all(database.engine)


def test_report_incident_time_round_trips_as_utc(database: Database) -> None:
    from opschub.intake import service

    aware = datetime(2026, 1, 31, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    with database.transaction() as session:
        done = service.submit_report(
            session,
            service.ReportIn(
                channel="partner",
                incident_types=["csam"],
                urls=["https://example.org/a"],
                incident_at=aware,
            ),
        )
    with database.read() as session:
        report = service.get_report(session, done.id)
        assert report.incident_at == datetime(2026, 1, 31, 10, 0, tzinfo=UTC)
        assert report.incident_at is not None and report.incident_at.hour == 10
