"""Hypercube certificates: perturbations of a table found by enumeration, without a linear program.

Along one dimension, a vector u over its values keeps every relation of that dimension (each node
equal to the sum of its children) when it is built from leaf paths: ``+1`` on a chain from a leaf
up to the cell's value and on, either to a sibling's chain taken with ``-1`` (the two cancel at
the common parent) or up to the root (every ancestor ``+1``). The outer product y = u_1 x u_2 x
... x u_k of one such vector per dimension then keeps *every* additive relation of the table: a
relation along dimension d is u_d's relation times a constant. y is +1 or -1 on the corners of a
(generalised) hypercube and 0 elsewhere; the cell itself is a +1 corner.

If every corner is hidden, ``values + s*y`` is a table the attacker cannot exclude for every s
with ``values + s*y >= 0``: s may go up to the smallest value on a -1 corner and down to minus the
smallest value on a +1 corner. So a corner set whose -1 corners hold at least ``up`` and whose +1
corners hold at least ``down`` certifies that the cell's range reaches ``value + up`` and
``value - down``. This is the idea of Repsilber's hypercube method (GHMITER in tau-ARGUS), written
here from its description: we enumerate, per dimension, a few partner vectors (ranked by the
one-dimensional corners they add) and take the cheapest feasible product, the cost being 1 +
value for a corner still published and almost nothing for one already hidden.

Every certificate is checked against the table's relation matrix before it is used; a cell for
which no hypercube is feasible (structural zeros, values too small) falls back to a linear
program (suppression.py). Pure numpy."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from opschub.stats.disclosure.model import Table

# Partner vectors kept per dimension (after ranking), leaves tried below a sibling and below the
# cell's own value, and the largest corner array evaluated at once for one cell.
OPTIONS_PER_DIMENSION = 4
LEAVES_PER_NODE = 4
OWN_LEAVES = 32
CORNER_BUDGET = 200_000
# A dense index over all key combinations is built only up to this size.
DENSE_LIMIT = 20_000_000
EPS = 1e-6


@dataclass
class _Axis:
    """One dimension: positions of its values, the tree, and per value the partner vectors."""

    values: list[str]
    position: dict[str, int]
    parent: list[int]  # -1 for a root
    children: list[list[int]]
    leaves: list[list[int]]  # leaves below each node (itself if a leaf), in order
    cache: dict[int, list[tuple[np.ndarray, np.ndarray]]]
    padded_cache: dict[int, tuple[np.ndarray, np.ndarray]]

    def chain_down(self, node: int, leaf: int) -> list[int]:
        """Nodes strictly below ``node`` down to ``leaf`` (bottom first)."""
        out = []
        while leaf != node:
            out.append(leaf)
            leaf = self.parent[leaf]
        return out

    def options(self, v: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Every partner vector for value ``v``: (positions, signs), ``v`` first with +1."""
        found = self.cache.get(v)
        if found is not None:
            return found
        downs = [self.chain_down(v, leaf) for leaf in self.leaves[v][:OWN_LEAVES]]
        ups: list[list[tuple[int, int]]] = []
        up = self.parent[v]
        if up >= 0:
            for s in self.children[up]:
                if s == v:
                    continue
                for leaf in self.leaves[s][:LEAVES_PER_NODE]:
                    ups.append([(s, -1)] + [(x, -1) for x in self.chain_down(s, leaf)])
            root = []
            while up >= 0:
                root.append((up, 1))
                up = self.parent[up]
            ups.append(root)
        else:
            ups.append([])
        out = []
        for down in downs:
            for partner in ups:
                entries = [(v, 1)] + [(x, 1) for x in down] + partner
                out.append(
                    (
                        np.array([e[0] for e in entries], dtype=np.int64),
                        np.array([e[1] for e in entries], dtype=np.int64),
                    )
                )
        self.cache[v] = out
        return out

    def padded(self, v: int) -> tuple[np.ndarray, np.ndarray]:
        """``options(v)`` as two (options, longest) arrays; sign 0 marks padding."""
        found = self.padded_cache.get(v)
        if found is None:
            found = _pad(self.options(v))
            self.padded_cache[v] = found
        return found


