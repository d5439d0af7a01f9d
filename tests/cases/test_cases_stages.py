"""Proceedings: the order of steps (data quality) and the stage alarms (para 98)."""

from __future__ import annotations

from datetime import date

import pytest

from opschub.cases.informing_rules import Happened, Told, reminders
from opschub.cases.stages import (
    Step,
    TargetsError,
    alarms,
    check_sequence,
    check_step,
    check_targets,
    waiting,
)

TODAY = date(2026, 12, 1)


def codes(problems: list) -> list[str]:
    return [p.code for p in problems]


def test_a_conviction_needs_a_prosecution() -> None:
    found = check_step(
        [Step("investigation_opened", date(2026, 1, 1))],
        Step("conviction", date(2026, 5, 1)),
        today=TODAY,
    )
    assert codes(found) == ["requires"]
    assert found[0].field == "kind"
    assert "prosecution" in found[0].message


def test_a_sentence_needs_a_conviction_not_an_acquittal() -> None:
    steps = [
        Step("investigation_opened", date(2026, 1, 1)),
        Step("charged", date(2026, 2, 1)),
        Step("prosecution", date(2026, 3, 1)),
        Step("acquittal", date(2026, 4, 1)),
    ]
    assert codes(check_step(steps, Step("sentence", date(2026, 5, 1)), today=TODAY)) == ["requires"]


def test_dates_must_be_in_order() -> None:
    steps = [
        Step("investigation_opened", date(2026, 1, 1)),
        Step("charged", date(2026, 2, 1)),
        Step("prosecution", date(2026, 3, 1)),
    ]
    found = check_step(steps, Step("conviction", date(2026, 2, 15)), today=TODAY)
    assert codes(found) == ["before_required"]
    assert found[0].field == "on"


def test_a_step_in_the_future_is_refused() -> None:
    assert "in_future" in codes(
        check_step([], Step("investigation_opened", date(2027, 1, 1)), today=TODAY)
    )


def test_a_second_judgment_needs_an_appeal_between() -> None:
    steps = [
        Step("investigation_opened", date(2026, 1, 1)),
        Step("charged", date(2026, 2, 1)),
        Step("prosecution", date(2026, 3, 1)),
        Step("acquittal", date(2026, 4, 1)),
    ]
    assert "other_judgment" in codes(
        check_step(steps, Step("conviction", date(2026, 6, 1)), today=TODAY)
    )
    appealed = [*steps, Step("appeal", date(2026, 5, 1))]
    assert check_step(appealed, Step("conviction", date(2026, 6, 1)), today=TODAY) == []


def test_compensation_needs_an_amount_and_an_order_before_payment() -> None:
    assert codes(check_step([], Step("compensation_paid", date(2026, 6, 1)), today=TODAY)) == [
        "requires",
        "amount",
    ]
    assert "amount_not_allowed" in codes(
        check_step([], Step("investigation_opened", date(2026, 1, 1)), today=TODAY, amount=5)
    )


def test_a_whole_timeline_in_order_passes() -> None:
    timeline = [
        Step("investigation_opened", date(2026, 1, 1)),
        Step("charged", date(2026, 2, 1)),
        Step("prosecution", date(2026, 3, 1)),
        Step("hearing", date(2026, 4, 1)),
        Step("conviction", date(2026, 4, 1)),
        Step("sentence", date(2026, 5, 1)),
    ]
    assert check_sequence(timeline, today=TODAY) == []
    assert codes(check_sequence([Step("sentence", date(2026, 5, 1))], today=TODAY)) == ["requires"]


def test_an_open_case_waiting_for_an_investigation_raises_an_alarm_after_its_target() -> None:
    opened = date(2026, 11, 1)
    assert alarms([], opened_on=opened, today=date(2026, 11, 15), targets={"opened": 14}) == []
    (alarm,) = alarms([], opened_on=opened, today=date(2026, 11, 16), targets={"opened": 14})
    assert (alarm.stage, alarm.since, alarm.days, alarm.days_over) == ("opened", opened, 15, 1)


def test_the_alarm_follows_the_last_step() -> None:
    steps = [Step("investigation_opened", date(2026, 1, 1)), Step("charged", date(2026, 2, 1))]
    (alarm,) = alarms(steps, opened_on=date(2025, 12, 20), today=TODAY, targets={"charged": 60})
    assert alarm.stage == "charged"
    assert alarm.since == date(2026, 2, 1)


def test_finished_proceedings_wait_for_nothing_but_unpaid_compensation() -> None:
    steps = [
        Step("investigation_opened", date(2026, 1, 1)),
        Step("charged", date(2026, 2, 1)),
        Step("prosecution", date(2026, 3, 1)),
        Step("conviction", date(2026, 4, 1)),
        Step("sentence", date(2026, 4, 1)),
        Step("compensation_ordered", date(2026, 4, 1)),
    ]
    targets = {"compensation_ordered": 30, "conviction": 30}
    (alarm,) = alarms(steps, opened_on=date(2026, 1, 1), today=TODAY, targets=targets)
    assert alarm.stage == "compensation_ordered"
    paid = [*steps, Step("compensation_paid", date(2026, 6, 1))]
    assert alarms(paid, opened_on=date(2026, 1, 1), today=TODAY, targets=targets) == []


def test_a_stage_without_a_target_is_not_watched() -> None:
    assert waiting([], opened_on=date(2020, 1, 1), today=TODAY, targets={}) == []


def test_bad_targets_are_refused_naming_the_stage() -> None:
    with pytest.raises(TargetsError, match="stage 'trial'"):
        check_targets({"trial": 3})
    with pytest.raises(TargetsError, match="stage charged"):
        check_targets({"charged": 0})


def test_a_step_that_must_be_told_is_a_reminder_until_something_is_logged_after_it() -> None:
    charged = Happened("p1", "charged", date(2026, 11, 20))
    opened = Happened("p0", "investigation_opened", date(2026, 11, 1))
    (reminder,) = reminders([opened, charged], [], today=TODAY, within_days=7)
    assert (reminder.step_id, reminder.days, reminder.overdue) == ("p1", 11, True)
    assert reminders([charged], [Told(date(2026, 11, 19))], today=TODAY, within_days=7)
    assert reminders([charged], [Told(date(2026, 11, 20))], today=TODAY, within_days=7) == []


def test_an_entry_naming_other_steps_does_not_tell_this_one() -> None:
    hearing = Happened("h1", "hearing", date(2026, 11, 28))
    log = [Told(date(2026, 11, 30), steps=("p1",))]
    (reminder,) = reminders([hearing], log, today=TODAY, within_days=7)
    assert not reminder.overdue
    assert (
        reminders([hearing], [Told(date(2026, 11, 30), steps=("h1",))], today=TODAY, within_days=7)
        == []
    )
