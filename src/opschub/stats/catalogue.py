"""The indicator catalogue: data, not code.

The built-ins are in ``indicators.toml`` next to this module; administrators add indicators of the
same shape (``opschub stats indicators add FILE.toml``, stored by :mod:`opschub.stats.service`).
This module is pure: it parses and checks definitions and imports nothing from the database.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from opschub import taxonomy

BUILTIN_FILE = Path(__file__).with_name("indicators.toml")
MEASURES = ("count", "count_of", "sum")
TOTAL = "total"
UNKNOWN = "unknown"
_ID = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class CatalogueError(ValueError):
    """An indicator definition is wrong; ``errors`` name each field (``indicator 3: unit ...``)."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = list(errors)


@dataclass(frozen=True)
class Dimension:
    name: str
    column: str
    # The categories a full table lists (zeros included); None: the categories found in the data.
    values: tuple[str, ...] | None
    code_list: str | None = None
    unknown: str = UNKNOWN

    @property
    def is_region(self) -> bool:
        return self.name == "region"


@dataclass(frozen=True)
class Measure:
    """What is added up over a source's rows: rows (``count``), rows where a column is set
    (``count_of:COL``) or a column's values (``sum:COL``)."""

    source: str
    kind: str = "count"
    column: str | None = None
    filter: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_count(self) -> bool:
        return self.kind in ("count", "count_of")

    def describe(self) -> dict[str, Any]:
        measure = self.kind if self.column is None else f"{self.kind}:{self.column}"
        return {"source": self.source, "measure": measure, "filter": dict(self.filter)}


@dataclass(frozen=True)
class Indicator:
    id: str
    name_en: str
    name_zh: str
    definition_en: str
    definition_zh: str
    numerator: Measure
    unit: str
    dimensions: tuple[str, ...]
    denominator: Measure | None = None
    iccs: str | None = None
    publish_by: tuple[str, ...] = ()
    builtin: bool = True

    @property
    def is_ratio(self) -> bool:
        return self.denominator is not None

    def name(self, lang: str) -> str:
        return (
            self.name_zh if taxonomy.normalise_language(lang) == taxonomy.ZH_HANS else self.name_en
        )

    def definition(self, lang: str) -> str:
        zh = taxonomy.normalise_language(lang) == taxonomy.ZH_HANS
        return self.definition_zh if zh else self.definition_en

    def counted(self) -> Measure:
        """The count that disclosure control protects: the numerator when it counts (people,
        cases, items), otherwise the rows that make up the denominator or the sum."""
        if self.numerator.is_count:
            return self.numerator
        if self.denominator is not None and self.denominator.is_count:
            return self.denominator
        return Measure(self.numerator.source, "count", None, self.numerator.filter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": {"en": self.name_en, "zh-Hans": self.name_zh},
            "definition": {"en": self.definition_en, "zh-Hans": self.definition_zh},
            "numerator": self.numerator.describe(),
            "denominator": None if self.denominator is None else self.denominator.describe(),
            "unit": self.unit,
            "iccs": self.iccs,
            "dimensions": list(self.dimensions),
            "publish_by": list(self.publish_by),
            "builtin": self.builtin,
        }


@dataclass(frozen=True)
class Rule:
    """A check on regional figures: the total of ``left`` ``op`` the total of ``right``."""

    left: str
    op: str
    right: str

    def holds(self, left: float, right: float) -> bool:
        return left <= right if self.op == "<=" else left >= right


@dataclass(frozen=True)
class Catalogue:
    dimensions: Mapping[str, Dimension]
    indicators: Mapping[str, Indicator]
    rules: tuple[Rule, ...]

    def get(self, indicator_id: str) -> Indicator:
        try:
            return self.indicators[indicator_id]
        except KeyError:
            known = ", ".join(self.indicators)
            raise CatalogueError([f"unknown indicator {indicator_id!r}; known: {known}"]) from None

    def with_added(self, extra: Iterable[Indicator]) -> Catalogue:
        merged = dict(self.indicators)
        for indicator in extra:
            merged.setdefault(indicator.id, indicator)
        return Catalogue(self.dimensions, merged, self.rules)


