"""Read-only facts of takedown for statistics (the statistics capability groups and counts them).

Each function returns a SQLAlchemy ``Select`` with labelled columns; stats runs it with GROUP BY
on SQLite and PostgreSQL alike. Dates are UTC calendar days.

- :func:`item_facts`: one row per confirmed item: ``confirmed_on`` (the decision's day) and the
  hosting ``country`` of its target.
- :func:`notice_facts`: one row per notified target (its first notice; re-sends and copies to the
  police or a partner hotline are not counted again): ``sent_on``, ``country``, ``provider`` and
  ``hours_to_removal`` (NULL while the content is still there).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, Float, Select, select, type_coerce
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from opschub.takedown.models import Item, Target

# A Select of any columns (SQLAlchemy 2.1 types a Select by its columns).
AnySelect = Select[*tuple[Any, ...]]


class utc_day(FunctionElement[Any]):
    """The UTC calendar day of a timestamp, as a date on both engines."""

    type = Date()
    inherit_cache = True


@compiles(utc_day)
def _utc_day_default(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = element.clauses
    return f"CAST(({compiler.process(value, **kw)} AT TIME ZONE 'UTC') AS DATE)"


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = element.clauses
    return f"date({compiler.process(value, **kw)})"  # stored in UTC


class hours_between(FunctionElement[Any]):
    """Hours from the second timestamp to the first (NULL if either is NULL)."""

    type = Float()
    inherit_cache = True


@compiles(hours_between)
def _hours_default(element: hours_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 3600.0)"


@compiles(hours_between, "sqlite")
def _hours_sqlite(element: hours_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 24.0)"


def _day(column: ColumnElement[Any] | Any) -> ColumnElement[Any]:
    return type_coerce(utc_day(column), Date())


def item_facts() -> AnySelect:
    return (
        select(_day(Item.decided_at).label("confirmed_on"), Target.country.label("country"))
        .join(Target, Target.id == Item.target_id)
        .where(Item.state == "confirmed", Item.decided_at.is_not(None))
    )


def notice_facts() -> AnySelect:
    return select(
        _day(Target.first_notice_at).label("sent_on"),
        Target.country.label("country"),
        Target.provider.label("provider"),
        hours_between(Target.removed_at, Target.first_notice_at).label("hours_to_removal"),
    ).where(Target.first_notice_at.is_not(None))
