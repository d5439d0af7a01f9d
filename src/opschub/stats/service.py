"""Statistics use cases: the catalogue, tables, regional figures and publications.

The only writer of the ``stats_*`` tables; every change is audited in the same transaction.
Other capabilities are read through their facts Selects (:mod:`opschub.stats.sources`) and the
region hierarchy through :mod:`opschub.orgunits.service`. No web imports.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opschub import audit
from opschub.audit.service import Actor, EventIn
from opschub.clock import utcnow
from opschub.stats import catalogue as cat
from opschub.stats import engine, periods, sources
from opschub.stats.engine import ExtraRow, StatsError
from opschub.stats.models import AddedIndicator, Publication, Submission, SubmissionValue
from opschub.text import N_

__all__ = ["StatsError"]

DEFAULT_THRESHOLD = 10
DEFAULT_INTERVAL = 0.30
DEFAULT_BASE = 5


def canonical_digest(value: object) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _actor_label(actor: Actor | None, fallback: str = "command line") -> str:
    return actor.name if actor is not None else fallback


def _record(session: Session, actor: Actor | None, action: str, **kwargs: Any) -> None:
    audit.service.record(
        session,
        action=action,
        actor=actor,
        actor_label=None if actor is not None else "command line",
        **kwargs,
    )


# --- the catalogue ------------------------------------------------------------------------------


def catalogue(session: Session) -> cat.Catalogue:
    """The built-in indicators and those an administrator added."""
    base = cat.builtin()
    added = []
    for row in session.scalars(select(AddedIndicator).order_by(AddedIndicator.created_at)):
        added.append(
            cat.parse_indicator(row.definition, row.indicator_id, base.dimensions, builtin=False)
        )
    return base.with_added(added)


def add_indicators(session: Session, actor: Actor | None, text: str) -> list[str]:
    """Add the indicators of a TOML text (``[[indicator]]`` tables); all or none."""
    import tomllib

    current = catalogue(session)
    parsed = cat.parse(text, builtin=False, base=current)
    raw = tomllib.loads(text)
    ids = []
    for entry in raw.get("indicator", []):
        session.add(
            AddedIndicator(indicator_id=entry["id"], definition=entry, added_by=_actor_label(actor))
        )
        ids.append(entry["id"])
    session.flush()
    for ident in ids:
        _record(
            session,
            actor,
            "stats.indicator.added",
            target_type="stats_indicator",
            target_id=ident,
            details={"name": parsed.indicators[ident].name_en},
        )
    return ids


def source_status(session: Session, indicator: cat.Indicator) -> str | None:
    """None when the indicator's sources are installed, else why not ("source not available")."""
    for measure in (indicator.numerator, indicator.denominator):
        if measure is None:
            continue
        try:
            sources.get(measure.source).load()
        except sources.SourceUnavailable as exc:
            return str(exc)
    return None


# --- tables -------------------------------------------------------------------------------------


def _regional_rows(
    session: Session, indicator: cat.Indicator, by: Sequence[str], period: periods.Period
) -> list[ExtraRow]:
    """Approved regional figures of ``indicator`` for periods inside ``period``.

    A submission gives a total and one-way breakdowns; in a table it contributes its total at its
    region, broken down by the first dimension of ``by`` it has categories for (the others: the
    unknown category), so every table's totals agree whatever its dimensions."""
    rows = session.execute(
        select(Submission.org_unit_code, Submission.period, SubmissionValue)
        .join(SubmissionValue, SubmissionValue.submission_id == Submission.id)
        .where(Submission.status == "approved", SubmissionValue.indicator_id == indicator.id)
    ).all()
    by_submission: dict[tuple[str, str], list[SubmissionValue]] = {}
    for org, label, value in rows:
        if period.contains(periods.parse(label)):
            by_submission.setdefault((org, label), []).append(value)
    out: list[ExtraRow] = []
    for (org, _label), values in sorted(by_submission.items()):
        total = next((v.value for v in values if v.dimension == cat.TOTAL), None)
        broken = False
        for dim in by:
            if dim == "region":
                continue
            parts = [v for v in values if v.dimension == dim]
            if parts:
                out.extend(
                    ExtraRow({"region": org, dim: v.category}, engine.number(v.value))
                    for v in parts
                )
                broken = True
                break
        if not broken and total is not None:
            out.append(ExtraRow({"region": org}, engine.number(total)))
    return out


