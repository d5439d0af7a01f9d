"""Controlled rounding to a base (3 or 5): every cell becomes one of the two multiples of the base
next to it (a multiple stays as it is), and every total is still the sum of its rounded children.

One integer program (scipy's ``milp``, HiGHS): a binary per cell that is not a multiple (round up
or down), the additive relations as equalities, minimising the total distance to the raw values.
Two-way tables always have such a rounding; some tables of three or more dimensions have none, and
then the table must be suppressed instead (the error says so)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from opschub.stats.disclosure.model import DisclosureError, Table

TIME_LIMIT = 300.0


def controlled_round(table: Table, *, base: int) -> np.ndarray:
    if base not in (3, 5):
        raise DisclosureError(f"rounding base {base}: use 3 or 5")
    values = table.values
    if np.any(np.abs(values - np.round(values)) > 1e-9):
        raise DisclosureError("controlled rounding needs whole numbers (counts)")
    counts = np.round(values).astype(np.int64)
    low = (counts // base) * base
    residue = counts - low
    free = np.flatnonzero(residue)
    if free.size == 0:
        return counts
    relations = table.relations
    rhs = -(relations @ low) / base
    a = relations[:, free]
    keep = np.flatnonzero(np.diff(a.indptr))  # rows that hold a free cell
    fixed_rows = np.setdiff1d(np.arange(relations.shape[0]), keep)
    if fixed_rows.size and np.any(np.abs(rhs[fixed_rows]) > 1e-9):
        raise DisclosureError("controlled rounding is impossible: multiples do not add up")
    cost = (base - 2 * residue[free]).astype(float)
    result = milp(
        cost,
        constraints=LinearConstraint(a[keep], rhs[keep], rhs[keep]),
        integrality=np.ones(free.size),
        bounds=Bounds(0, 1),
        options={"time_limit": TIME_LIMIT},
    )
    if result.x is None:
        raise DisclosureError(
            "this table has no controlled rounding to base "
            f"{base} ({result.message}); protect it by suppression instead"
        )
    rounded = low.copy()
    rounded[free] += base * np.round(result.x).astype(np.int64)
    return rounded
