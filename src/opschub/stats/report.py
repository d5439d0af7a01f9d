"""What a publication shows a reader: labelled rows, chart bars, CSV and the Committee's annex.

Shared by the staff dashboard, the public HTML report and its PDF, so that every form of a
publication shows the same numbers with the same words. Labels come through
:mod:`opschub.labels` (taxonomy code lists) and the words below; ``gettext`` translates them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opschub import labels, taxonomy
from opschub.stats import catalogue as cat
from opschub.text import N_

Gettext = Callable[[str], str]

DIMENSION_NAMES = {
    "channel": N_("channel"),
    "form": N_("form of exploitation"),
    "region": N_("region"),
    "sex": N_("sex"),
    "age_band": N_("age band"),
    "setting": N_("online or offline"),
    "offender_category": N_("offender category"),
    "relationship": N_("relationship to the child"),
    "country": N_("country of hosting"),
    "provider": N_("provider"),
    "service_kind": N_("service"),
    "status": N_("status"),
}
VALUE_WORDS = {
    cat.TOTAL: N_("Total"),
    "unknown": N_("unknown"),
    "unspecified": N_("not specified"),
}
STATUS_WORDS = {
    "published": N_("published"),
    "primary": N_("withheld: fewer than the threshold"),
    "secondary": N_("withheld to protect another cell"),
    "suppressed": N_("withheld to protect children's privacy"),
    "rounded": N_("rounded"),
    "not_applicable": N_("not applicable"),
}
SUBMISSION_STATUS_WORDS = {
    "pending": N_("waiting for approval"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "superseded": N_("replaced by a later version"),
}
UNIT_WORDS = {
    "reports": N_("reports"),
    "items": N_("items"),
    "notices": N_("notices"),
    "hours": N_("hours"),
    "cases": N_("cases"),
    "children": N_("children"),
    "persons": N_("persons"),
    "proceedings": N_("proceedings"),
    "referrals": N_("referrals"),
    "currency": N_("national currency"),
    "count": N_("count"),
}
METHOD_WORDS = {
    "suppress": N_(
        "Cells counting fewer than %(threshold)s were withheld (primary suppression); further "
        "cells were withheld so that no withheld figure can be worked out from the totals "
        "(secondary suppression), each within a range of at least ±%(interval)s%% of its value. "
        "Zeros are published. Every table passed an audit that solves the attacker's linear "
        "programs before publication."
    ),
    "round": N_(
        "Every figure was rounded to a multiple of %(base)s (controlled rounding), so totals "
        "still add up; figures below %(threshold)s cannot be told apart from zero."
    ),
}


def dimension_name(name: str, gettext: Gettext) -> str:
    return gettext(DIMENSION_NAMES[name]) if name in DIMENSION_NAMES else name


def value_label(
    dim: str,
    value: str,
    gettext: Gettext,
    lang: str,
    regions: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """The words for one category of a dimension."""
    if value in VALUE_WORDS:
        return gettext(VALUE_WORDS[value])
    if dim == "region":
        if value.endswith("-unallocated"):
            parent = value_label(dim, value.removesuffix("-unallocated"), gettext, lang, regions)
            return gettext("%(region)s, not allocated to a lower level") % {"region": parent}
        names = (regions or {}).get(value)
        if names:
            return names["zh-Hans" if taxonomy.normalise_language(lang) == "zh-Hans" else "en"]
        return value
    kind = {"form": "form_of_exploitation"}.get(dim, dim)
    if labels.has(kind, value):
        return labels.label(kind, value, gettext, lang)
    return value


def status_label(status: str, gettext: Gettext) -> str:
    return gettext(STATUS_WORDS.get(status, status))


def unit_label(unit: str, gettext: Gettext) -> str:
    return gettext(UNIT_WORDS[unit]) if unit in UNIT_WORDS else unit


def method_text(parameters: Mapping[str, Any], gettext: Gettext) -> str:
    method = parameters.get("method", "suppress")
    return gettext(METHOD_WORDS[method]) % {
        "threshold": parameters.get("threshold", 10),
        "interval": round(100 * float(parameters.get("interval", 0.3))),
        "base": parameters.get("base", 5),
    }


@dataclass(frozen=True)
class Row:
    labels: list[str]
    value: str
    raw: float | None
    status: str
    status_text: str
    depth: int  # region level below the total (for indentation), 0 elsewhere
    is_total: bool


def format_value(value: float | None, gettext: Gettext) -> str:
    if value is None:
        return gettext("withheld")
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def rows(table: Mapping[str, Any], gettext: Gettext, lang: str) -> list[Row]:
    dims: Sequence[str] = table["dimensions"]
    regions = table.get("region_names") or {}
    parents: Mapping[str, str] = table.get("hierarchy") or {}

    def depth(code: str) -> int:
        n = 0
        while code in parents and parents[code] != cat.TOTAL:
            code = parents[code]
            n += 1
        return n

    out = []
    for cell in table["cells"]:
        key = cell["key"]
        texts = [value_label(d, key[d], gettext, lang, regions) for d in dims]
        out.append(
            Row(
                texts,
                format_value(cell["value"], gettext),
                cell["value"],
                cell["status"],
                status_label(cell["status"], gettext),
                depth(key["region"]) if "region" in key and key["region"] != cat.TOTAL else 0,
                all(key[d] == cat.TOTAL for d in dims),
            )
        )
    return out


def chart_bars(
    table: Mapping[str, Any], gettext: Gettext, lang: str
) -> list[tuple[str, float | None]]:
    """Bars for a chart of a table's first dimension (other dimensions at their total; regions:
    the top level)."""
    dims: Sequence[str] = table["dimensions"]
    if not dims:
        return []
    first = dims[0]
    regions = table.get("region_names") or {}
    parents: Mapping[str, str] = table.get("hierarchy") or {}
    bars = []
    for cell in table["cells"]:
        key = cell["key"]
        if key[first] == cat.TOTAL or any(key[d] != cat.TOTAL for d in dims[1:]):
            continue
        if first == "region" and parents.get(key[first]) != cat.TOTAL:
            continue
        bars.append((value_label(first, key[first], gettext, lang, regions), cell["value"]))
    return bars


def total_of(table: Mapping[str, Any]) -> float | None:
    for cell in table["cells"]:
        if all(v == cat.TOTAL for v in cell["key"].values()):
            return cell["value"]
    return None


NATIONAL = "national"  # the coverage code of a report of the whole country


def csv_text(tables: Sequence[Mapping[str, Any]], period: str, region: str | None = None) -> str:
    """Every published cell, one a line, codes as they are (for scripts); ``coverage`` is the
    region the report covers (with its sub-regions) or ``national``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["indicator", "period", "key", "value", "status", "coverage"])
    for table in tables:
        for cell in table["cells"]:
            key = ";".join(f"{k}={v}" for k, v in cell["key"].items()) or "total"
            value = "" if cell["value"] is None else cell["value"]
            writer.writerow(
                [table["indicator"], period, key, value, cell["status"], region or NATIONAL]
            )
    return out.getvalue()