def table(
    session: Session,
    indicator_id: str,
    by: Sequence[str],
    period: str,
    *,
    counted: bool = False,
    regional: bool = True,
    within: str | None = None,
) -> dict[str, Any]:
    """The raw table (every cell "published"); ``counted``: the count that disclosure control
    protects instead of the indicator's value (for sums, means and rates); ``within``: a region
    code, for that region and its sub-regions only (None: national)."""
    cats = catalogue(session)
    indicator = cats.get(indicator_id)
    if counted and not (indicator.numerator.is_count and indicator.denominator is None):
        indicator = dataclasses.replace(
            indicator, numerator=indicator.counted(), denominator=None, unit="count"
        )
    parsed = periods.parse(period)
    extra = _regional_rows(session, indicator, by, parsed) if regional else []
    try:
        return engine.compute(
            session, indicator, by, parsed, cats.dimensions, extra=extra, within=within
        )
    except sources.SourceUnavailable as exc:
        if not extra:
            raise
        # The capability is not installed here, but regions sent figures: the table is theirs
        # alone, and says so.
        only = _regional_only(session, cats, indicator, list(by), parsed, within=within)
        only["source_status"] = str(exc)
        return only


def region_names(session: Session) -> dict[str, dict[str, str]]:
    try:
        from opschub.orgunits import service as orgunits
    except ModuleNotFoundError:
        return {}
    return {u.code: {"en": u.name_en, "zh-Hans": u.name_zh} for u in orgunits.units(session)}


def protect(
    table_: dict[str, Any], *, method: str, threshold: int, interval: float, base: int
) -> dict[str, Any]:
    disclosure = importlib.import_module("opschub.stats.disclosure")
    return disclosure.protect_table(
        table_, method=method, threshold=threshold, interval=interval, base=base
    )


# --- regional figures ---------------------------------------------------------------------------

TEMPLATE_COLUMNS = ("indicator", "period", "org_unit", "dimension", "category", "value")


class Problem(str):
    """One problem of a regional file, in English (the ``str``, for the command line and logs)
    and in any language: ``message`` is a translatable text (``N_``) with ``%(name)s`` fields,
    ``params`` their values (a :class:`Problem` among them is rendered in the same language), so
    the staff page says it in the reader's language."""

    message: str
    params: dict[str, object]

    def __new__(cls, message: str, **params: object) -> Problem:
        self = super().__new__(cls, message % params if params else message)
        self.message = message
        self.params = params
        return self

    def render(self, gettext: Callable[[str], str]) -> str:
        values = {
            k: v.render(gettext) if isinstance(v, Problem) else v for k, v in self.params.items()
        }
        text = gettext(self.message)
        return text % values if values else text


@dataclass(frozen=True)
class FigureIn:
    """One figure read from a file, with where it was (for error messages): ``where`` names the
    file and row (and sheet, or DHIS2 data value); its ``params`` say which."""

    where: Problem
    indicator: str
    period: str
    org_unit: str
    dimension: str
    category: str
    value: str


class ImportInvalid(ValueError):
    """Nothing was stored; ``errors`` name every problem (each a :class:`Problem`: English as a
    ``str``, any language with ``render``)."""

    def __init__(self, errors: Sequence[Problem]) -> None:
        super().__init__(f"{len(errors)} error(s)")
        self.errors = list(errors)


def collected(cats: cat.Catalogue) -> list[cat.Indicator]:
    """Indicators that regions may send: counts without a denominator."""
    return [i for i in cats.indicators.values() if i.numerator.is_count and i.denominator is None]


def template_rows(cats: cat.Catalogue, period: str = "2026", org_unit: str = "") -> list[list[str]]:
    """The rows of the regional template: each collected indicator's total, then every category
    of each of its dimensions (region excepted), value left empty."""
    rows: list[list[str]] = []
    for indicator in collected(cats):
        rows.append([indicator.id, period, org_unit, cat.TOTAL, cat.TOTAL, ""])
        for name in indicator.dimensions:
            dim = cats.dimensions[name]
            if dim.is_region or dim.values is None:
                continue
            for value in dim.values:
                rows.append([indicator.id, period, org_unit, name, value, ""])
    return rows


def template_csv(cats: cat.Catalogue, period: str = "2026", org_unit: str = "") -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TEMPLATE_COLUMNS)
    writer.writerows(template_rows(cats, period, org_unit))
    return out.getvalue()


def template_xlsx(cats: cat.Catalogue, period: str = "2026", org_unit: str = "") -> bytes:
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "figures"
    sheet.append(list(TEMPLATE_COLUMNS))
    for row in template_rows(cats, period, org_unit):
        sheet.append(row)
    about = book.create_sheet("indicators")
    about.append(["indicator", "name_en", "name_zh", "unit", "dimensions", "definition_en"])
    for i in collected(cats):
        about.append([i.id, i.name_en, i.name_zh, i.unit, ", ".join(i.dimensions), i.definition_en])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def read_csv(data: bytes, name: str) -> list[FigureIn]:
    import csv
    import io

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportInvalid(
            [
                Problem(
                    N_("%(file)s: not UTF-8 text (%(reason)s at byte %(byte)s)"),
                    file=name,
                    reason=exc.reason,
                    byte=exc.start,
                )
            ]
        ) from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or [h.strip() for h in header] != list(TEMPLATE_COLUMNS):
        raise ImportInvalid(
            [
                Problem(
                    N_("%(file)s row 1: the header must be %(columns)s (the template's)"),
                    file=name,
                    columns=",".join(TEMPLATE_COLUMNS),
                )
            ]
        )
    out = []
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(TEMPLATE_COLUMNS):
            raise ImportInvalid(
                [
                    Problem(
                        N_("%(file)s row %(row)s: %(count)s columns, expected 6"),
                        file=name,
                        row=number,
                        count=len(row),
                    )
                ]
            )
        where = Problem(N_("%(file)s row %(row)s"), file=name, row=number)
        out.append(FigureIn(where, *(c.strip() for c in row)))
    return out


