"""Assessment and classification under two regimes, on SQLite and PostgreSQL: four eyes, a
senior analyst for disagreements, "assessed once", recidivism, the confirmed hash list, the
notice scheduled, the analysts' exposure count."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from takedown_assess_helpers import (
    ADMIN,
    ANNA,
    BORIS,
    SENIOR,
    ensure_notify_task,
    report_with,
    run_captures,
    site,
)

from loopback import Site, send
from opschub.audit.models import AuditEvent
from opschub.db import Database
from opschub.evidence.models import CustodyEvent, EvidenceItem
from opschub.hashlists import service as hashlists
from opschub.jobs.models import Job
from opschub.matching.formats import Entry
from opschub.takedown import service
from opschub.takedown.service import Decision, Refused, TakedownError
from pictures import photo

__all__ = ["site"]

BASELINE = Decision(
    "illegal",
    real_child=True,
    under_13=True,
    abuse_or_genitals=True,
    form="csam",
    age_band="5-9",
    sex="unknown",
)


@pytest.fixture(autouse=True)
def _notify_task() -> None:
    ensure_notify_task()


def _captured(database: Database, site: Site, path: str, *seeds: int) -> str:
    """A captured target at ``path`` whose page shows pictures made from ``seeds``."""
    tags = "".join(f'<img src="{path}-{seed}.png">' for seed in seeds)
    site.routes[path] = send(f"<html><body>{tags}</body></html>".encode(), "text/html")
    for seed in seeds:
        site.routes[f"{path}-{seed}.png"] = send(photo(seed), "image/png")
    report_id = report_with(database, site.url(path))
    with database.transaction() as session:
        (target,) = service.start_takedown(session, ANNA, report_id)
    run_captures(database)
    return target.id


def _items(database: Database, target_id: str) -> list[str]:
    with database.read() as session:
        return [i.id for i in service.items_of(session, target_id)]


def _assess(database: Database, who: object, item_id: str, decision: Decision) -> str:
    with database.transaction() as session:
        return service.assess(session, who, item_id, decision).state  # type: ignore[arg-type]


def _state(database: Database, target_id: str) -> str:
    with database.read() as session:
        return service.get_target(session, target_id).state


def _notify_jobs(database: Database) -> list[str]:
    with database.read() as session:
        return [
            j.payload["target_id"]
            for j in session.scalars(select(Job).where(Job.kind == "takedown.notify"))
        ]


def test_four_eyes_a_second_different_analyst_confirms_and_the_notice_is_scheduled(
    database: Database, site: Site
) -> None:
    target_id = _captured(database, site, "/p1", 11)
    (item_id,) = _items(database, target_id)
    assert _assess(database, ANNA, item_id, BASELINE) == "awaiting_confirmation"
    assert _state(database, target_id) == "awaiting_confirmation"
    assert _notify_jobs(database) == []  # no notice before the second analyst
    with pytest.raises(Refused, match="different analyst"):
        _assess(database, ANNA, item_id, BASELINE)
    assert _assess(database, BORIS, item_id, BASELINE) == "confirmed"
    with database.read() as session:
        view = service.get_target(session, target_id)
        item = service.get_item(session, item_id)
        evidence = session.get(EvidenceItem, item.evidence_item_id)
        actions = session.scalars(select(AuditEvent.action)).all()
    assert view.state == "confirmed" and view.confirmed_at is not None
    assert view.classification["baseline"] is True
    assert view.classification["forms"] == ["csam"]
    assert view.sha256s == [item.sha256] and view.pdqs == [item.pdq]
    assert _notify_jobs(database) == [target_id]
    assert evidence is not None and evidence.category == "illegal"
    assert {"takedown.item.awaiting_confirmation", "takedown.item.confirmed"} <= set(actions)
    assert "takedown.target.confirmed" in actions


def test_the_confirmed_hashes_join_the_configured_hash_list(database: Database, site: Site) -> None:
    target_id = _captured(database, site, "/p2", 12)
    (item_id,) = _items(database, target_id)
    _assess(database, ANNA, item_id, BASELINE)
    _assess(database, BORIS, item_id, BASELINE)
    with database.read() as session:
        item = service.get_item(session, item_id)
    store = hashlists.store()
    name = service.confirmed_list_name()
    present = store.present_entries(
        name, [Entry("sha256", item.sha256), Entry("md5", item.md5), Entry("pdq", item.pdq or "")]
    )
    assert {e.hash_type for e in present} == {"sha256", "md5", "pdq"}
    assert all(e.label == item_id for e in present)


def test_a_rolled_back_confirmation_adds_nothing_to_the_hash_list(
    database: Database, site: Site
) -> None:
    target_id = _captured(database, site, "/p3", 13)
    (item_id,) = _items(database, target_id)
    _assess(database, ANNA, item_id, BASELINE)
    with pytest.raises(RuntimeError), database.transaction() as session:
        service.assess(session, BORIS, item_id, BASELINE)
        raise RuntimeError("the transaction fails after the decision")
    assert not hashlists.store().exists(service.confirmed_list_name())
    assert _notify_jobs(database) == []


def test_disagreement_goes_to_a_senior_analyst(database: Database, site: Site) -> None:
    target_id = _captured(database, site, "/p4", 14)
    (item_id,) = _items(database, target_id)
    _assess(database, ANNA, item_id, BASELINE)
    assert _assess(database, BORIS, item_id, Decision("not_illegal")) == "disputed"
    assert _state(database, target_id) == "disputed"
    with pytest.raises(Refused, match=service.DECIDE_PERMISSION):
        _assess(database, ANNA, item_id, BASELINE)
    with database.read() as session:
        assert item_id not in [i.id for i in service.queue(session, BORIS)]
        assert item_id in [i.id for i in service.queue(session, SENIOR)]
    assert _assess(database, SENIOR, item_id, BASELINE) == "confirmed"
    assert _notify_jobs(database) == [target_id]
    with database.read() as session:
        roles = [a.role for a in service.assessments(session, item_id)]
    assert roles == ["first", "second", "senior"]


def test_a_different_national_category_is_a_disagreement(database: Database, site: Site) -> None:
    with database.transaction() as session:
        service.add_category(
            session, ADMIN, code="A", name="Most severe", legal_reference="Penal Code s. 1"
        )
        service.add_category(
            session, ADMIN, code="B", name="Severe", legal_reference="Penal Code s. 2"
        )
    target_id = _captured(database, site, "/p5", 15)
    (item_id,) = _items(database, target_id)
    _assess(database, ANNA, item_id, Decision("illegal", category_code="A"))
    assert _assess(database, BORIS, item_id, Decision("illegal", category_code="B")) == "disputed"


def test_not_illegal_closes_the_item_and_the_target_in_one_action(
    database: Database, site: Site
) -> None:
    target_id = _captured(database, site, "/p6", 16, 17)
    with database.transaction() as session:
        service.close_not_illegal(session, ANNA, target_id)
    assert _state(database, target_id) == "not_illegal"
    with database.read() as session:
        assert {i.state for i in service.items_of(session, target_id)} == {"not_illegal"}
    assert _notify_jobs(database) == []


def test_assessed_once_known_material_at_a_new_url_is_decided_again_and_never_shown(
    database: Database, site: Site
) -> None:
    first = _captured(database, site, "/p7", 21)
    (item_id,) = _items(database, first)
    _assess(database, ANNA, item_id, BASELINE)
    _assess(database, BORIS, item_id, BASELINE)
    again = _captured(database, site, "/elsewhere", 21)  # the same bytes at a new URL
    (copy_id,) = _items(database, again)
    with database.read() as session:
        copy = service.get_item(session, copy_id)
        assert copy_id not in [i.id for i in service.queue(session, BORIS)]
        view = service.get_target(session, again)
    assert copy.state == "confirmed" and copy.auto_from_item_id == item_id
    assert copy.seen_before_target_id == first  # recidivism
    assert view.state == "confirmed"
    assert view.classification["recidivism"] == [first]
    assert sorted(_notify_jobs(database)) == sorted([first, again])
    with pytest.raises(Refused, match="assessed once"), database.transaction() as session:
        service.reveal(session, BORIS, copy_id)


def test_assessed_once_also_by_perceptual_hash_of_a_rotated_copy(
    database: Database, site: Site
) -> None:
    import io

    import skimage.data
    from PIL import Image

    cup = Image.fromarray(skimage.data.coffee())  # scikit-image's sample data: a coffee cup
    original, turned = io.BytesIO(), io.BytesIO()
    cup.save(original, format="JPEG", quality=85)
    cup.transpose(Image.Transpose.ROTATE_90).save(turned, format="JPEG", quality=85)
    site.routes["/cup"] = send(b'<html><img src="/cup.png"></html>', "text/html")
    site.routes["/cup.png"] = send(original.getvalue(), "image/png")
    site.routes["/turned"] = send(b'<html><img src="/turned.png"></html>', "text/html")
    site.routes["/turned.png"] = send(turned.getvalue(), "image/png")
    first_report = report_with(database, site.url("/cup"))
    with database.transaction() as session:
        (first,) = service.start_takedown(session, ANNA, first_report)
    run_captures(database)
    (item_id,) = _items(database, first.id)
    _assess(database, ANNA, item_id, BASELINE)
    _assess(database, BORIS, item_id, BASELINE)
    report_id = report_with(database, site.url("/turned"))
    with database.transaction() as session:
        (target,) = service.start_takedown(session, ANNA, report_id)
    run_captures(database)
    with database.read() as session:
        (copy,) = service.items_of(session, target.id)
        original_item = service.get_item(session, item_id)
    assert copy.sha256 != original_item.sha256  # other bytes, the same picture turned
    assert copy.state == "confirmed" and copy.auto_from_item_id == item_id
    assert copy.seen_before_target_id == first.id


def test_not_illegal_material_is_recognised_too(database: Database, site: Site) -> None:
    first = _captured(database, site, "/p9", 23)
    (item_id,) = _items(database, first)
    _assess(database, ANNA, item_id, Decision("not_illegal"))
    again = _captured(database, site, "/p9b", 23)
    with database.read() as session:
        (copy,) = service.items_of(session, again)
    assert copy.state == "not_illegal" and copy.seen_before_target_id is None
    assert _state(database, again) == "not_illegal"


def test_four_eyes_off_confirms_at_once(
    database: Database, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opschub import config

    monkeypatch.setenv("OPSCHUB_TAKEDOWN_FOUR_EYES", "false")
    config.get_settings.cache_clear()
    target_id = _captured(database, site, "/p10", 24)
    (item_id,) = _items(database, target_id)
    assert _assess(database, ANNA, item_id, BASELINE) == "confirmed"
    assert _notify_jobs(database) == [target_id]


def test_bad_classifications_name_the_field(database: Database, site: Site) -> None:
    target_id = _captured(database, site, "/p11", 25)
    (item_id,) = _items(database, target_id)
    cases = [
        (Decision("maybe"), "decision"),
        (Decision("illegal"), "category"),  # neither the baseline nor a category
        (Decision("illegal", category_code="Z"), "category"),
        (Decision("not_illegal", form="pornography"), "form"),
        (Decision("not_illegal", age_band="3-7"), "age_band"),
        (Decision("not_illegal", sex="x"), "sex"),
    ]
    for decision, field in cases:
        with pytest.raises(TakedownError) as caught, database.transaction() as session:
            service.assess(session, ANNA, item_id, decision)
        assert caught.value.field == field
    with database.read() as session:
        assert service.assessments(session, item_id) == []


def test_revealing_counts_in_todays_exposure_and_is_a_custody_event(
    database: Database, site: Site
) -> None:
    target_id = _captured(database, site, "/p12", 26, 27)
    first, second = _items(database, target_id)
    with database.transaction() as session:
        blurred = service.preview(session, ANNA, first)
        assert service.exposure_today(session, ANNA.id) == 0
    with database.transaction() as session:
        full = service.reveal(session, ANNA, first)
    with database.transaction() as session:
        service.reveal(session, ANNA, second)
    with database.read() as session:
        assert service.exposure_today(session, ANNA.id) == 2
        assert service.exposure_today(session, BORIS.id) == 0
        views = session.scalars(select(CustodyEvent.details)).all()
    assert len(full) > len(blurred)
    assert {"rendition": "full", "takedown_item": first} in views
    assert {"rendition": "blurred", "takedown_item": first} in views


def test_mark_notified_and_removed_move_the_target_and_keep_the_first_notice_time(
    database: Database, site: Site
) -> None:
    from datetime import UTC, datetime

    target_id = _captured(database, site, "/p13", 28)
    (item_id,) = _items(database, target_id)
    _assess(database, ANNA, item_id, BASELINE)
    _assess(database, BORIS, item_id, BASELINE)
    t1, t2, t3 = (datetime(2026, 12, 1, h, tzinfo=UTC) for h in (1, 2, 3))
    with database.transaction() as session:
        service.mark_notified(session, None, target_id, t1)
    with database.transaction() as session:
        service.mark_notified(session, None, target_id, t2)
    with database.transaction() as session:
        service.mark_removed(session, None, target_id, t3)
    with database.read() as session:
        view = service.get_target(session, target_id)
        facts = session.execute(service.target_facts()).mappings().all()
    assert (view.state, view.first_notice_at, view.removed_at) == ("removed", t1, t3)
    assert [f["state"] for f in facts] == ["removed"]
    assert facts[0]["first_notice_at"] == t1


def test_categories_are_checked_and_audited(database: Database) -> None:
    with database.transaction() as session:
        service.add_category(session, ADMIN, code="A", name="Severe", legal_reference="s. 1")
    for kwargs, field in [
        ({"code": "A", "name": "x", "legal_reference": "y"}, "code"),
        ({"code": "bad code", "name": "x", "legal_reference": "y"}, "code"),
        ({"code": "C", "name": "", "legal_reference": "y"}, "name"),
        ({"code": "C", "name": "x", "legal_reference": ""}, "legal_reference"),
        ({"code": "C", "name": "child pornography", "legal_reference": "y"}, "name"),
    ]:
        with pytest.raises(TakedownError) as caught, database.transaction() as session:
            service.add_category(session, ADMIN, **kwargs)
        assert caught.value.field == field
    with database.read() as session:
        assert [c.code for c in service.categories(session)] == ["A"]
        assert session.scalars(
            select(AuditEvent.action).where(AuditEvent.action == "takedown.category.added")
        ).all() == ["takedown.category.added"]