class Hypercubes:
    """Finds certificates for one table; ``None`` when the table is too sparse to index densely."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.axes: list[_Axis] = []
        for dim in table.dims:
            position = {v: i for i, v in enumerate(dim.values)}
            parent = [position[dim.parent[v]] if v in dim.parent else -1 for v in dim.values]
            children: list[list[int]] = [[] for _ in dim.values]
            for i, p in enumerate(parent):
                if p >= 0:
                    children[p].append(i)
            leaves: list[list[int]] = [[] for _ in dim.values]
            for i in range(len(dim.values)):
                if not children[i]:
                    node = i
                    while node >= 0:
                        leaves[node].append(i)
                        node = parent[node]
            self.axes.append(_Axis(dim.values, position, parent, children, leaves, {}, {}))
        shape = tuple(len(a.values) for a in self.axes)
        self.shape = shape
        self.strides = np.array(
            [int(np.prod(shape[d + 1 :])) for d in range(len(shape))], dtype=np.int64
        )
        self.coords = np.array(
            [[a.position[v] for a, v in zip(self.axes, key, strict=True)] for key in table.keys],
            dtype=np.int64,
        ).reshape(len(table.keys), len(shape))
        self.dense = np.full(int(np.prod(shape)), -1, dtype=np.int64)
        self.dense[self.coords @ self.strides] = np.arange(len(table.keys))

    @staticmethod
    def possible(table: Table) -> bool:
        return math.prod(len(d.values) for d in table.dims) <= DENSE_LIMIT

    def find(
        self,
        cell: int,
        up: float,
        down: float,
        values: np.ndarray,
        cost: np.ndarray,
        allowed: np.ndarray | None = None,
        keep: int = OPTIONS_PER_DIMENSION,
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """(cells, signs) of the cheapest hypercube around ``cell`` whose -1 corners hold at least
        ``up`` and +1 corners at least ``down``; ``cost`` per cell; with ``allowed``, only cells
        it marks may be corners; ``keep`` partner vectors per dimension. None if none is found."""
        base = self.coords[cell]
        chosen: list[tuple[np.ndarray, np.ndarray]] = []
        here = int(base @ self.strides)
        for d, axis in enumerate(self.axes):
            positions, signs = axis.padded(int(base[d]))
            cells = self.dense[here + (positions - base[d]) * self.strides[d]]
            used = signs != 0
            used[:, 0] = False  # the cell itself
            safe = np.where(cells < 0, 0, cells)
            bad = used & ((cells < 0) | (values[safe] < np.where(signs > 0, down, up) - EPS))
            if allowed is not None:
                bad |= used & ~allowed[safe]
            fine = np.flatnonzero(~bad.any(axis=1))
            if fine.size == 0:
                return None
            price = np.where(used[fine], cost[safe[fine]], 0.0).sum(axis=1)
            best = fine[np.lexsort((fine, price))][:keep]  # cheapest first, ties by position
            width = int((signs[best] != 0).sum(axis=1).max())
            chosen.append((positions[best, :width], signs[best, :width]))
        # Trim the options until the corner array fits the budget (the best ones stay).
        while True:
            size = math.prod(p.shape[0] * p.shape[1] for p, _s in chosen)
            if size <= CORNER_BUDGET:
                break
            widest = max(range(len(chosen)), key=lambda d: chosen[d][0].shape[0])
            if chosen[widest][0].shape[0] == 1:
                return None
            p, s = chosen[widest]
            chosen[widest] = (p[:-1], s[:-1])
        k = len(chosen)
        flat = np.zeros((1,) * (2 * k), dtype=np.int64)
        sign = np.ones((1,) * (2 * k), dtype=np.int64)
        for d, (p, s) in enumerate(chosen):
            shape = [1] * (2 * k)
            shape[d] = p.shape[0]
            shape[k + d] = p.shape[1]
            flat = flat + (p * self.strides[d]).reshape(shape)
            sign = sign * s.reshape(shape)
        options = math.prod(p.shape[0] for p, _s in chosen)
        flat = flat.reshape(options, -1)
        sign = sign.reshape(options, -1)
        cells = self.dense[flat]
        used = sign != 0
        missing = (used & (cells < 0)).any(axis=1)
        safe = np.where(cells < 0, 0, cells)
        vals = values[safe]
        need = np.where(sign > 0, down, up)
        feasible = ~missing & ~(used & (vals < need - EPS)).any(axis=1)
        if allowed is not None:
            feasible &= ~(used & ~allowed[safe]).any(axis=1)
        if not feasible.any():
            return None
        total = np.where(used, cost[safe], 0.0).sum(axis=1)
        total[~feasible] = np.inf
        pick = int(np.argmin(total))
        corners = used[pick]
        return cells[pick][corners], sign[pick][corners]


def _pad(options: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Options of different lengths as two (options, longest) arrays; sign 0 marks padding."""
    width = max(p.size for p, _s in options)
    positions = np.zeros((len(options), width), dtype=np.int64)
    signs = np.zeros((len(options), width), dtype=np.int64)
    for i, (p, s) in enumerate(options):
        positions[i, : p.size] = p
        signs[i, : s.size] = s
    return positions, signs


def hypercubes(table: Table) -> Hypercubes | None:
    """The table's hypercube finder (built once per parsed table), None when the table's key
    space is too large to index densely."""
    if table._cubes is None:
        table._cubes = Hypercubes(table) if Hypercubes.possible(table) else False
    return table._cubes or None