def read_xlsx(data: bytes, name: str) -> list[FigureIn]:
    import io
    import zipfile

    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise ImportInvalid(
            [Problem(N_("%(file)s: not an XLSX workbook (%(reason)s)"), file=name, reason=exc)]
        ) from None
    if "figures" not in book.sheetnames:
        raise ImportInvalid(
            [
                Problem(
                    N_("%(file)s: no sheet named figures (the template's first sheet)"), file=name
                )
            ]
        )
    sheet = book["figures"]
    rows = sheet.iter_rows(values_only=True)
    header = [str(c or "").strip() for c in next(rows, ())]
    if header[: len(TEMPLATE_COLUMNS)] != list(TEMPLATE_COLUMNS):
        raise ImportInvalid(
            [
                Problem(
                    N_("%(file)s sheet figures row 1: the header must be %(columns)s"),
                    file=name,
                    columns=", ".join(TEMPLATE_COLUMNS),
                )
            ]
        )
    out = []
    for number, row in enumerate(rows, start=2):
        cells = ["" if c is None else str(c).strip() for c in row[: len(TEMPLATE_COLUMNS)]]
        if not any(cells):
            continue
        cells += [""] * (len(TEMPLATE_COLUMNS) - len(cells))
        value = row[5] if len(row) > 5 else None
        if isinstance(value, float) and value.is_integer():
            cells[5] = str(int(value))
        where = Problem(
            N_("%(file)s sheet %(sheet)s row %(row)s"), file=name, sheet="figures", row=number
        )
        out.append(FigureIn(where, *cells))
    return out


def read_dhis2(data: bytes, name: str) -> list[FigureIn]:
    """DHIS2 ``dataValueSets`` JSON: dataElement = indicator id, period in DHIS2's form
    (2026, 2026Q1, 202603), orgUnit = region code, categoryOptionCombo = ``default`` (the
    total) or ``DIMENSION=CATEGORY``."""
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ImportInvalid(
            [Problem(N_("%(file)s: not JSON (%(reason)s)"), file=name, reason=exc)]
        ) from None
    values = doc.get("dataValues") if isinstance(doc, dict) else None
    if not isinstance(values, list):
        raise ImportInvalid(
            [
                Problem(
                    N_("%(file)s: no dataValues list (a DHIS2 dataValueSets document)"), file=name
                )
            ]
        )
    out = []
    for i, item in enumerate(values):
        where = Problem(N_("%(file)s dataValues[%(index)s]"), file=name, index=i)
        if not isinstance(item, dict):
            raise ImportInvalid([Problem(N_("%(where)s: not an object"), where=where)])
        combo = str(item.get("categoryOptionCombo") or "default")
        dim, _, category = combo.partition("=")
        if combo == "default":
            dim, category = cat.TOTAL, cat.TOTAL
        try:
            period = periods.parse(str(item.get("period", ""))).label
        except periods.PeriodError:
            period = str(item.get("period", ""))
        out.append(
            FigureIn(
                where,
                str(item.get("dataElement", "")),
                period,
                str(item.get("orgUnit", "")),
                dim,
                category,
                str(item.get("value", "")),
            )
        )
    return out


_COLUMN_LETTER = dict(zip(TEMPLATE_COLUMNS, "ABCDEF", strict=True))


def _cell(figure: FigureIn, column: str) -> Problem:
    where = figure.where
    if "sheet" in where.params:
        return Problem(
            N_("%(where)s, cell %(cell)s (%(column)s)"),
            where=where,
            cell=f"{_COLUMN_LETTER[column]}{where.params['row']}",
            column=column,
        )
    if "index" in where.params:
        dhis = {
            "indicator": "dataElement",
            "period": "period",
            "org_unit": "orgUnit",
            "dimension": "categoryOptionCombo",
            "category": "categoryOptionCombo",
            "value": "value",
        }[column]
        return Problem(N_("%(where)s.%(field)s"), where=where, field=dhis)
    return Problem(N_("%(where)s, column %(column)s"), where=where, column=column)


