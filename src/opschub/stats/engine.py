"""Computation: one GROUP BY over a fact source, then every total and sub-total in Python.

The database does what it is good at (filter and add up millions of case-level rows by the
finest categories, with an index on the date); what comes back is small (one row per
combination of categories that occurs), and the margins are built from it here, so that every
total and sub-total of every dimension and of the region hierarchy is the sum of exactly the cells
below it on both engines. See docs/statistics.md ("Why SQL").
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, literal, select
from sqlalchemy.orm import Session

from opschub.stats import catalogue as cat
from opschub.stats import sources
from opschub.stats.periods import Period

TOTAL = cat.TOTAL
UNKNOWN_REGION = "unknown"
UNALLOCATED = "-unallocated"  # suffix of a region's own figures when it also has sub-regions
LeafRows = dict[tuple[str, ...], float]


class StatsError(ValueError):
    """A table cannot be computed as asked; the message says why (dimension, period, source)."""


@dataclass(frozen=True)
class ExtraRow:
    """A figure from outside the operational data (an approved regional submission)."""

    key: Mapping[str, str]
    value: float


def number(value: Any) -> float:
    if value is None:
        return 0
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def region_parents(session: Session) -> dict[str, str | None]:
    """code -> parent code of the organisation units (empty before opschub.orgunits exists)."""
    try:
        from opschub.orgunits import service as orgunits
    except ModuleNotFoundError:
        return {}
    return dict(orgunits.hierarchy(session))


def aggregate(
    session: Session, measure: cat.Measure, dims: Sequence[cat.Dimension], period: Period
) -> LeafRows:
    """The measure added up by the finest categories of ``dims`` (NULL: the unknown category)."""
    source = sources.get(measure.source)
    sub = source.load()().subquery()
    try:
        group = [sub.c[d.column] for d in dims]
        date_column = sub.c[source.date_column]
        value_column = sub.c[measure.column] if measure.column else None
        filters = [(sub.c[k], v) for k, v in measure.filter.items()]
    except KeyError as exc:
        raise StatsError(f"source {measure.source} has no column {exc.args[0]!r}") from None
    from sqlalchemy import func

    if measure.kind == "count":
        total: Any = func.count()
    elif measure.kind == "count_of":
        total = func.count(value_column)
    else:
        total = func.sum(value_column)
    query = select(*group, total).select_from(sub)
    for column, wanted in filters:
        if isinstance(wanted, list):
            query = query.where(column.in_(wanted))
        else:
            query = query.where(column == wanted)
    if period.start is not None and period.end is not None:
        query = query.where(
            date_column >= literal(period.start, Date), date_column < literal(period.end, Date)
        )
    if group:
        query = query.group_by(*group)
    rows: LeafRows = {}
    for row in session.execute(query):
        *values, amount = row
        key = tuple(
            (UNKNOWN_REGION if d.is_region else d.unknown) if v is None else str(v)
            for d, v in zip(dims, values, strict=True)
        )
        rows[key] = rows.get(key, 0) + number(amount)
    return rows


@dataclass
class RegionTree:
    """The region hierarchy a table uses: every code's parent ("total" at the top)."""

    parent: dict[str, str]

    @classmethod
    def build(cls, parents: Mapping[str, str | None], observed: Iterable[str]) -> RegionTree:
        parent = {code: (p if p else TOTAL) for code, p in parents.items()}
        for code in observed:
            if code not in parent:
                parent[code] = TOTAL
        return cls(parent)

    def has_children(self, code: str) -> bool:
        return any(p == code for p in self.parent.values())

    def leaf_of(self, code: str) -> str:
        """Where a figure recorded at ``code`` sits: itself, or ``code-unallocated`` below it
        when ``code`` has sub-regions (so that a region is always the sum of its children)."""
        if not self.has_children(code):
            return code
        leaf = code + UNALLOCATED
        self.parent[leaf] = code
        return leaf

    def chain(self, code: str) -> list[str]:
        out = [code]
        while (up := self.parent.get(out[-1], TOTAL)) != TOTAL:
            out.append(up)
        return out

    def ordered(self) -> list[str]:
        """Every code, depth first (a region then its sub-regions), by code."""
        children: dict[str, list[str]] = {}
        for code, up in self.parent.items():
            children.setdefault(up, []).append(code)
        out: list[str] = []

        def walk(code: str) -> None:
            for child in sorted(children.get(code, [])):
                out.append(child)
                walk(child)

        walk(TOTAL)
        return out


def _domain(dim: cat.Dimension, observed: set[str]) -> list[str]:
    values = list(dim.values or ())
    values += sorted(v for v in observed if v not in values)
    return values


def margins(
    dims: Sequence[cat.Dimension], rows: LeafRows, tree: RegionTree | None
) -> tuple[list[tuple[str, ...]], dict[tuple[str, ...], float]]:
    """Every cell of the full table (each dimension's categories and "total"; every level of the
    region hierarchy), zeros included, each the exact sum of the leaf rows below it."""
    domains: list[list[str]] = []
    for i, dim in enumerate(dims):
        observed = {key[i] for key in rows}
        if dim.is_region:
            assert tree is not None
            domains.append([TOTAL, *tree.ordered()])
        else:
            domains.append([TOTAL, *_domain(dim, observed)])
    keys = list(itertools.product(*domains))
    sums: dict[tuple[str, ...], float] = dict.fromkeys(keys, 0)
    for key, value in rows.items():
        if not value:
            continue
        options = []
        for dim, v in zip(dims, key, strict=True):
            options.append([*tree.chain(v), TOTAL] if dim.is_region and tree else [v, TOTAL])
        for cell in itertools.product(*options):
            sums[cell] += value
    return keys, sums


