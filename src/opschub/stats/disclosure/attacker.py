"""The attacker: for each suppressed cell, the smallest and largest value consistent with every
published cell, the table's additive relations and non-negativity (integers relaxed to bounds),
by linear programming (scipy's HiGHS), and the check against the protection requirement.

The suppressed cells fall apart into independent blocks: two suppressed cells are linked when one
additive relation holds both, and a block's programs need only its own cells and the relations that
touch them (every other cell in those relations is published, hence a constant). Within a block, each
optimal solution is also a feasible point for every other cell: a requirement already met by a point
seen earlier needs no program of its own.

Requirement (threshold t, interval p) for a *sensitive* cell (value 1..t-1) with value x: the
attacker's integer range [ceil(low), floor(high)] must reach down to min(floor(x(1-p)), t-1) and up
to ceil(x(1+p)). Any other suppressed cell (a complementary one) must not be recovered: its range
holds at least two integers. A published file carries no raw values: then a cell labelled
"primary" (or "suppressed") must meet the requirement for every value 1..t-1 it could have, which
comes to: low reaches 0 and high reaches ceil((t-1)(1+p)). Protection guarantees that stronger,
value-free form, so that both audits pass on what it produces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from opschub.stats.disclosure.model import DisclosureError, Table

EPS = 1e-6


def required_low(value: float, threshold: int, interval: float) -> float:
    """The attacker's lower bound must reach at least this low (an integer)."""
    return float(min(math.floor(value * (1 - interval) + EPS), threshold - 1))


def required_high(value: float, threshold: int, interval: float) -> float:
    """The attacker's upper bound must reach at least this high (an integer)."""
    return float(math.ceil(value * (1 + interval) - EPS))


def value_free_high(threshold: int, interval: float) -> float:
    """What a sensitive cell's upper bound must reach when its value is not known: the
    requirement of the largest sensitive value, ceil((t-1)(1+p)) (12 for 10 and 30%)."""
    return required_high(threshold - 1, threshold, interval)


def is_sensitive(value: float, threshold: int) -> bool:
    return 1 - EPS <= value <= threshold - 1 + EPS


class AtRisk(NamedTuple):
    """A cell the attacker can pin down: its key, the attacker's interval (``high`` is ``inf``
    when unbounded) and its raw value (``None`` when the file does not carry it)."""

    key: dict[str, str]
    low: float
    high: float
    value: float | None


@dataclass
class AuditResult:
    ok: bool
    at_risk: list[AtRisk]
    reasons: list[str] = field(default_factory=list)
    checked: int = 0  # suppressed cells whose interval was established
    programs: int = 0  # linear programs solved
    mode: str = "raw"  # "raw": raw values known; "published": requirement for any small value


def components(relations: sp.csr_matrix, suppressed: np.ndarray) -> list[np.ndarray]:
    """Blocks of suppressed cells linked through shared relations."""
    cells = np.flatnonzero(suppressed)
    if cells.size == 0:
        return []
    sub = relations[:, cells].tocsr()
    sub.data = np.ones_like(sub.data)
    # cells linked when they share a row: cell-cell adjacency = sub.T @ sub
    adjacency = (sub.T @ sub).tocsr()
    count, labels = sp.csgraph.connected_components(adjacency, directed=False)
    order = np.argsort(labels, kind="stable")
    splits = np.flatnonzero(np.diff(labels[order])) + 1
    return [cells[group] for group in np.split(order, splits)]


class Block:
    """The attacker's program for one block: x >= 0, A x = b."""

    def __init__(self, table: Table, cells: np.ndarray, suppressed: np.ndarray) -> None:
        self.cells = cells
        rel = table.relations
        rows = np.unique(rel[:, cells].tocoo().row)
        self.rows = rows
        sub = rel[rows]
        self.a = sub[:, cells].tocsr()
        published = np.flatnonzero(~suppressed)
        known = sub[:, published]
        values = table.values[published]
        if np.isnan(values).any():
            raise DisclosureError("a published cell has no value")
        self.b = -(known @ values)
        self.programs = 0

    def solve(self, position: int, sense: float) -> tuple[float, np.ndarray | None]:
        """Minimise (sense=1) or maximise (sense=-1) cell ``position``; (bound, point)."""
        c = np.zeros(self.cells.size)
        c[position] = sense
        self.programs += 1
        result = linprog(c, A_eq=self.a, b_eq=self.b, bounds=(0, None), method="highs")
        if result.status == 3:  # unbounded
            return (math.inf if sense < 0 else -math.inf), None
        if result.status != 0:
            raise DisclosureError(
                "the published values contradict the additive relations "
                f"(linear program status {result.status}: {result.message})"
            )
        return float(result.x[position]), np.asarray(result.x)


