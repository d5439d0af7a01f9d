"""Read-only facts of intake for statistics (:mod:`opschub.stats.sources`).

One row per report: the day it arrived (UTC), its channel, the first form of exploitation it
names (``unspecified`` when it names none), whether a child reported an image of themselves, and
its region (reports carry none yet: always NULL, counted as "unknown region").
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, Select, String, case, func, literal, null, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from opschub.intake.models import Report


class day_of(FunctionElement[Any]):
    """The UTC calendar day of a timestamp, as a DATE on both engines."""

    type = Date()
    inherit_cache = True
    name = "day_of"


@compiles(day_of, "sqlite")
def _day_sqlite(element: day_of, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(day_of)
def _day_default(element: day_of, compiler: Any, **kw: Any) -> str:
    return f"CAST(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC' AS DATE)"


def _first_form() -> ColumnElement[str]:
    first = Report.incident_types[0].as_string()
    return func.coalesce(first, literal("unspecified", String))


def report_facts() -> Select[Any]:
    return select(
        day_of(Report.created_at).label("received_on"),
        Report.channel.label("channel"),
        _first_form().label("form"),
        case((Report.channel == "self_report", True), else_=False).label("is_self_report"),
        null().cast(String).label("org_unit_code"),
    )