def compute(
    session: Session,
    indicator: cat.Indicator,
    by: Sequence[str],
    period: Period,
    dimensions: Mapping[str, cat.Dimension],
    *,
    extra: Sequence[ExtraRow] = (),
    operational: bool = True,
    within: str | None = None,
) -> dict[str, Any]:
    """The raw table of ``indicator`` by ``by`` for ``period`` in the shape of
    ``opschub stats table --format json`` (every cell "published", no value withheld).

    ``extra``: figures from elsewhere (approved regional submissions) added to the leaves;
    ``operational=False``: those alone (the indicator's source is not installed here);
    ``within``: a region code: only the figures of that region and its sub-regions count, the
    table's total is that region's, and its region dimension starts below it (the table then
    carries ``"region"``: the code)."""
    for name in by:
        if name not in indicator.dimensions:
            allowed = ", ".join(indicator.dimensions) or "none"
            raise StatsError(
                f"indicator {indicator.id} cannot be broken down by {name!r}; allowed: {allowed}"
            )
    if len(set(by)) != len(by):
        raise StatsError("a dimension is named twice in --by")
    dims = [dimensions[name] for name in by]
    scope: RegionScope | None = None
    if within is not None:
        scope = RegionScope.of(region_parents(session), within, indicator)
        if not any(d.is_region for d in dims):
            # Added to the grouping to select the sub-tree's rows, then added up again.
            dims = [*dims, dimensions["region"]]
    numerator = aggregate(session, indicator.numerator, dims, period) if operational else {}
    for row in extra:
        key = tuple(row.key.get(d.name, d.unknown) for d in dims)
        numerator[key] = numerator.get(key, 0) + row.value
    denominator = (
        aggregate(session, indicator.denominator, dims, period)
        if indicator.denominator is not None and operational
        else None
    )
    if scope is not None:
        at = next(i for i, d in enumerate(dims) if d.is_region)
        keep = len(by) > at  # the region is one of the table's own dimensions
        numerator = scope.restrict(numerator, at, keep)
        if denominator is not None:
            denominator = scope.restrict(denominator, at, keep)
        dims = dims[: len(by)]
    tree = None
    region_at = next((i for i, d in enumerate(dims) if d.is_region), None)
    if region_at is not None:
        observed = {k[region_at] for k in numerator} | {k[region_at] for k in denominator or {}}
        parents = scope.parents if scope is not None else region_parents(session)
        tree = RegionTree.build(parents, observed)
        numerator = _relocate(numerator, region_at, tree)
        if denominator is not None:
            denominator = _relocate(denominator, region_at, tree)
    keys, num = margins(dims, numerator, tree)
    den = margins(dims, denominator, tree)[1] if denominator is not None else None
    cells = []
    for key in keys:
        if den is None:
            cells.append(
                {"key": dict(zip(by, key, strict=True)), "value": num[key], "status": "published"}
            )
            continue
        d = den.get(key, 0)
        cells.append(
            {
                "key": dict(zip(by, key, strict=True)),
                "value": round(num[key] / d, 2) if d else None,
                "status": "published" if d else "not_applicable",
            }
        )
    out = {
        "indicator": indicator.id,
        "period": period.label,
        "dimensions": list(by),
        "hierarchy": dict(sorted(tree.parent.items())) if tree is not None else {},
        "unit": indicator.unit,
        "cells": cells,
    }
    if within is not None:
        out["region"] = within
    return out


@dataclass(frozen=True)
class RegionScope:
    """A region and its sub-tree: which codes count, and the hierarchy below the region (its
    children at the top; figures recorded at the region itself, when it has sub-regions, under
    ``CODE-unallocated``)."""

    code: str
    members: frozenset[str]
    parents: dict[str, str | None]

    @classmethod
    def of(
        cls, parents: Mapping[str, str | None], code: str, indicator: cat.Indicator
    ) -> RegionScope:
        if "region" not in indicator.dimensions:
            raise StatsError(
                f"indicator {indicator.id} has no region breakdown: it cannot be made for a region"
            )
        if code not in parents:
            raise StatsError(f"no region {code!r} (opschub orgunits list)")
        members = {code}
        grew = True
        while grew:
            below = {c for c, p in parents.items() if p in members} - members
            members |= below
            grew = bool(below)
        sub: dict[str, str | None] = {
            c: (None if parents[c] == code else parents[c]) for c in members if c != code
        }
        if not sub:
            sub[code] = None  # a region without sub-regions: itself, the only leaf
        return cls(code, frozenset(members), sub)

    def restrict(self, rows: LeafRows, at: int, keep: bool) -> LeafRows:
        """The rows of the sub-tree (a figure at the region itself moved to its unallocated
        leaf); without ``keep`` the region column is added up away."""
        has_children = len(self.members) > 1
        out: LeafRows = {}
        for key, value in rows.items():
            code = key[at]
            if code not in self.members:
                continue
            if code == self.code and has_children:
                code = self.code + UNALLOCATED
                self.parents.setdefault(code, None)
            moved = (*key[:at], code, *key[at + 1 :]) if keep else (*key[:at], *key[at + 1 :])
            out[moved] = out.get(moved, 0) + value
        return out


def _relocate(rows: LeafRows, at: int, tree: RegionTree) -> LeafRows:
    out: LeafRows = {}
    for key, value in rows.items():
        moved = (*key[:at], tree.leaf_of(key[at]), *key[at + 1 :])
        out[moved] = out.get(moved, 0) + value
    return out