def validate(
    session: Session, figures: Sequence[FigureIn]
) -> dict[tuple[str, str], dict[tuple[str, str, str], float]]:
    """Every figure checked; :class:`ImportInvalid` names each bad cell. Returns the figures by
    (region, period) -> (indicator, dimension, category) -> value."""
    cats = catalogue(session)
    allowed = {i.id: i for i in collected(cats)}
    units = engine.region_parents(session)
    errors: list[Problem] = []
    seen: dict[tuple[str, str, str, str, str], Problem] = {}
    grouped: dict[tuple[str, str], dict[tuple[str, str, str], float]] = {}
    where_of: dict[tuple[str, str, str, str, str], FigureIn] = {}
    for f in figures:
        bad = len(errors)
        indicator = allowed.get(f.indicator)
        if indicator is None:
            why = (
                N_("%(cell)s: %(value)r is not collected from regions (only counts are)")
                if f.indicator in cats.indicators
                else N_("%(cell)s: %(value)r is not an indicator of the catalogue")
            )
            errors.append(Problem(why, cell=_cell(f, "indicator"), value=f.indicator))
        try:
            period = periods.parse(f.period)
            if period.start is None:
                raise periods.PeriodError("all")
        except periods.PeriodError:
            errors.append(
                Problem(
                    N_(
                        "%(cell)s: %(value)r is not a year (2026), quarter (2026-Q1) or month "
                        "(2026-03)"
                    ),
                    cell=_cell(f, "period"),
                    value=f.period,
                )
            )
            period = None
        if units and f.org_unit not in units:
            errors.append(
                Problem(
                    N_("%(cell)s: %(value)r is not a region code (opschub orgunits list)"),
                    cell=_cell(f, "org_unit"),
                    value=f.org_unit,
                )
            )
        elif not f.org_unit:
            errors.append(
                Problem(N_("%(cell)s: the region code is missing"), cell=_cell(f, "org_unit"))
            )
        if indicator is not None:
            if f.dimension == cat.TOTAL:
                if f.category != cat.TOTAL:
                    errors.append(
                        Problem(
                            N_("%(cell)s: the total row's category is total"),
                            cell=_cell(f, "category"),
                        )
                    )
            elif f.dimension not in indicator.dimensions or f.dimension == "region":
                allowed_dims = ", ".join(d for d in indicator.dimensions if d != "region")
                errors.append(
                    Problem(
                        N_(
                            "%(cell)s: %(value)r is not a breakdown of %(indicator)s (total or "
                            "%(allowed)s)"
                        ),
                        cell=_cell(f, "dimension"),
                        value=f.dimension,
                        indicator=indicator.id,
                        allowed=allowed_dims,
                    )
                )
            else:
                dim = cats.dimensions[f.dimension]
                if dim.values is not None and f.category not in dim.values:
                    errors.append(
                        Problem(
                            N_("%(cell)s: %(value)r is not one of %(allowed)s"),
                            cell=_cell(f, "category"),
                            value=f.category,
                            allowed=", ".join(dim.values),
                        )
                    )
                elif not f.category:
                    errors.append(
                        Problem(N_("%(cell)s: the category is missing"), cell=_cell(f, "category"))
                    )
        try:
            value = float(f.value)
            if value < 0 or not value.is_integer():
                raise ValueError
        except ValueError:
            errors.append(
                Problem(
                    N_("%(cell)s: %(value)r is not a whole number >= 0"),
                    cell=_cell(f, "value"),
                    value=f.value,
                )
            )
            value = 0
        if len(errors) > bad or period is None:
            continue
        key = (f.org_unit, period.label, f.indicator, f.dimension, f.category)
        if key in seen:
            errors.append(
                Problem(
                    N_("%(cell)s: the same figure is already in %(where)s"),
                    cell=_cell(f, "value"),
                    where=seen[key],
                )
            )
            continue
        seen[key] = f.where
        where_of[key] = f
        grouped.setdefault((f.org_unit, period.label), {})[
            (f.indicator, f.dimension, f.category)
        ] = value
    if not errors:
        errors.extend(_consistency(cats, grouped, where_of))
    if errors:
        raise ImportInvalid(errors)
    return grouped


