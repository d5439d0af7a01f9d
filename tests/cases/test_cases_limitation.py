"""The limitation clock (para 95): never before the victim's 18th birthday; leap days."""

from __future__ import annotations

from datetime import date

import pytest

from opschub.cases.limitation import (
    Birth,
    LimitationRule,
    RuleError,
    add_years,
    coming_of_age,
    deadline,
    parse_rule,
    rule_for,
    state,
)


def test_a_child_born_on_29_february_comes_of_age_on_1_march_by_default() -> None:
    assert coming_of_age(date(2008, 2, 29)) == date(2026, 3, 1)


def test_the_leap_day_rule_can_follow_a_law_that_says_28_february() -> None:
    assert coming_of_age(date(2008, 2, 29), leap="february_28") == date(2026, 2, 28)


def test_a_leap_day_birthday_into_a_leap_year_stays_on_29_february() -> None:
    assert add_years(date(2008, 2, 29), 20) == date(2028, 2, 29)


def test_the_clock_starts_on_the_18th_birthday_not_on_the_offence() -> None:
    found = deadline(
        LimitationRule(10), committed_on=date(2015, 6, 1), birth=Birth(on=date(2005, 9, 30))
    )
    assert found.starts_on == date(2023, 9, 30)
    assert found.falls_on == date(2033, 9, 30)
    assert found.exact


def test_an_offence_after_the_18th_birthday_starts_the_clock_itself() -> None:
    found = deadline(
        LimitationRule(10), committed_on=date(2024, 1, 2), birth=Birth(on=date(2005, 9, 30))
    )
    assert found.starts_on == date(2024, 1, 2)
    assert found.falls_on == date(2034, 1, 2)


def test_an_offence_on_the_day_before_the_18th_birthday_runs_from_the_birthday() -> None:
    found = deadline(
        LimitationRule(5), committed_on=date(2023, 9, 29), birth=Birth(on=date(2005, 9, 30))
    )
    assert found.starts_on == date(2023, 9, 30)


def test_a_leap_day_victim_gets_the_full_period_from_1_march() -> None:
    found = deadline(
        LimitationRule(10), committed_on=date(2016, 5, 5), birth=Birth(on=date(2008, 2, 29))
    )
    assert found.starts_on == date(2026, 3, 1)
    assert found.falls_on == date(2036, 3, 1)
    strict = deadline(
        LimitationRule(10),
        committed_on=date(2016, 5, 5),
        birth=Birth(on=date(2008, 2, 29)),
        leap="february_28",
    )
    assert strict.falls_on == date(2036, 2, 28)


def test_a_period_starting_on_29_february_into_a_common_year() -> None:
    found = deadline(
        LimitationRule(5, from_majority=False), committed_on=date(2024, 2, 29), birth=None
    )
    assert found.falls_on == date(2029, 3, 1)


def test_an_offence_without_limitation_never_lapses() -> None:
    found = deadline(parse_rule("none"), committed_on=date(2010, 1, 1), birth=None)
    assert found.falls_on is None
    assert state(found.falls_on, today=date(2090, 1, 1), warn_days=730) == "none"


def test_only_a_birth_month_gives_the_earliest_possible_deadline_marked_not_exact() -> None:
    found = deadline(
        LimitationRule(10), committed_on=date(2015, 6, 1), birth=Birth(year=2005, month=9)
    )
    assert found.starts_on == date(2023, 9, 1)
    assert not found.exact


def test_an_estimated_age_uses_the_earliest_birth_it_allows() -> None:
    # Aged 12 on 2020-06-10: born between 2007-06-11 and 2008-06-10.
    birth = Birth(estimated_age=12, estimated_on=date(2020, 6, 10))
    assert birth.earliest() == date(2007, 6, 11)
    found = deadline(LimitationRule(10), committed_on=date(2020, 1, 1), birth=birth)
    assert found.starts_on == date(2025, 6, 11)
    assert not found.exact


def test_nothing_known_of_the_birth_starts_at_the_offence_and_says_so() -> None:
    found = deadline(LimitationRule(10), committed_on=date(2020, 1, 1), birth=None)
    assert found.falls_on == date(2030, 1, 1)
    assert not found.exact


def test_the_warning_comes_long_before_the_deadline_falls() -> None:
    falls = date(2030, 1, 1)
    assert state(falls, today=date(2027, 12, 31), warn_days=730) == "running"
    assert state(falls, today=date(2028, 1, 2), warn_days=730) == "warning"
    assert state(falls, today=date(2029, 12, 31), warn_days=730) == "warning"
    assert state(falls, today=date(2030, 1, 1), warn_days=730) == "lapsed"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("none", LimitationRule(None)),
        ("20", LimitationRule(20)),
        ("20y", LimitationRule(20)),
        ("7y-offence", LimitationRule(7, from_majority=False)),
    ],
)
def test_rules_are_read_from_their_short_form(text: str, expected: LimitationRule) -> None:
    assert parse_rule(text) == expected


@pytest.mark.parametrize("text", ["", "0", "100y", "twenty", "-5", "5 years"])
def test_an_unreadable_rule_is_refused_naming_the_offence(text: str) -> None:
    with pytest.raises(RuleError, match="offence grooming"):
        parse_rule(text, offence="grooming")


def test_rules_are_configured_per_offence_with_a_default() -> None:
    rules = {"grooming": "5y", "*": "30y"}
    assert rule_for("grooming", rules) == LimitationRule(5)
    assert rule_for("csam", rules) == LimitationRule(30)
    assert rule_for("sale_sexual_exploitation").years is None
