"""Primary and secondary cell suppression.

Primary: every cell with a value from 1 to threshold-1 (zeros are published).

Secondary: every requirement (each primary cell down to 0 and up to the value-free bound, each
complementary cell moved by at least 1) gets a *certificate*, a perturbation y of the table
(relations @ y == 0, checked) whose cells are all suppressed: ``values + s*y`` is a table the
attacker cannot rule out for every s keeping it non-negative, so his bound reaches at least that
far. A certificate also proves the requirements of every other cell it moves (scaled as far as
non-negativity allows); those need nothing of their own.

Large tables (more than LP_CELL_LIMIT cells): hypercubes first (hypercube.py), found by enumeration,
smallest primary cells first; a cell with no feasible hypercube gets a program as below. Small
tables: for each sensitive cell and each direction a linear program finds the cheapest
perturbation that moves the cell by its required amount. Cost per unit moved: 1 + value for a
published cell, almost nothing for a cell already suppressed. The program is first solved on the
cell's neighbourhood (its value, parent, siblings and children along every dimension, all
combinations), then, if that has no solution, on the whole table.

When every requirement holds a certificate the attacker's audit must pass, and is not run here;
otherwise it runs, and any cell still at risk gets a whole-table program, until the audit passes.
Last, when the table is small enough, complementary suppressions that the audit shows to be
unneeded are published again (largest first)."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from opschub.stats.disclosure.attacker import (
    EPS,
    WIDE_SEARCH,
    AuditResult,
    audit,
    components,
    is_sensitive,
    value_free_high,
)
from opschub.stats.disclosure.hypercube import hypercubes
from opschub.stats.disclosure.lp import Outcome, Program
from opschub.stats.disclosure.model import DisclosureError, Table, relation_residual

SUPPRESSED_COST = 1e-4
# Up to this many cells, one linear program per requirement (fewer hidden cells, seconds per
# hundred cells); above it, hypercubes (see hypercube.py; more hidden cells, fast).
LP_CELL_LIMIT = 1500
MAX_FIX_ROUNDS = 20
# The drop pass re-runs the attacker on a block once per candidate: only for blocks this small,
# and it stops after this many programs (a count, not a time, so that the result is reproducible).
DROP_BLOCK_LIMIT = 150
DROP_PROGRAM_BUDGET = 300


class Suppressor:
    """``strategy``: "auto" (linear programs up to LP_CELL_LIMIT cells, hypercubes above), "lp" or
    "hypercube" (hypercubes first, programs where none fits)."""

    def __init__(
        self, table: Table, *, threshold: int, interval: float, strategy: str = "auto"
    ) -> None:
        self.table = table
        self.threshold = threshold
        self.interval = interval
        self.values = table.values
        n = table.size
        self.primary = np.array([is_sensitive(v, threshold) for v in self.values], dtype=bool)
        self.suppressed = self.primary.copy()
        self.need_up = np.zeros(n)
        self.need_down = np.zeros(n)
        for i in np.flatnonzero(self.primary):
            # value-free: the attacker cannot exclude 0 nor ceil((t-1)(1+p)) (see attacker.py)
            v = float(self.values[i])
            self.need_up[i] = max(value_free_high(threshold, interval) - v, 0.0)
            self.need_down[i] = v
        self.done_up = self.need_up <= EPS
        self.done_down = self.need_down <= EPS
        self.rel_csc = table.relations.tocsc()
        self.programs = 0
        # How far each hidden cell is known to move (the widest certificate through it).
        self.spread = np.zeros(n)
        self.cost = np.where(self.suppressed, SUPPRESSED_COST, 1.0 + self.values)
        if strategy not in ("auto", "lp", "hypercube"):
            raise ValueError(f"strategy {strategy!r}")
        use_cubes = strategy == "hypercube" or (strategy == "auto" and n > LP_CELL_LIMIT)
        self.cubes = hypercubes(table) if use_cubes else None
        self.hypercubes = 0

    def neighbourhood(self, cell: int) -> np.ndarray:
        return self.table.neighbourhood(cell)

    # --- one perturbation ------------------------------------------------------------------

    def perturbation(self, cell: int, amount: float, cells: np.ndarray) -> np.ndarray | None:
        """y over ``cells`` (None if no y exists there) moving ``cell`` by ``amount``."""
        m = cells.size
        position = int(np.searchsorted(cells, cell))
        sub = self.rel_csc[:, cells]
        rows = np.unique(sub.tocoo().row)
        a = sub[rows].tocsr()
        values = self.values[cells]
        cost = np.where(self.suppressed[cells], SUPPRESSED_COST, 1.0 + values)
        c = np.concatenate([cost, cost])
        a_eq = sp.hstack([a, -a]).tocsc()
        lower = np.zeros(2 * m)
        upper = np.concatenate([np.full(m, np.inf), values])
        if amount > 0:
            lower[position] = upper[position] = amount
            upper[m + position] = 0.0
        else:
            upper[position] = 0.0
            lower[m + position] = upper[m + position] = -amount
        zeros = np.zeros(rows.size)
        program = Program(a_eq, zeros, zeros, lower, upper, cost=c)
        self.programs += 1
        outcome, x = program.solve()
        if outcome is not Outcome.optimal or x is None:
            return None
        result_x = x
        y = np.zeros(self.table.size)
        y[cells] = result_x[:m] - result_x[m:]
        y[np.abs(y) < 1e-9] = 0.0
        return y

    def apply(self, y: np.ndarray) -> None:
        support = np.flatnonzero(y)
        self.apply_sparse(support, y[support])

    def apply_sparse(self, support: np.ndarray, ys: np.ndarray) -> None:
        """Hide the cells of a perturbation and record what it proves. The perturbation is checked
        against the table's relations first: a certificate that breaks one is a bug, not a
        protection."""
        residual = relation_residual(self.rel_csc, support, ys)
        if residual.size and np.abs(residual).max() > 1e-6 * (1 + np.abs(ys).max()):
            raise DisclosureError("internal error: a perturbation breaks the additive relations")
        self.suppressed[support] = True
        self.cost[support] = SUPPRESSED_COST
        # The certificate scaled: values + s*y >= 0 for s in [-back, forward].
        neg = ys < 0
        pos = ~neg
        vals = self.values[support]
        forward = np.min(vals[neg] / -ys[neg]) if neg.any() else math.inf
        back = np.min(vals[pos] / ys[pos]) if pos.any() else math.inf
        with np.errstate(invalid="ignore"):
            up = np.maximum(np.where(ys > 0, forward * ys, 0), np.where(ys < 0, back * -ys, 0))
            down = np.maximum(np.where(ys < 0, forward * -ys, 0), np.where(ys > 0, back * ys, 0))
        self.done_up[support] |= up >= self.need_up[support] - EPS
        self.done_down[support] |= down >= self.need_down[support] - EPS
        self.spread[support] = np.maximum(self.spread[support], up + down)

    def move(self, cell: int, amount: float) -> None:
        y = self.perturbation(cell, amount, self.neighbourhood(cell))
        if y is None:
            y = self.perturbation(cell, amount, np.arange(self.table.size))
        if y is None:
            raise DisclosureError(
                f"no suppression pattern protects cell ({self.table.describe(cell)})"
            )
        self.apply(y)

    # --- the whole procedure ---------------------------------------------------------------

    def run(self) -> AuditResult:
        # smallest first: they need the widest move, and their hypercubes are shared by the rest
        order = sorted(np.flatnonzero(self.primary), key=lambda i: (self.values[i], i))
        for cell in order:
            if self.done_up[cell] and self.done_down[cell]:
                continue
            if self.cube(int(cell)):
                continue
            if not self.done_up[cell]:
                self.move(int(cell), float(self.need_up[cell]))
            if not self.done_down[cell]:
                self.move(int(cell), -float(self.need_down[cell]))
        if self.certify():
            result = AuditResult(ok=True, at_risk=[], programs=self.programs, mode="certified")
        else:
            result = self.fix()
        self.drop()
        return result

    def cube(self, cell: int) -> bool:
        """Protect ``cell`` with the cheapest hypercube around it, if one is feasible."""
        if self.cubes is None:
            return False
        up = 0.0 if self.done_up[cell] else float(self.need_up[cell])
        down = 0.0 if self.done_down[cell] else float(self.need_down[cell])
        found = self.cubes.find(cell, up, down, self.values, self.cost)
        if found is None:  # a wider search, then one hypercube per direction
            found = self.cubes.find(cell, up, down, self.values, self.cost, keep=WIDE_SEARCH)
        if found is None and up > 0 and down > 0:
            for one_up, one_down in ((up, 0.0), (0.0, down)):
                single = self.cubes.find(
                    cell, one_up, one_down, self.values, self.cost, keep=WIDE_SEARCH
                )
                if single is not None:
                    self.hypercubes += 1
                    self.apply_sparse(single[0], single[1].astype(float))
            return bool(self.done_up[cell] and self.done_down[cell])
        if found is None:
            return False
        cells, signs = found
        self.hypercubes += 1
        self.apply_sparse(cells, signs.astype(float))
        return bool(self.done_up[cell] and self.done_down[cell])

    def certify(self, rounds: int = MAX_FIX_ROUNDS) -> bool:
        """Every requirement proved by a certificate already applied: each primary cell moves
        down to 0 and up to the value-free bound, each complementary cell by at least 1. Cells a
        certificate moved by less get one of their own; True when nothing is left unproved."""
        for _round in range(rounds):
            if not (self.done_up[self.primary].all() and self.done_down[self.primary].all()):
                return False
            weak = np.flatnonzero(self.suppressed & ~self.primary & (self.spread < 1 - EPS))
            if weak.size == 0:
                return True
            for cell in weak:
                if self.spread[cell] < 1 - EPS:
                    self.move(int(cell), 1.0)
        return False

    def audit(self, only: np.ndarray | None = None) -> AuditResult:
        return audit(
            self.table,
            threshold=self.threshold,
            interval=self.interval,
            suppressed=self.suppressed,
            only=only,
            value_free=True,
        )

    def fix(self) -> AuditResult:
        for _round in range(MAX_FIX_ROUNDS):
            result = self.audit()
            if result.ok:
                return result
            everything = np.arange(self.table.size)
            for risk in result.at_risk:
                found = self.table.index_of(tuple(risk.key[d.name] for d in self.table.dims))
                assert found is not None
                cell = found
                v = float(self.values[cell])
                if self.primary[cell]:
                    if risk.high < v + self.need_up[cell] - EPS:
                        self._force(cell, float(self.need_up[cell]), everything)
                    if risk.low > v - self.need_down[cell] + EPS:
                        self._force(cell, -float(self.need_down[cell]), everything)
                else:
                    self._force(cell, 1.0, everything)
        raise DisclosureError(
            "secondary suppression did not converge; the table cannot be protected"
        )

    def _force(self, cell: int, amount: float, cells: np.ndarray) -> None:
        y = self.perturbation(cell, amount, cells)
        if y is None:
            raise DisclosureError(
                f"no suppression pattern protects cell ({self.table.describe(cell)})"
            )
        self.apply(y)

    def drop(self) -> None:
        """Publish again complementary cells that no requirement needs (largest first)."""
        spent = 0
        for cells in components(self.table.relations, self.suppressed):
            if cells.size > DROP_BLOCK_LIMIT:
                continue
            secondary = [int(c) for c in cells if not self.primary[c]]
            for cell in sorted(secondary, key=lambda i: -self.values[i]):
                if spent >= DROP_PROGRAM_BUDGET:
                    return
                self.suppressed[cell] = False
                rest = cells[self.suppressed[cells]]
                result = self.audit(only=rest)
                spent += result.programs
                if rest.size and not result.ok:
                    self.suppressed[cell] = True


def suppress(
    table: Table, *, threshold: int, interval: float, strategy: str = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    """(suppressed, primary) masks for a table whose every value is known."""
    worker = Suppressor(table, threshold=threshold, interval=interval, strategy=strategy)
    worker.run()
    return worker.suppressed, worker.primary