def _consistency(
    cats: cat.Catalogue,
    grouped: Mapping[tuple[str, str], Mapping[tuple[str, str, str], float]],
    where_of: Mapping[tuple[str, str, str, str, str], FigureIn],
) -> list[Problem]:
    errors: list[Problem] = []
    for (org, period), values in grouped.items():
        totals = {ind: v for (ind, dim, _c), v in values.items() if dim == cat.TOTAL}
        parts: dict[tuple[str, str], float] = {}
        first: dict[tuple[str, str], FigureIn] = {}
        for (ind, dim, category), v in values.items():
            if dim != cat.TOTAL:
                parts[(ind, dim)] = parts.get((ind, dim), 0) + v
                first.setdefault((ind, dim), where_of[(org, period, ind, dim, category)])
        for (ind, dim), total in sorted(parts.items()):
            f = first[(ind, dim)]
            if ind not in totals:
                errors.append(
                    Problem(
                        N_(
                            "%(cell)s: %(indicator)s by %(dimension)s for %(region)s %(period)s "
                            "has no total row (dimension total, category total)"
                        ),
                        cell=_cell(f, "value"),
                        indicator=ind,
                        dimension=dim,
                        region=org,
                        period=period,
                    )
                )
            elif total != totals[ind]:
                errors.append(
                    Problem(
                        N_(
                            "%(cell)s: %(indicator)s by %(dimension)s for %(region)s %(period)s "
                            "adds up to %(sum)s, but the total is %(total)s"
                        ),
                        cell=_cell(f, "value"),
                        indicator=ind,
                        dimension=dim,
                        region=org,
                        period=period,
                        sum=f"{total:g}",
                        total=f"{totals[ind]:g}",
                    )
                )
        for rule in cats.rules:
            if (
                rule.left in totals
                and rule.right in totals
                and not rule.holds(totals[rule.left], totals[rule.right])
            ):
                f = where_of[(org, period, rule.left, cat.TOTAL, cat.TOTAL)]
                errors.append(
                    Problem(
                        N_(
                            "%(cell)s: %(left)s (%(left_value)s) must be %(op)s %(right)s "
                            "(%(right_value)s) for %(region)s %(period)s"
                        ),
                        cell=_cell(f, "value"),
                        left=rule.left,
                        left_value=f"{totals[rule.left]:g}",
                        op=rule.op,
                        right=rule.right,
                        right_value=f"{totals[rule.right]:g}",
                        region=org,
                        period=period,
                    )
                )
    return errors


def read_figures(data: bytes, name: str, fmt: str) -> list[FigureIn]:
    readers = {"csv": read_csv, "xlsx": read_xlsx, "dhis2": read_dhis2}
    if fmt not in readers:
        raise ImportInvalid(
            [Problem(N_("unknown format %(format)r: csv, xlsx or dhis2"), format=fmt)]
        )
    return readers[fmt](data, name)


@dataclass(frozen=True)
class SubmissionView:
    id: str
    org_unit_code: str
    period: str
    version: int
    status: str
    source_format: str
    file_name: str | None
    figures: int
    submitted_by: str | None
    created_at: Any
    decided_by: str | None


def import_figures(
    session: Session,
    actor: Actor | None,
    data: bytes,
    name: str,
    fmt: str,
    *,
    is_demo: bool = False,
) -> list[SubmissionView]:
    """Read, check and store a regional file: one pending submission per region and period (a
    new version when the region already sent that period). All or nothing."""
    grouped = validate(session, read_figures(data, name, fmt))
    if not grouped:
        raise ImportInvalid([Problem(N_("%(file)s: no figures (every value is empty)"), file=name)])
    digest = hashlib.sha256(data).hexdigest()
    created = []
    events = []
    for (org, period), values in sorted(grouped.items()):
        latest = session.scalar(
            select(func.max(Submission.version)).where(
                Submission.org_unit_code == org, Submission.period == period
            )
        )
        submission = Submission(
            org_unit_code=org,
            period=period,
            version=(latest or 0) + 1,
            status="pending",
            source_format=fmt,
            file_name=name[-255:],
            digest=digest,
            submitted_by=_actor_label(actor),
            is_demo=is_demo,
        )
        session.add(submission)
        session.flush()
        session.add_all(
            SubmissionValue(
                submission_id=submission.id, indicator_id=i, dimension=d, category=c, value=v
            )
            for (i, d, c), v in sorted(values.items())
        )
        created.append(submission)
        events.append(
            EventIn(
                action="stats.submission.received",
                actor=actor,
                actor_label=None if actor else "command line",
                target_type="stats_submission",
                target_id=submission.id,
                details={
                    "name": org,
                    "version": submission.version,
                    "format": fmt,
                    "count": len(values),
                },
            )
        )
    session.flush()
    audit.service.record_many(session, events)
    return [_view(session, s) for s in created]


def record_refused(
    session: Session, actor: Actor | None, file_name: str, fmt: str, problems: int
) -> None:
    """Audit a regional file that was refused (nothing of it was stored): who sent which file,
    in which format, with how many problems."""
    _record(
        session,
        actor,
        "stats.submission.received",
        target_type="stats_submission",
        outcome="refused",
        details={"file": file_name[-200:], "format": fmt, "count": problems},
    )


def _view(session: Session, s: Submission) -> SubmissionView:
    figures = (
        session.scalar(
            select(func.count())
            .select_from(SubmissionValue)
            .where(SubmissionValue.submission_id == s.id)
        )
        or 0
    )
    return SubmissionView(
        s.id,
        s.org_unit_code,
        s.period,
        s.version,
        s.status,
        s.source_format,
        s.file_name,
        figures,
        s.submitted_by,
        s.created_at,
        s.decided_by,
    )


