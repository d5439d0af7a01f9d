"""Removal figures on a small known data set with injected times: medians and 90th percentiles,
shares removed within 24 h / 72 h / 7 days by country and provider, recidivism, the page and its
CSV, and the facts statistics reads (on SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi import FastAPI

from factories import logged_in_client
from opschub.db import Database
from opschub.evidence.models import EvidenceItem
from opschub.ids import new_id
from opschub.takedown import facts
from opschub.takedown.figures import FiguresError, quantile, removal_figures
from opschub.takedown.models import Item, Target

H = timedelta(hours=1)
NOV = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
OCT = datetime(2026, 10, 20, 8, 0, tzinfo=UTC)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _target(
    session,  # type: ignore[no-untyped-def]
    name: str,
    *,
    reported: datetime,
    country: str | None,
    provider: str | None,
    to_notice: float | None = None,
    to_removal: float | None = None,
) -> str:
    notice = reported + to_notice * H if to_notice is not None else None
    removed = notice + to_removal * H if notice is not None and to_removal is not None else None
    target = Target(
        id=new_id(),
        url=f"https://{name}.example/x",
        url_hash=_sha(name),
        host=f"{name}.example",
        state="removed" if removed else ("notified" if notice else "captured"),
        reported_at=reported,
        confirmed_at=reported + 0.5 * H if notice else None,
        first_notice_at=notice,
        removed_at=removed,
        country=country,
        provider=provider,
        hosting={},
        capture={},
    )
    session.add(target)
    session.flush()
    return target.id


def _item(
    session, target_id: str, seed: str, *, decided: datetime, seen_before: str | None = None
) -> None:  # type: ignore[no-untyped-def]
    sha = _sha(seed)
    evidence = EvidenceItem(
        sha256=_sha(seed + target_id),
        md5="0" * 32,
        sha1="0" * 40,
        size=1,
        media_type="image/png",
        backend="local",
        matches=[],
    )
    session.add(evidence)
    session.flush()
    session.add(
        Item(
            target_id=target_id,
            evidence_item_id=evidence.id,
            url=f"https://cdn.example/{seed}.png",
            kind="image",
            media_type="image/png",
            size=1,
            sha256=sha,
            md5="0" * 32,
            state="confirmed",
            decision="illegal",
            baseline=True,
            fetch={},
            matches=[],
            seen_before_target_id=seen_before,
            decided_at=decided,
        )
    )


@pytest.fixture
def known(database: Database) -> dict[str, str]:
    """Five targets reported in November 2026 and one in October (outside the period)."""
    with database.transaction() as s:
        ids = {
            "t1": _target(
                s, "t1", reported=NOV, country="DE", provider="Host A", to_notice=2, to_removal=12
            ),
            "t2": _target(
                s,
                "t2",
                reported=NOV + 24 * H,
                country="DE",
                provider="Host A",
                to_notice=4,
                to_removal=48,
            ),
            "t3": _target(
                s,
                "t3",
                reported=NOV + 48 * H,
                country="NL",
                provider="Host B",
                to_notice=6,
                to_removal=200,
            ),
            "t4": _target(
                s, "t4", reported=NOV + 72 * H, country="NL", provider="Host B", to_notice=1
            ),
            "t5": _target(s, "t5", reported=NOV + 96 * H, country=None, provider=None),
            "t6": _target(
                s, "t6", reported=OCT, country="DE", provider="Host A", to_notice=1, to_removal=1
            ),
        }
        _item(s, ids["t6"], "same", decided=OCT + H)
        _item(s, ids["t1"], "other", decided=NOV + H)
        _item(s, ids["t3"], "same", decided=NOV + 49 * H, seen_before=ids["t6"])
    return ids


def test_quantiles_interpolate_between_ranks() -> None:
    assert quantile([], 0.5) is None
    assert quantile([7.0], 0.9) == 7.0
    assert quantile([1.0, 2.0, 4.0, 6.0], 0.5) == 3.0
    assert quantile([1.0, 2.0, 4.0, 6.0], 0.9) == pytest.approx(5.4)


def test_figures_for_a_period_count_only_its_reports(
    database: Database, known: dict[str, str]
) -> None:
    with database.read() as session:
        f = removal_figures(session, start=date(2026, 11, 1), end=date(2026, 11, 30))
    o = f.overall
    assert (o.targets, o.notified, o.removed) == (5, 4, 3)
    # report -> notice: 2, 4, 6, 1 hours
    assert o.report_to_notice.median == pytest.approx(3.0)
    assert o.report_to_notice.p90 == pytest.approx(5.4)
    # notice -> removal: 12, 48, 200 hours (t4 is still online)
    assert o.notice_to_removal.median == pytest.approx(48.0)
    assert o.notice_to_removal.p90 == pytest.approx(169.6)
    # of 4 notified: 1 gone within 24 h, 2 within 72 h, 2 within 7 days (t3 took 200 h)
    assert o.within == pytest.approx((0.25, 0.5, 0.5))

    by_country = {g.key: g for g in f.by_country}
    assert [g.key for g in f.by_country] == ["DE", "NL", None]
    assert by_country["DE"].notice_to_removal.median == pytest.approx(30.0)
    assert by_country["DE"].within == pytest.approx((0.5, 1.0, 1.0))
    assert by_country["NL"].within == pytest.approx((0.0, 0.0, 0.0))
    assert by_country[None].within == (None, None, None)
    assert {g.key: g.removed for g in f.by_provider} == {"Host A": 2, "Host B": 1, None: 0}

    # t3 carries material first confirmed at t6 (October): one of 4 confirmed targets.
    r = f.recidivism
    assert (r.items_seen_again, r.targets_with_repeat, r.confirmed_targets) == (1, 1, 4)
    assert r.share == pytest.approx(0.25)


def test_an_open_period_includes_everything_and_a_backwards_one_is_refused(
    database: Database, known: dict[str, str]
) -> None:
    with database.read() as session:
        everything = removal_figures(session)
        assert everything.overall.targets == 6
        assert everything.overall.within[0] == pytest.approx(2 / 5)
        october = removal_figures(session, end=date(2026, 10, 31))
        assert october.overall.targets == 1
        assert october.recidivism.items_seen_again == 0
        with pytest.raises(FiguresError, match="end"):
            removal_figures(session, start=date(2026, 11, 2), end=date(2026, 11, 1))


def test_facts_for_statistics_group_on_both_engines(
    database: Database, known: dict[str, str]
) -> None:
    from sqlalchemy import func, select

    with database.read() as session:
        notices = facts.notice_facts().subquery()
        rows = session.execute(
            select(notices.c.country, func.count(), func.sum(notices.c.hours_to_removal))
            .group_by(notices.c.country)
            .order_by(notices.c.country)
        ).all()
        assert [(c, n, round(h or 0, 3)) for c, n, h in rows] == [("DE", 3, 61.0), ("NL", 2, 200.0)]
        days = session.execute(
            select(notices.c.sent_on, notices.c.hours_to_removal).order_by(notices.c.sent_on)
        ).all()
        assert days[0][0] == date(2026, 10, 20)
        assert [d for d, _ in days][1:] == [date(2026, 11, d) for d in (2, 3, 4, 5)]
        assert days[-1][1] is None  # t4: still online
        items = facts.item_facts().subquery()
        per_day = session.execute(
            select(items.c.confirmed_on, items.c.country, func.count())
            .group_by(items.c.confirmed_on, items.c.country)
            .order_by(items.c.confirmed_on)
        ).all()
        assert per_day == [
            (date(2026, 10, 20), "DE", 1),
            (date(2026, 11, 2), "DE", 1),
            (date(2026, 11, 4), "NL", 1),
        ]


def test_the_page_shows_the_figures_with_charts_and_exports_csv(
    app: FastAPI, database: Database, known: dict[str, str]
) -> None:
    client = logged_in_client(app, database, "analyst")
    page = client.get("/takedown/figures", params={"start": "2026-11-01", "end": "2026-11-30"})
    assert page.status_code == 200
    html = page.text
    assert 'id="overall-report-to-notice">3.0 h<' in html
    assert 'id="overall-notice-to-removal">48.0 h<' in html
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart') == 3
    assert "DE 30 h" in html  # the chart's alt text carries the value
    assert 'class="stack"' in html and 'data-label="' in html
    answer = client.get(
        "/takedown/figures.csv", params={"start": "2026-11-01", "end": "2026-11-30"}
    )
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    overall = next(r for r in rows if r["scope"] == "all")
    assert overall["notice_to_removal_p90_hours"] == "169.6"
    assert overall["removed_within_24h"] == "0.25"
    nl = next(r for r in rows if r["scope"] == "country" and r["group"] == "NL")
    assert (nl["notified"], nl["removed"], nl["removed_within_7d"]) == ("2", "1", "0")
    recidivism = {r["group"]: r["targets"] for r in rows if r["scope"] == "recidivism"}
    assert recidivism == {
        "items_seen_again": "1",
        "targets_with_repeat": "1",
        "share_of_confirmed_targets": "0.25",
    }


def test_a_bad_period_is_named_not_a_server_error(app: FastAPI, database: Database) -> None:
    client = logged_in_client(app, database, "analyst")
    page = client.get("/takedown/figures", params={"start": "2026-13-01"})
    assert page.status_code == 400 and 'id="start-error"' in page.text
    page = client.get("/takedown/figures", params={"start": "2026-11-02", "end": "2026-11-01"})
    assert page.status_code == 400 and 'id="end-error"' in page.text
    assert client.get("/takedown/figures.csv", params={"end": "soon"}).status_code == 400
    statistician = logged_in_client(app, database, "statistician")
    assert statistician.get("/takedown/figures").status_code == 403