def audit_block(
    table: Table,
    block: Block,
    *,
    threshold: int,
    interval: float,
    raw: bool,
    value_free: bool = False,
) -> tuple[list[tuple[int, float, float]], int]:
    """(failures as (cell, low, high), cells checked) for one block."""
    cells = block.cells
    values = table.values[cells]
    n = cells.size
    seen_low = np.full(n, np.inf)
    seen_high = np.full(n, -np.inf)
    if raw:  # the true table is a feasible point
        seen_low = values.copy()
        seen_high = values.copy()
    exact_low = np.full(n, np.nan)
    exact_high = np.full(n, np.nan)

    def run(pos: int, sense: float) -> float:
        bound, point = block.solve(pos, sense)
        if point is not None:
            np.minimum(seen_low, point, out=seen_low)
            np.maximum(seen_high, point, out=seen_high)
        if sense > 0:
            exact_low[pos] = bound
        else:
            exact_high[pos] = bound
            if math.isinf(bound):
                seen_high[pos] = math.inf
        return bound

    def low(pos: int) -> float:
        return float(exact_low[pos]) if not np.isnan(exact_low[pos]) else run(pos, 1.0)

    def high(pos: int) -> float:
        return float(exact_high[pos]) if not np.isnan(exact_high[pos]) else run(pos, -1.0)

    failures: list[tuple[int, float, float]] = []
    for pos in range(n):
        cell = int(cells[pos])
        if raw:
            x = float(values[pos])
            if is_sensitive(x, threshold):
                if value_free:
                    lo_need, hi_need = 0.0, value_free_high(threshold, interval)
                else:
                    lo_need = required_low(x, threshold, interval)
                    hi_need = required_high(x, threshold, interval)
                ok_low = seen_low[pos] <= lo_need + EPS or low(pos) <= lo_need + EPS
                ok_high = seen_high[pos] >= hi_need - EPS or high(pos) >= hi_need - EPS
            else:
                ok_low = True
                ok_high = seen_high[pos] - seen_low[pos] >= 1 - EPS or (
                    high(pos) - low(pos) >= 1 - EPS
                )
            if not (ok_low and ok_high):
                failures.append((cell, low(pos), high(pos)))
            continue
        # Published only: the value is unknown; the cell is safe if the requirement holds for
        # every small value it could have, and it is never pinned to one integer.
        lo, hi = low(pos), high(pos)
        int_lo = math.ceil(lo - EPS)
        int_hi = math.floor(hi + EPS) if math.isfinite(hi) else math.inf
        ok = int_hi - int_lo >= 1
        status = table.statuses[cell]
        smallest = max(int_lo, 1)
        largest = min(int_hi, threshold - 1)
        if smallest <= largest:
            ok = ok and int_lo <= required_low(smallest, threshold, interval)
            ok = ok and int_hi >= required_high(largest, threshold, interval)
        elif status == "primary":
            ok = False  # labelled small, yet the attacker proves it is not
        if status == "secondary":  # declared complementary: only "never recovered" applies
            ok = int_hi - int_lo >= 1
        if not ok:
            failures.append((cell, lo, hi))
    return failures, n


def audit(
    table: Table,
    *,
    threshold: int,
    interval: float,
    suppressed: np.ndarray | None = None,
    only: np.ndarray | None = None,
    value_free: bool = False,
) -> AuditResult:
    """Run the attacker on every block (or the blocks holding ``only``'s cells)."""
    mask = table.suppressed if suppressed is None else suppressed
    raw = bool(not np.isnan(table.values[mask]).any())
    at_risk: list[AtRisk] = []
    reasons: list[str] = []
    statuses = table.statuses
    # published small counts are disclosed outright (rounded tables publish multiples of the base)
    visible = np.flatnonzero(~mask)
    for cell in visible:
        x = float(table.values[cell])
        if statuses[cell] != "rounded" and is_sensitive(x, threshold):
            if only is None or cell in only:
                at_risk.append(AtRisk(table.key_dict(int(cell)), x, x, x))
                reasons.append(f"published value {x:g} is below the threshold {threshold}")
    checked = 0
    programs = 0
    wanted = None if only is None else set(int(c) for c in only)
    for cells in components(table.relations, mask):
        if wanted is not None and not wanted.intersection(int(c) for c in cells):
            continue
        block = Block(table, cells, mask)
        failures, n = audit_block(
            table, block, threshold=threshold, interval=interval, raw=raw, value_free=value_free
        )
        checked += n
        programs += block.programs
        for cell, lo, hi in failures:
            value = None if np.isnan(table.values[cell]) else float(table.values[cell])
            at_risk.append(AtRisk(table.key_dict(cell), lo, hi, value))
            reasons.append(_reason(value, lo, hi, threshold, interval))
    return AuditResult(
        ok=not at_risk,
        at_risk=at_risk,
        reasons=reasons,
        checked=checked,
        programs=programs,
        mode="raw" if raw else "published",
    )


def _reason(value: float | None, lo: float, hi: float, threshold: int, interval: float) -> str:
    shown = f"[{lo:g}, {hi:g}]"
    if value is None:
        return f"the attacker narrows it to {shown}"
    if is_sensitive(value, threshold):
        need = (
            f"[{required_low(value, threshold, interval):g}, "
            f"{required_high(value, threshold, interval):g}]"
        )
        return f"the attacker narrows it to {shown}; the protection interval needs {need}"
    return f"the attacker recovers it: {shown}"