def submissions(
    session: Session, *, status: str | None = None, limit: int = 200
) -> list[SubmissionView]:
    query = select(Submission).order_by(Submission.created_at.desc(), Submission.version.desc())
    if status:
        query = query.where(Submission.status == status)
    return [_view(session, s) for s in session.scalars(query.limit(limit))]


def submission_values(session: Session, submission_id: str) -> list[SubmissionValue]:
    return list(
        session.scalars(
            select(SubmissionValue)
            .where(SubmissionValue.submission_id == submission_id)
            .order_by(
                SubmissionValue.indicator_id, SubmissionValue.dimension, SubmissionValue.category
            )
        )
    )


def get_submission(session: Session, submission_id: str) -> SubmissionView | None:
    s = session.get(Submission, submission_id)
    return None if s is None else _view(session, s)


def decide(
    session: Session, actor: Actor | None, submission_id: str, *, approve: bool
) -> SubmissionView:
    """Approve (the region's earlier approved version is superseded, kept in the history) or
    reject a pending submission."""
    s = session.get(Submission, submission_id, with_for_update=True)
    if s is None:
        raise StatsError(f"no submission {submission_id}")
    if s.status != "pending":
        raise StatsError(f"submission {submission_id} is {s.status}, not pending")
    if approve:
        for earlier in session.scalars(
            select(Submission).where(
                Submission.org_unit_code == s.org_unit_code,
                Submission.period == s.period,
                Submission.status == "approved",
            )
        ):
            earlier.status = "superseded"
    s.status = "approved" if approve else "rejected"
    s.decided_by = _actor_label(actor)
    s.decided_at = utcnow()
    session.flush()
    _record(
        session,
        actor,
        "stats.submission.approved" if approve else "stats.submission.rejected",
        target_type="stats_submission",
        target_id=s.id,
        details={"name": s.org_unit_code, "version": s.version},
    )
    return _view(session, s)


def history(session: Session, org_unit: str, period: str) -> list[SubmissionView]:
    rows = session.scalars(
        select(Submission)
        .where(Submission.org_unit_code == org_unit, Submission.period == period)
        .order_by(Submission.version)
    )
    return [_view(session, s) for s in rows]


def export_dhis2(
    session: Session, period: str, indicator_ids: Sequence[str] | None = None
) -> dict[str, Any]:
    """A DHIS2 ``dataValueSets`` document of the figures by region (the lowest level that has
    them) for ``period``: each indicator's total and its one-way breakdowns."""
    cats = catalogue(session)
    parsed = periods.parse(period)
    wanted = indicator_ids or [i.id for i in collected(cats) if "region" in i.dimensions]
    values = []
    for ident in wanted:
        indicator = cats.get(ident)
        if "region" not in indicator.dimensions:
            continue
        dims: list[list[str]] = [[]] + [[d] for d in indicator.dimensions if d != "region"]
        for extra in dims:
            try:
                tab = table(session, ident, ["region", *extra], parsed.label)
            except sources.SourceUnavailable:
                tab = _regional_only(session, cats, indicator, ["region", *extra], parsed)
            leaves = set(tab["hierarchy"]) - set(tab["hierarchy"].values())
            for cell in tab["cells"]:
                region = cell["key"]["region"]
                if region not in leaves or not cell["value"]:
                    continue
                if extra and cell["key"][extra[0]] == cat.TOTAL:
                    continue
                combo = "default" if not extra else f"{extra[0]}={cell['key'][extra[0]]}"
                values.append(
                    {
                        "dataElement": ident,
                        "period": parsed.dhis2,
                        "orgUnit": region,
                        "categoryOptionCombo": combo,
                        "value": str(cell["value"]),
                    }
                )
    return {"dataValues": values}


def _regional_only(
    session: Session,
    cats: cat.Catalogue,
    indicator: cat.Indicator,
    by: list[str],
    period: periods.Period,
    *,
    within: str | None = None,
) -> dict[str, Any]:
    """A table of the regional figures alone (the indicator's own source is not installed)."""
    extra = _regional_rows(session, indicator, by, period)
    return engine.compute(
        session,
        indicator,
        by,
        period,
        cats.dimensions,
        extra=extra,
        operational=False,
        within=within,
    )


# --- publications -------------------------------------------------------------------------------


class UnknownRegion(StatsError):
    """The region asked for is not an organisation unit."""

    def __init__(self, code: str) -> None:
        super().__init__(f"no region {code!r} (opschub orgunits list)")
        self.code = code


