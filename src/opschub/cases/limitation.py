"""The limitation clock: when the time to prosecute an offence against a child runs out.

Pure: dates in, dates out; no database, no web, no clock of its own (``today`` is passed in).

Guidelines para 95: limitation periods for offences against children must not run before the
victim turns 18. The national rule is configurable per offence code (setting
``OPSCHUB_CASES_LIMITATION_RULES``): ``"none"`` (no limitation) or ``"N"`` / ``"Ny"`` (N years),
starting on the later of the day the offence was committed and the victim's 18th birthday
(``"Ny-offence"`` starts on the offence date, for a country whose law says so).

Leap days. A child born on 29 February turns 18 in a year with no 29 February (18 is not a
multiple of 4). The law decides whether that child comes of age on 1 March (the common-law rule,
e.g. England and Wales, Hong Kong) or on 28 February (e.g. New Zealand): the setting
``OPSCHUB_CASES_LEAP_DAY_BIRTHDAY`` (``march_1``, default, or ``february_28``). The same rule moves
a period that starts on 29 February and ends in a common year.

Uncertain birth dates. When only the birth month is known, the earliest possible 18th birthday
(the 1st of that month) is used; with only an estimated age at a known date, the earliest birth
date consistent with it. The computed deadline is then the earliest the real one can be, so the
warning never comes too late; :attr:`Deadline.exact` says whether it is exact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

ADULT_AGE = 18
LEAP_RULES = ("march_1", "february_28")
STATES = ("none", "running", "warning", "lapsed")
_RULE = re.compile(r"^(?P<years>[1-9][0-9]?)y?(?P<offence>-offence)?$")


class RuleError(ValueError):
    """A limitation rule that cannot be read; the message names the offence code and the rule."""


@dataclass(frozen=True)
class LimitationRule:
    """``years`` None: the offence never lapses. ``from_majority``: the clock starts no earlier
    than the victim's 18th birthday."""

    years: int | None
    from_majority: bool = True

    @property
    def code(self) -> str:
        if self.years is None:
            return "none"
        return f"{self.years}y" if self.from_majority else f"{self.years}y-offence"


NO_LIMITATION = LimitationRule(None)


def parse_rule(text: str, *, offence: str = "?") -> LimitationRule:
    """``"none"``, ``"20"``, ``"20y"`` or ``"20y-offence"`` (1 to 99 years)."""
    value = text.strip().lower()
    if value == "none":
        return NO_LIMITATION
    match = _RULE.match(value)
    if not match:
        raise RuleError(
            f"offence {offence}: limitation rule {text!r} is not 'none', 'N' or 'Ny' years "
            "(1-99), or 'Ny-offence' to start on the offence date"
        )
    return LimitationRule(int(match["years"]), from_majority=match["offence"] is None)


# Example national rules (an operator sets the real ones): offence code (a form of exploitation
# from opschub.taxonomy) -> rule. Offences not listed use DEFAULT_RULE.
DEFAULT_RULE = "20y"
DEFAULT_RULES: dict[str, str] = {
    "sale_sexual_exploitation": "none",
    "sale_organ_transfer": "none",
    "sale_forced_labour": "25y",
    "sale_illegal_adoption": "15y",
    "prostitution": "25y",
    "csam": "20y",
    "live_streaming": "20y",
    "travel_tourism": "25y",
    "grooming": "10y",
    "sexual_extortion": "15y",
    "causing_to_witness": "10y",
    "advertising": "10y",
}


def rule_for(offence: str, rules: dict[str, str] | None = None) -> LimitationRule:
    table = DEFAULT_RULES if rules is None else rules
    return parse_rule(table.get(offence, table.get("*", DEFAULT_RULE)), offence=offence)


def check_rules(rules: dict[str, str]) -> None:
    """Raise :class:`RuleError` naming the first unreadable rule."""
    for offence, text in rules.items():
        parse_rule(text, offence=offence)


def add_years(start: date, years: int, *, leap: str = "march_1") -> date:
    """``start`` plus whole years; 29 February into a common year follows ``leap``."""
    if leap not in LEAP_RULES:
        raise ValueError(f"leap-day rule {leap!r} is not one of {', '.join(LEAP_RULES)}")
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February -> a year without one
        if leap == "march_1":
            return date(start.year + years, 3, 1)
        return date(start.year + years, 2, 28)


def coming_of_age(birth: date, *, leap: str = "march_1") -> date:
    """The victim's 18th birthday."""
    return add_years(birth, ADULT_AGE, leap=leap)


@dataclass(frozen=True)
class Birth:
    """What is known of the victim's birth: a date, a month, or an age estimated on a day."""

    on: date | None = None
    year: int | None = None
    month: int | None = None
    estimated_age: int | None = None
    estimated_on: date | None = None

    def earliest(self) -> date | None:
        """The earliest birth date consistent with what is known; None when nothing is."""
        if self.on is not None:
            return self.on
        if self.year is not None and self.month is not None:
            return date(self.year, self.month, 1)
        if self.estimated_age is not None and self.estimated_on is not None:
            # Aged N on day D: born after D - (N+1) years.
            try:
                return add_years(self.estimated_on, -(self.estimated_age + 1)) + timedelta(days=1)
            except ValueError:
                return None
        return None

    @property
    def exact(self) -> bool:
        return self.on is not None


@dataclass(frozen=True)
class Deadline:
    rule: LimitationRule
    starts_on: date | None  # None: the offence never lapses
    falls_on: date | None
    exact: bool  # False: computed from an uncertain birth date (the earliest it can be)


def deadline(
    rule: LimitationRule, *, committed_on: date, birth: Birth | None, leap: str = "march_1"
) -> Deadline:
    """When the time to prosecute runs out: the last day proceedings can be brought is the day
    before ``falls_on``.

    Without anything known of the birth the clock is taken to start on the offence date (the
    earliest possible); the deadline is then marked not exact.
    """
    if rule.years is None:
        return Deadline(rule, None, None, True)
    start = committed_on
    exact = True
    if rule.from_majority:
        earliest = birth.earliest() if birth else None
        if earliest is None:
            exact = False
        else:
            start = max(start, coming_of_age(earliest, leap=leap))
            exact = bool(birth and birth.exact)
    return Deadline(rule, start, add_years(start, rule.years, leap=leap), exact)


def state(falls_on: date | None, *, today: date, warn_days: int) -> str:
    """``none`` (never lapses), ``running``, ``warning`` (within ``warn_days``), ``lapsed``."""
    if falls_on is None:
        return "none"
    if today >= falls_on:
        return "lapsed"
    if (falls_on - today).days <= warn_days:
        return "warning"
    return "running"