def region_name(code: str, tables: Sequence[Mapping[str, Any]], lang: str) -> str:
    """A region's name in ``lang`` from the names a publication's tables carry (else its code)."""
    zh = taxonomy.normalise_language(lang) == "zh-Hans"
    for table in tables:
        names = (table.get("region_names") or {}).get(code)
        if names:
            return str(names["zh-Hans" if zh else "en"])
    return code


def coverage_text(
    region: str | None, tables: Sequence[Mapping[str, Any]], gettext: Gettext, lang: str
) -> str:
    """Which region a publication covers, in words (every form of it says so)."""
    if region is None:
        return gettext("Coverage: the whole country (national figures).")
    return gettext("Coverage: %(region)s (%(code)s) and its sub-regions only.") % {
        "region": region_name(region, tables, lang),
        "code": region,
    }


# The Committee's guidelines on periodic reports under the Optional Protocol (CRC/C/OPSC/2) ask
# for data by article; each indicator is placed under the part it answers.
ANNEX_PARTS = (
    (
        N_("Data collection and prevention (articles 9 and 10)"),
        (
            "reports_received",
            "self_reports_received",
            "items_confirmed",
            "notices_sent",
            "mean_hours_to_removal",
        ),
    ),
    (
        N_("Prohibition, offences and jurisdiction (articles 3 to 7)"),
        ("cases_opened", "suspects", "investigations", "prosecutions", "convictions", "sanctions"),
    ),
    (
        N_("Protection of the rights of child victims (articles 8 and 9, paragraphs 3 and 4)"),
        ("victims", "referrals", "services_given", "compensation_ordered", "compensation_paid"),
    ),
)


def annex(tables: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[Mapping[str, Any]]]]:
    """The publication's tables grouped by the parts of the periodic report (others last)."""
    by_id = {t["indicator"]: t for t in tables}
    placed: set[str] = set()
    parts = []
    for title, ids in ANNEX_PARTS:
        found = [by_id[i] for i in ids if i in by_id]
        placed.update(i for i in ids if i in by_id)
        if found:
            parts.append((title, found))
    rest = [t for t in tables if t["indicator"] not in placed]
    if rest:
        parts.append((N_("Other indicators"), rest))
    return parts


def indicator_name(table: Mapping[str, Any], lang: str) -> str:
    names = table.get("name") or {}
    zh = taxonomy.normalise_language(lang) == "zh-Hans"
    return str(names.get("zh-Hans" if zh else "en") or table["indicator"])
