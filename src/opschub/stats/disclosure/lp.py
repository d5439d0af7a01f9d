"""A thin layer over HiGHS (``highspy``): one model built once from a sparse matrix, then solved for
many objectives in a row, each run starting from the previous basis. scipy's ``linprog`` calls the
same solver but rebuilds and checks the whole model on every call, which costs more than solving
the small programs of an audit."""

from __future__ import annotations

import enum
import os
import sys
from collections.abc import Sequence

import highspy
import numpy as np
import scipy.sparse as sp

INF = highspy.kHighsInf
_quiet = False


def _solver() -> highspy.Highs:
    """A silent solver (HiGHS prints a banner on the process's standard output the first time,
    which would spoil a command's JSON output)."""
    global _quiet
    if _quiet:
        highs = highspy._Highs()  # type: ignore[attr-defined]
    else:
        sys.stdout.flush()
        saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            highs = highspy._Highs()  # type: ignore[attr-defined]
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
        _quiet = True
    highs.setOptionValue("output_flag", False)
    return highs


class Outcome(enum.Enum):
    optimal = "optimal"
    unbounded = "unbounded"
    infeasible = "infeasible"


class Program:
    """min cost @ x subject to row_lower <= A x <= row_upper, col_lower <= x <= col_upper."""

    def __init__(
        self,
        a: sp.spmatrix,
        row_lower: np.ndarray,
        row_upper: np.ndarray,
        col_lower: np.ndarray,
        col_upper: np.ndarray,
        cost: np.ndarray | None = None,
    ) -> None:
        csc = sp.csc_matrix(a)
        csc.sort_indices()
        n = csc.shape[1]
        lp = highspy.HighsLp()
        lp.num_col_ = n
        lp.num_row_ = csc.shape[0]
        lp.col_cost_ = np.zeros(n) if cost is None else np.asarray(cost, dtype=float)
        lp.col_lower_ = np.asarray(col_lower, dtype=float)
        lp.col_upper_ = np.asarray(np.where(np.isinf(col_upper), INF, col_upper), dtype=float)
        lp.row_lower_ = np.asarray(row_lower, dtype=float)
        lp.row_upper_ = np.asarray(row_upper, dtype=float)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
        lp.a_matrix_.index_ = csc.indices.astype(np.int32)
        lp.a_matrix_.value_ = csc.data.astype(float)
        self.highs = _solver()
        self.highs.setOptionValue("presolve", "off")
        self.highs.passModel(lp)
        self.n = n
        self.runs = 0
        self._objective: list[int] = []

    def objective(self, columns: Sequence[int], costs: Sequence[float]) -> None:
        """Set these columns' costs; every column set by the previous call goes back to 0."""
        if self._objective:
            old = np.array(self._objective, dtype=np.int32)
            self.highs.changeColsCost(old.size, old, np.zeros(old.size))
        cols = np.asarray(columns, dtype=np.int32)
        self.highs.changeColsCost(cols.size, cols, np.asarray(costs, dtype=float))
        self._objective = [int(c) for c in cols]

    def bounds(self, column: int, lower: float, upper: float) -> None:
        self.highs.changeColBounds(int(column), float(lower), float(upper))

    def solve(self) -> tuple[Outcome, np.ndarray | None]:
        self.runs += 1
        self.highs.run()
        status = self.highs.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            return Outcome.optimal, np.asarray(self.highs.getSolution().col_value)
        if status == highspy.HighsModelStatus.kUnbounded:
            return Outcome.unbounded, None
        if status in (
            highspy.HighsModelStatus.kInfeasible,
            highspy.HighsModelStatus.kUnboundedOrInfeasible,
        ):
            return Outcome.infeasible, None
        raise RuntimeError(f"HiGHS stopped with {self.highs.modelStatusToString(status)}")