def _dimension(name: str, raw: Mapping[str, Any]) -> Dimension:
    values: tuple[str, ...] | None = None
    code_list = raw.get("code_list")
    if code_list:
        values = taxonomy.code_list(code_list).values
    if raw.get("values"):
        values = tuple(raw["values"])
    if values is not None and raw.get("extra"):
        values = values + tuple(v for v in raw["extra"] if v not in values)
    return Dimension(name, raw["column"], values, code_list, raw.get("unknown", UNKNOWN))


def _measure(raw: Any, where: str, errors: list[str]) -> Measure | None:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("source"), str):
        errors.append(f'{where}: needs a table with a source, e.g. {{ source = "cases.cases" }}')
        return None
    text = str(raw.get("measure", "count"))
    kind, _, column = text.partition(":")
    if kind not in MEASURES or (kind == "count") != (not column):
        errors.append(f"{where}.measure: {text!r} is not count, count_of:COLUMN or sum:COLUMN")
        return None
    filters = raw.get("filter", {})
    if not isinstance(filters, Mapping):
        errors.append(f"{where}.filter: must be a table of column = value or [values]")
        return None
    return Measure(raw["source"], kind, column or None, dict(filters))


def parse_indicator(
    raw: Mapping[str, Any], where: str, dimensions: Mapping[str, Dimension], *, builtin: bool
) -> Indicator:
    """One indicator from its TOML table; :class:`CatalogueError` names every bad field."""
    errors: list[str] = []
    ident = raw.get("id")
    if not isinstance(ident, str) or not _ID.match(ident):
        errors.append(f"{where}.id: lower-case letters, digits and _, starting with a letter")
    for key in ("name_en", "name_zh", "definition_en", "definition_zh", "unit"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            errors.append(f"{where}.{key}: required text")
    numerator = _measure(raw.get("numerator"), f"{where}.numerator", errors)
    denominator = None
    if raw.get("denominator") is not None:
        denominator = _measure(raw["denominator"], f"{where}.denominator", errors)
    dims = raw.get("dimensions", [])
    if not isinstance(dims, list):
        errors.append(f"{where}.dimensions: a list of dimension names")
        dims = []
    for dim in dims:
        if dim not in dimensions:
            errors.append(
                f"{where}.dimensions: unknown dimension {dim!r}; known: {', '.join(dimensions)}"
            )
    publish_by = raw.get("publish_by", [])
    for dim in publish_by:
        if dim not in dims:
            errors.append(f"{where}.publish_by: {dim!r} is not one of the indicator's dimensions")
    iccs = raw.get("iccs")
    if iccs is not None and iccs not in taxonomy.ICCS:
        errors.append(f"{where}.iccs: {iccs!r} is not an ICCS code of opschub.taxonomy")
    if errors or numerator is None:
        raise CatalogueError(errors)
    return Indicator(
        id=str(ident),
        name_en=raw["name_en"],
        name_zh=raw["name_zh"],
        definition_en=raw["definition_en"],
        definition_zh=raw["definition_zh"],
        numerator=numerator,
        denominator=denominator,
        unit=raw["unit"],
        iccs=iccs,
        dimensions=tuple(dims),
        publish_by=tuple(publish_by),
        builtin=builtin,
    )


def parse(text: str, *, builtin: bool, base: Catalogue | None = None) -> Catalogue:
    """A catalogue from TOML text (dimensions and rules come from ``base`` when given)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError([f"not valid TOML: {exc}"]) from None
    dimensions = (
        dict(base.dimensions)
        if base is not None
        else {name: _dimension(name, d) for name, d in raw.get("dimensions", {}).items()}
    )
    errors: list[str] = []
    indicators: dict[str, Indicator] = {}
    for number, entry in enumerate(raw.get("indicator", []), start=1):
        try:
            indicator = parse_indicator(entry, f"indicator {number}", dimensions, builtin=builtin)
        except CatalogueError as exc:
            errors.extend(exc.errors)
            continue
        if indicator.id in indicators or (base is not None and indicator.id in base.indicators):
            errors.append(f"indicator {number}.id: {indicator.id!r} already exists")
        indicators[indicator.id] = indicator
    rules = tuple(Rule(r["left"], r.get("op", "<="), r["right"]) for r in raw.get("rule", []))
    if errors:
        raise CatalogueError(errors)
    return Catalogue(dimensions, indicators, rules if base is None else base.rules)


@cache
def builtin() -> Catalogue:
    return parse(BUILTIN_FILE.read_text(encoding="utf-8"), builtin=True)