class PublicationBlocked(StatsError):
    """The disclosure audit found cells at risk (or disclosure control is not installed); nothing
    was published. ``at_risk`` names the cells."""

    def __init__(self, message: str, at_risk: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.at_risk = list(at_risk)


def default_contents(session: Session, region: str | None = None) -> list[dict[str, Any]]:
    """Every indicator whose sources are installed, by its ``publish_by`` dimensions (for a
    region's report: those that can be broken down by region)."""
    out = []
    for indicator in catalogue(session).indicators.values():
        if region is not None and "region" not in indicator.dimensions:
            continue
        if source_status(session, indicator) is None:
            out.append({"indicator": indicator.id, "by": list(indicator.publish_by)})
    return out


def _published_value_table(value: dict[str, Any], protected: dict[str, Any]) -> dict[str, Any]:
    """A sum, mean or rate table with the protection pattern of its count table applied."""
    status = {json.dumps(c["key"], sort_keys=True): c for c in protected["cells"]}
    cells = []
    for cell in value["cells"]:
        guard = status[json.dumps(cell["key"], sort_keys=True)]
        if guard["value"] is None:
            cells.append({"key": cell["key"], "value": None, "status": guard["status"]})
        else:
            cells.append(dict(cell))
    return {**value, "cells": cells}


def build_publication(
    session: Session,
    period: str,
    contents: Sequence[Mapping[str, Any]],
    *,
    method: str,
    threshold: int,
    interval: float,
    base: int,
    region: str | None = None,
) -> tuple[list[dict[str, Any]], str, str, list[str]]:
    """(published tables, input digest, output digest, cells at risk) — nothing is stored.

    ``region``: a region code: every table covers that region and its sub-regions only (its
    total is the region's), and says so; None: the whole country."""
    disclosure = importlib.import_module("opschub.stats.disclosure")
    cats = catalogue(session)
    names = region_names(session)
    raw_inputs = []
    published_tables: list[dict[str, Any]] = []
    at_risk: list[str] = []
    for item in contents:
        indicator = cats.get(item["indicator"])
        by = list(item["by"])
        count_table = table(session, indicator.id, by, period, counted=True, within=region)
        is_plain = indicator.numerator.is_count and indicator.denominator is None
        value_table = (
            count_table if is_plain else table(session, indicator.id, by, period, within=region)
        )
        raw_inputs.append(
            {"indicator": indicator.id, "by": by, "counted": count_table, "value": value_table}
        )
        if not by:
            # One cell, no relation an attacker could use: withheld below the threshold.
            published = _protect_total(count_table, method, threshold, base)
            out = published if is_plain else _published_value_table(value_table, published)
            published_tables.append(_finish(disclosure, out, indicator, names, region))
            continue
        protected = disclosure.protect_table(
            count_table, method=method, threshold=threshold, interval=interval, base=base
        )
        internal = {
            **protected,
            "cells": [
                {**p, "raw_value": r["value"]} if p["value"] is None else p
                for p, r in zip(protected["cells"], count_table["cells"], strict=True)
            ],
        }
        result = disclosure.audit_table(internal, threshold=threshold, interval=interval)
        if not result.ok:
            at_risk.extend(f"{indicator.id} {key}" for key, *_rest in result.at_risk)
        out = protected if is_plain else _published_value_table(value_table, protected)
        published_tables.append(_finish(disclosure, out, indicator, names, region))
    parameters = method_parameters(method, threshold, interval, base, region)
    input_digest = canonical_digest({"period": period, "tables": raw_inputs})
    output_digest = canonical_digest({"parameters": parameters, "tables": published_tables})
    return published_tables, input_digest, output_digest, at_risk


def _protect_total(table: dict[str, Any], method: str, threshold: int, base: int) -> dict[str, Any]:
    (cell,) = table["cells"]
    value = cell["value"]
    if method == "round":
        new = {**cell, "value": base * round(value / base), "status": "rounded"}
    elif 0 < value < threshold:
        new = {**cell, "value": None, "status": "primary"}
    else:
        new = dict(cell)
    return {**table, "cells": [new]}


def _finish(
    disclosure: Any,
    out: dict[str, Any],
    indicator: cat.Indicator,
    names: Mapping[str, dict[str, str]],
    region: str | None = None,
) -> dict[str, Any]:
    # What leaves: one status for every withheld cell (a reader cannot tell a small count from a
    # complementary cell), never a raw value.
    out = disclosure.public_table(out)
    out = {
        **out,
        "unit": indicator.unit,
        "name": {"en": indicator.name_en, "zh-Hans": indicator.name_zh},
    }
    if region is not None:
        out["region"] = region  # the region the table covers (with its sub-regions)
    else:
        out.pop("region", None)
    if "region" in out["dimensions"] or region is not None:
        codes = set(out["hierarchy"]) | ({region} if region else set())
        out["region_names"] = {c: names[c] for c in sorted(codes) if c in names}
    return out


def method_parameters(
    method: str, threshold: int, interval: float, base: int, region: str | None
) -> dict[str, Any]:
    """What a publication records of how it was made (a national one has no ``region`` key,
    as before regional reports existed, so its digests are unchanged)."""
    out: dict[str, Any] = {
        "method": method,
        "threshold": threshold,
        "interval": interval,
        "base": base,
    }
    if region is not None:
        out["region"] = region
    return out


@dataclass(frozen=True)
class PublicationView:
    id: str
    version: int
    period: str
    method: str
    parameters: dict[str, Any]
    contents: list[dict[str, Any]]
    input_digest: str
    output_digest: str
    tables: list[dict[str, Any]]
    published_by: str | None
    created_at: Any

    @property
    def region(self) -> str | None:
        """The region the publication covers (with its sub-regions); None: the whole country."""
        value = self.parameters.get("region")
        return str(value) if value else None


def _pub_view(p: Publication) -> PublicationView:
    return PublicationView(
        p.id,
        p.version,
        p.period,
        p.method,
        dict(p.parameters),
        list(p.contents),
        p.input_digest,
        p.output_digest,
        list(p.tables),
        p.published_by,
        p.created_at,
    )


def publish(
    session: Session,
    actor: Actor | None,
    period: str,
    *,
    contents: Sequence[Mapping[str, Any]] | None = None,
    method: str = "suppress",
    threshold: int = DEFAULT_THRESHOLD,
    interval: float = DEFAULT_INTERVAL,
    base: int = DEFAULT_BASE,
    is_demo: bool = False,
    region: str | None = None,
) -> PublicationView:
    """Compute, protect and audit every table, then store them as the next version.

    ``region``: a region code for a report of that region and its sub-regions (None: national).
    Blocked (:class:`PublicationBlocked`, nothing stored) when the audit finds a cell at risk."""
    if method not in ("suppress", "round"):
        raise StatsError(f"method {method!r}: suppress or round")
    if method == "round" and base not in (3, 5):
        raise StatsError("rounding base: 3 or 5")
    periods.parse(period)
    if region is not None and region not in engine.region_parents(session):
        raise UnknownRegion(region)
    chosen = [
        dict(c) for c in (contents if contents is not None else default_contents(session, region))
    ]
    if not chosen:
        raise StatsError("nothing to publish: no indicator has an installed source")
    try:
        tables, input_digest, output_digest, at_risk = build_publication(
            session,
            period,
            chosen,
            method=method,
            threshold=threshold,
            interval=interval,
            base=base,
            region=region,
        )
    except ModuleNotFoundError as exc:
        raise PublicationBlocked(f"disclosure control is not installed ({exc.name})") from None
    if at_risk:
        raise PublicationBlocked(
            f"the disclosure audit found {len(at_risk)} cell(s) at risk; nothing was published",
            at_risk,
        )
    latest = session.scalar(select(func.max(Publication.version))) or 0
    row = Publication(
        version=latest + 1,
        period=periods.parse(period).label,
        method=method,
        parameters=method_parameters(method, threshold, interval, base, region),
        contents=chosen,
        input_digest=input_digest,
        output_digest=output_digest,
        tables=tables,
        published_by=_actor_label(actor),
        is_demo=is_demo,
    )
    session.add(row)
    session.flush()
    _record(
        session,
        actor,
        "stats.publication.published",
        target_type="stats_publication",
        target_id=row.id,
        details={"version": row.version, "count": len(tables), "org_unit": region or "-"},
    )
    return _pub_view(row)


def publications(session: Session) -> list[PublicationView]:
    rows = session.scalars(select(Publication).order_by(Publication.version.desc()))
    return [_pub_view(p) for p in rows]


def publication(session: Session, version: int | None = None) -> PublicationView | None:
    """A version, or the latest one."""
    query = select(Publication)
    query = (
        query.where(Publication.version == version)
        if version is not None
        else query.order_by(Publication.version.desc()).limit(1)
    )
    row = session.scalars(query).first()
    return None if row is None else _pub_view(row)


@dataclass(frozen=True)
class Reproduction:
    same: bool
    input_same: bool
    output_same: bool
    input_digest: str
    output_digest: str


def reproduce(session: Session, version: int) -> Reproduction:
    """Re-run a publication from today's data with its recorded method: the same digests mean
    the same data made the same tables."""
    pub = publication(session, version)
    if pub is None:
        raise StatsError(f"no publication version {version}")
    params = pub.parameters
    _tables, input_digest, output_digest, _risk = build_publication(
        session,
        pub.period,
        pub.contents,
        method=params["method"],
        threshold=params["threshold"],
        interval=params["interval"],
        base=params["base"],
        region=params.get("region"),
    )
    return Reproduction(
        input_digest == pub.input_digest and output_digest == pub.output_digest,
        input_digest == pub.input_digest,
        output_digest == pub.output_digest,
        input_digest,
        output_digest,
    )
