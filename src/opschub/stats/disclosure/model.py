"""The table model: cells over dimensions, each dimension a tree under "total", and the additive
relations that an attacker knows (every total or sub-total is the sum of its children along each
dimension, for every combination of the other dimensions' values, their totals included).

The input is the JSON shape of ``opschub stats table ... --format json``::

    {"indicator": ..., "period": ..., "dimensions": ["region", "sex"],
     "hierarchy": {"XA": "total", "XA-01": "XA", ...},
     "cells": [{"key": {"region": "XA-01", "sex": "female"}, "value": 3, "status": "published"}]}

``hierarchy`` (child -> parent) applies to the dimension whose values it names (the region); every
other dimension is flat: each category's parent is "total". ``hierarchies`` ({dimension: {child:
parent}}) may name a tree for any dimension explicitly. A combination missing from ``cells`` is a
structural zero, known to everyone. Pure: numpy and scipy only.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

TOTAL = "total"
SUPPRESSED_STATUSES = frozenset({"primary", "secondary", "suppressed"})
KNOWN_STATUSES = frozenset({"published", "rounded", "not_applicable"}) | SUPPRESSED_STATUSES
# Values closer than this to each other are equal (sums of integers given as floats).
TOLERANCE = 1e-6


class DisclosureError(ValueError):
    """A table that cannot be protected or audited; the message names what is wrong."""


Key = tuple[str, ...]


@dataclass
class Dimension:
    name: str
    values: list[str]
    parent: dict[str, str]  # value -> parent value (roots absent)

    def children(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for child, parent in self.parent.items():
            out.setdefault(parent, []).append(child)
        return out


@dataclass
class Table:
    """A parsed table: ``values`` holds the raw value of each cell (NaN where unknown),
    ``suppressed`` marks cells published as null; ``relations`` is a sparse matrix with one row per
    additive relation (+1 the total, -1 each child) so that ``relations @ values == 0``."""

    source: Mapping[str, Any]
    dims: list[Dimension]
    keys: list[Key]
    values: np.ndarray
    suppressed: np.ndarray
    statuses: list[str]
    relations: sp.csr_matrix
    relation_names: list[tuple[str, Key]] = field(default_factory=list)
    _index: dict[Key, int] | None = field(default=None, repr=False)
    _children: list[dict[str, list[str]]] | None = field(default=None, repr=False)
    _cubes: Any = field(default=None, repr=False)  # hypercube.Hypercubes, built on first use

    @property
    def size(self) -> int:
        return len(self.keys)

    def key_dict(self, index: int) -> dict[str, str]:
        return {d.name: v for d, v in zip(self.dims, self.keys[index], strict=True)}

    def describe(self, index: int) -> str:
        return describe_key(self.key_dict(index))

    def index_of(self, key: Key) -> int | None:
        if self._index is None:
            self._index = {k: i for i, k in enumerate(self.keys)}
        return self._index.get(key)

    def neighbourhood(self, cell: int) -> np.ndarray:
        """The cells around ``cell``: along every dimension its value, parent, siblings and
        children, in every combination (sorted indices)."""
        if self._children is None:
            self._children = [d.children() for d in self.dims]
        key = self.keys[cell]
        options = []
        for d, dim in enumerate(self.dims):
            value = key[d]
            near = {value}
            up = dim.parent.get(value)
            if up is not None:
                near.add(up)
                near.update(self._children[d].get(up, ()))
            near.update(self._children[d].get(value, ()))
            options.append(sorted(near))
        found = (self.index_of(combo) for combo in itertools.product(*options))
        return np.array(sorted(i for i in found if i is not None), dtype=np.int64)


def describe_key(key: Mapping[str, str]) -> str:
    return ", ".join(f"{name}={value}" for name, value in key.items())


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DisclosureError(f"{where}: value {value!r} is not a number")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise DisclosureError(f"{where}: value {value!r} must be a finite number >= 0")
    return number


def _dimension_trees(
    table: Mapping[str, Any], names: Sequence[str], seen: Sequence[set[str]]
) -> list[Dimension]:
    hierarchy = table.get("hierarchy") or {}
    explicit = table.get("hierarchies") or {}
    if not isinstance(hierarchy, Mapping) or not isinstance(explicit, Mapping):
        raise DisclosureError("'hierarchy' must map child codes to parent codes")
    dims = []
    for name, values in zip(names, seen, strict=True):
        categories = values - {TOTAL}
        tree: Mapping[str, Any] | None = explicit.get(name)
        if tree is None and hierarchy and categories and categories <= set(hierarchy):
            tree = hierarchy
        parent: dict[str, str] = {}
        if tree is not None:
            for value in sorted(categories):
                up = tree.get(value)
                if not isinstance(up, str) or not up:
                    raise DisclosureError(
                        f"dimension {name}: {value!r} has no parent in the hierarchy"
                    )
                if up not in values:
                    raise DisclosureError(
                        f"dimension {name}: {value!r} has parent {up!r}, which is not in the table"
                    )
                parent[value] = up
            for value in parent:  # no cycles
                steps, node = 0, value
                while node in parent:
                    node, steps = parent[node], steps + 1
                    if steps > len(parent):
                        raise DisclosureError(
                            f"dimension {name}: the hierarchy has a cycle at {value!r}"
                        )
        elif TOTAL in values:
            parent = {value: TOTAL for value in sorted(categories)}
        dims.append(Dimension(name, sorted(values), parent))
    return dims


def parse_table(table: Any, *, need_values: bool) -> Table:
    """Check the shape and build the relations. ``need_values``: every cell must carry its raw
    value (the input of protection); otherwise suppressed cells may be null."""
    if not isinstance(table, Mapping):
        raise DisclosureError("the table must be a JSON object")
    names = table.get("dimensions")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise DisclosureError("'dimensions' must be a non-empty list of dimension names")
    if len(set(names)) != len(names):
        raise DisclosureError("'dimensions' names a dimension twice")
    cells = table.get("cells")
    if not isinstance(cells, list) or not cells:
        raise DisclosureError("'cells' must be a non-empty list")
    width = len(names)
    keys: list[Key] = []
    index: dict[Key, int] = {}
    values = np.full(len(cells), np.nan)
    suppressed = np.zeros(len(cells), dtype=bool)
    statuses: list[str] = []
    seen: list[set[str]] = [set() for _ in names]
    for i, cell in enumerate(cells):
        where = f"cells[{i}]"
        if not isinstance(cell, Mapping):
            raise DisclosureError(f"{where}: not an object")
        key = cell.get("key")
        if not isinstance(key, Mapping) or set(key) != set(names):
            raise DisclosureError(f"{where}: 'key' must name exactly the dimensions {names}")
        if not all(isinstance(key[n], str) for n in names):
            raise DisclosureError(f"{where}: key values must be strings")
        tup = tuple(key[n] for n in names)
        where = f"{where} ({describe_key(key)})"
        if tup in index:
            raise DisclosureError(f"{where}: the same key appears twice")
        index[tup] = i
        keys.append(tup)
        for d in range(width):
            seen[d].add(tup[d])
        status = cell.get("status", "published")
        if status not in KNOWN_STATUSES:
            raise DisclosureError(f"{where}: unknown status {status!r}")
        statuses.append(status)
        value = cell.get("value")
        if value is None:
            if need_values:
                raise DisclosureError(f"{where}: value is missing (protection needs every value)")
            if status == "not_applicable":
                raise DisclosureError(
                    f"{where}: a not-applicable cell cannot be protected or audited"
                )
            suppressed[i] = True
            if status not in SUPPRESSED_STATUSES:
                raise DisclosureError(f"{where}: value is null but status is {status!r}")
            raw = cell.get("raw_value")
            if raw is not None:
                values[i] = _number(raw, where + " raw_value")
        else:
            if status in SUPPRESSED_STATUSES:
                raise DisclosureError(f"{where}: status {status!r} but the value is published")
            values[i] = _number(value, where)
    dims = _dimension_trees(table, names, seen)
    relations, relation_names = _relations(dims, keys, index)
    return Table(table, dims, keys, values, suppressed, statuses, relations, relation_names)


def _relations(
    dims: Sequence[Dimension], keys: Sequence[Key], index: Mapping[Key, int]
) -> tuple[sp.csr_matrix, list[tuple[str, Key]]]:
    groups: dict[tuple[int, Key], list[int]] = {}
    for i, key in enumerate(keys):
        for d, dim in enumerate(dims):
            up = dim.parent.get(key[d])
            if up is None:
                continue
            total_key = (*key[:d], up, *key[d + 1 :])
            groups.setdefault((d, total_key), []).append(i)
    rows: list[int] = []
    cols: list[int] = []
    data: list[float] = []
    names: list[tuple[str, Key]] = []
    for r, ((d, total_key), children) in enumerate(groups.items()):
        total = index.get(total_key)
        if total is None:
            shown = describe_key({dm.name: v for dm, v in zip(dims, total_key, strict=True)})
            raise DisclosureError(f"the total cell ({shown}) is missing from 'cells'")
        rows.append(r)
        cols.append(total)
        data.append(1.0)
        rows.extend([r] * len(children))
        cols.extend(children)
        data.extend([-1.0] * len(children))
        names.append((dims[d].name, total_key))
    matrix = sp.csr_matrix((data, (rows, cols)), shape=(len(groups), len(keys)))
    return matrix, names


def check_additive(table: Table) -> None:
    """Raise naming the first total that is not the sum of its children."""
    if np.isnan(table.values).any():
        raise DisclosureError("some cells have no value")
    residual = table.relations @ table.values
    bad = np.flatnonzero(np.abs(residual) > TOLERANCE * (1 + np.abs(table.values).max()))
    if bad.size:
        dim, key = table.relation_names[int(bad[0])]
        shown = describe_key({d.name: v for d, v in zip(table.dims, key, strict=True)})
        raise DisclosureError(
            f"the table is not additive: cell ({shown}) is not the sum of its children along "
            f"{dim} (off by {residual[bad[0]]:g}); {bad.size} total(s) disagree"
        )


def relation_residual(rel_csc: sp.csc_matrix, support: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """``relations @ y`` for a y given by its support, on the relations it touches (plain numpy
    over the CSC arrays: slicing a scipy matrix costs more than the sum)."""
    starts = rel_csc.indptr[support]
    counts = rel_csc.indptr[support + 1] - starts
    if not counts.sum():
        return np.zeros(0)
    offsets = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
    rows = rel_csc.indices[offsets]
    weights = rel_csc.data[offsets] * np.repeat(ys, counts)
    touched, inverse = np.unique(rows, return_inverse=True)
    return np.bincount(inverse, weights=weights, minlength=touched.size)
