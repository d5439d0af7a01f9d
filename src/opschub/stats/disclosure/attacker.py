"""The attacker: for each suppressed cell, the smallest and largest value consistent with every
published cell, the table's additive relations and non-negativity (integers relaxed to bounds), by
linear programming (scipy's HiGHS), and the check against the protection requirement.

The suppressed cells fall apart into independent blocks: two suppressed cells are linked when one
additive relation holds both, and a block's programs need only its own cells and the relations that
touch them (every other cell in those relations is published, hence a constant). Within a block,
each optimal solution is also a feasible point for every other cell: a requirement already met by a
point seen earlier needs no program of its own.

Requirement (threshold t, interval p) for a *sensitive* cell (value 1..t-1) with value x: the
attacker's integer range [ceil(low), floor(high)] must reach down to min(floor(x(1-p)), t-1) and up
to ceil(x(1+p)). Any other suppressed cell (a complementary one) must not be recovered: its range
holds at least two integers. A published file carries no raw values: then a cell labelled "primary"
(or "suppressed") must meet the requirement for every value 1..t-1 it could have, which comes to:
low reaches 0 and high reaches ceil((t-1)(1+p)). Protection guarantees that stronger, value-free
form, so that both audits pass on what it produces."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from opschub.stats.disclosure.hypercube import Hypercubes, hypercubes
from opschub.stats.disclosure.lp import Outcome, Program
from opschub.stats.disclosure.model import DisclosureError, Table, relation_residual

EPS = 1e-6
WIDE_SEARCH = 12  # partner vectors per dimension in the audit's second hypercube search


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
    _count, labels = sp.csgraph.connected_components(adjacency, directed=False)
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
        n = cells.size
        self.program = Program(self.a, self.b, self.b, np.zeros(n), np.full(n, np.inf))

    @property
    def programs(self) -> int:
        return self.program.runs

    def solve(self, position: int, sense: float) -> tuple[float, np.ndarray | None]:
        """Minimise (sense=1) or maximise (sense=-1) cell ``position``; (bound, point)."""
        self.program.objective([position], [sense])
        outcome, x = self.program.solve()
        if outcome is Outcome.unbounded:
            return (math.inf if sense < 0 else -math.inf), None
        if outcome is Outcome.infeasible or x is None:
            raise DisclosureError(
                "the published values contradict the additive relations (no table fits them)"
            )
        return float(x[position]), x


def audit_block(
    table: Table,
    block: Block,
    *,
    threshold: int,
    interval: float,
    raw: bool,
    value_free: bool = False,
    targets: list[int] | None = None,
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
    for pos in range(n) if targets is None else targets:
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
    return failures, n if targets is None else len(targets)


def _needs(value: float, threshold: int, interval: float, value_free: bool) -> tuple[float, float]:
    if value_free:
        return 0.0, value_free_high(threshold, interval)
    return required_low(value, threshold, interval), required_high(value, threshold, interval)


def _audit_raw(
    table: Table,
    mask: np.ndarray,
    cells: np.ndarray,
    *,
    threshold: int,
    interval: float,
    value_free: bool,
) -> tuple[list[tuple[int, float, float]], int]:
    """Raw values known: first each cell's neighbourhood alone, every suppressed cell outside it
    given to the attacker at its true value. That attacker knows more than the real one, so a
    requirement met here is met; a point it finds is a table the real attacker cannot exclude
    either (a witness for every cell it moves). Cells not cleared this way get the exact program
    of their whole block."""
    values = table.values
    seen_low = values.copy()
    seen_high = values.copy()
    relations = table.relations
    rel_csc = relations.tocsc()
    programs = 0

    def cleared(cell: int) -> tuple[bool, bool]:
        x = float(values[cell])
        if is_sensitive(x, threshold):
            lo_need, hi_need = _needs(x, threshold, interval, value_free)
            return seen_low[cell] <= lo_need + EPS, seen_high[cell] >= hi_need - EPS
        spread = seen_high[cell] - seen_low[cell] >= 1 - EPS
        return True, spread

    cubes = hypercubes(table) if cells.size else None
    pending: list[int] = []
    for cell in (int(c) for c in cells):
        ok_low, ok_high = cleared(cell)
        if ok_low and ok_high:
            continue
        if cubes is not None:
            own = float(values[cell])
            if is_sensitive(own, threshold):
                lo_need, hi_need = _needs(own, threshold, interval, value_free)
            else:  # a complementary cell: one more than the lowest value seen will do
                lo_need, hi_need = own, float(seen_low[cell]) + 1.0
            up = 0.0 if ok_high else max(hi_need - own, 0.0)
            down = 0.0 if ok_low else max(own - lo_need, 0.0)
            _hypercube_witness(cell, up, down, cubes, table, mask, rel_csc, seen_low, seen_high)
            ok_low, ok_high = cleared(cell)
            if ok_low and ok_high:
                continue
        near = table.neighbourhood(cell)
        free = near[mask[near]]
        rows = np.unique(rel_csc[:, free].tocoo().row)
        sub = relations[rows]
        fixed = values.copy()
        fixed[free] = 0.0
        rhs = -(sub @ fixed)
        program = Program(sub[:, free], rhs, rhs, np.zeros(free.size), np.full(free.size, np.inf))
        position = int(np.searchsorted(free, cell))
        for sense in (-1.0, 1.0):  # up first: a complementary cell needs either way
            ok_low, ok_high = cleared(cell)
            if (sense < 0 and ok_high) or (sense > 0 and ok_low) or (ok_low and ok_high):
                continue
            program.objective([position], [sense])
            outcome, x = program.solve()
            if outcome is Outcome.unbounded:
                seen_high[cell] = math.inf
            elif outcome is Outcome.optimal and x is not None:
                seen_low[free] = np.minimum(seen_low[free], x)
                seen_high[free] = np.maximum(seen_high[free], x)
        programs += program.runs
        ok_low, ok_high = cleared(cell)
        if not (ok_low and ok_high):
            pending.append(cell)
    failures: list[tuple[int, float, float]] = []
    if pending:
        waiting = set(pending)
        for block_cells in components(relations, mask):
            targets = [p for p, c in enumerate(block_cells) if int(c) in waiting]
            if not targets:
                continue
            block = Block(table, block_cells, mask)
            found, _n = audit_block(
                table,
                block,
                threshold=threshold,
                interval=interval,
                raw=True,
                value_free=value_free,
                targets=targets,
            )
            programs += block.programs
            failures.extend(found)
    return failures, programs


def _hypercube_witness(
    cell: int,
    up: float,
    down: float,
    cubes: Hypercubes,
    table: Table,
    mask: np.ndarray,
    rel_csc: sp.csc_matrix,
    seen_low: np.ndarray,
    seen_high: np.ndarray,
) -> None:
    """Look for a hypercube of hidden cells that moves ``cell`` ``up`` and ``down`` far enough;
    one found gives two tables the attacker cannot exclude (``values + s*y`` at both ends of the
    range where it stays non-negative), checked here against the relations and the hidden cells
    before they count as witnesses."""
    values = table.values
    ones = np.ones(table.size)
    found = cubes.find(cell, up, down, values, ones, allowed=mask)
    if found is None:  # a wider search before the linear programs
        found = cubes.find(cell, up, down, values, ones, allowed=mask, keep=WIDE_SEARCH)
    if found is None:
        return
    support, signs = found
    ys = signs.astype(float)
    residual = relation_residual(rel_csc, support, ys)
    if not mask[support].all() or np.abs(residual).max(initial=0.0) > EPS:
        return  # not a witness (cannot happen, but never trusted)
    vals = values[support]
    neg = ys < 0
    forward = float(np.min(vals[neg])) if neg.any() else math.inf
    back = float(np.min(vals[~neg]))
    with np.errstate(invalid="ignore"):
        top = np.where(ys > 0, vals + forward, vals + back)
        bottom = np.maximum(np.where(ys > 0, vals - back, vals - forward), 0.0)
    seen_high[support] = np.maximum(seen_high[support], top)
    seen_low[support] = np.minimum(seen_low[support], bottom)


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
        wanted = only is None or cell in only
        if statuses[cell] != "rounded" and is_sensitive(x, threshold) and wanted:
            at_risk.append(AtRisk(table.key_dict(int(cell)), x, x, x))
            reasons.append(f"published value {x:g} is below the threshold {threshold}")
    checked = 0
    programs = 0
    failures: list[tuple[int, float, float]] = []
    if raw:
        cells = np.flatnonzero(mask)
        if only is not None:
            cells = np.intersect1d(cells, only)
        failures, programs = _audit_raw(
            table, mask, cells, threshold=threshold, interval=interval, value_free=value_free
        )
        checked = int(cells.size)
    else:
        for block_cells in components(table.relations, mask):
            block = Block(table, block_cells, mask)
            found, n = audit_block(table, block, threshold=threshold, interval=interval, raw=False)
            checked += n
            programs += block.programs
            failures.extend(found)
    for found_cell, lo, hi in failures:
        value = None if np.isnan(table.values[found_cell]) else float(table.values[found_cell])
        at_risk.append(AtRisk(table.key_dict(int(found_cell)), lo, hi, value))
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
