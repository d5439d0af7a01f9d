"""Disclosure control: protection and audit time, tables of about 1,000, 10,000 and 100,000 cells.

Peer: tau-ARGUS through pytauargus does not run here (the package installs, but it drives the
tau-ARGUS executable, a Windows program that is not on this machine), so the stated peer is the
plain LP audit: scipy's ``linprog`` (HiGHS), two programs per suppressed cell over the cell's whole
block, no witnesses, no local programs. It is timed on a sample of suppressed cells and scaled to
all of them (said in the output). Ground truth: both audits must pass on what protection produced.

    .venv/bin/python benchmarks/bench_stats_protect.py [--sizes 1000,10000,100000] [--sample 60]
        [--lp-limit CELLS]

``--sample 0`` skips the plain LP audit (at 100,000 cells one hidden cell's two programs over its
block take minutes).

Protection uses linear programs up to ``suppression.LP_CELL_LIMIT`` cells and hypercubes above;
``--lp-limit 0`` runs hypercubes at every size (to compare the two methods on the same table).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from typing import Any

import numpy as np
from scipy.optimize import linprog

from opschub.stats.disclosure import audit_table, protect_table, suppression
from opschub.stats.disclosure.attacker import Block, components
from opschub.stats.disclosure.model import parse_table
from opschub.stats.disclosure.synthetic import random_table

SHAPES = {  # cells ~ size: region levels x flat dimensions (each with its total)
    1000: {"provinces": 3, "districts": 3, "flat": (5, 11)},
    10000: {"provinces": 5, "districts": 6, "flat": (5, 5, 7)},
    100000: {"provinces": 10, "districts": 10, "flat": (5, 5, 24)},
}


def internal(protected: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    return {
        **protected,
        "cells": [
            {**p, "raw_value": r["value"]} if p["value"] is None else p
            for p, r in zip(protected["cells"], raw["cells"], strict=True)
        ],
    }


def plain_audit_seconds_per_cell(table: dict[str, Any], sample: int) -> tuple[float, int]:
    parsed = parse_table(table, need_values=False)
    blocks = components(parsed.relations, parsed.suppressed)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(blocks))
    timed = 0
    spent = 0.0
    for b in order:
        block = Block(parsed, blocks[b], parsed.suppressed)
        for pos in range(block.cells.size):
            start = time.perf_counter()
            for sense in (1.0, -1.0):
                c = np.zeros(block.cells.size)
                c[pos] = sense
                linprog(c, A_eq=block.a, b_eq=block.b, bounds=(0, None), method="highs")
            spent += time.perf_counter() - start
            timed += 1
            if timed >= sample:
                return spent / timed, int(parsed.suppressed.sum())
    return spent / max(timed, 1), int(parsed.suppressed.sum())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--sample", type=int, default=60)
    parser.add_argument("--lp-limit", type=int, default=suppression.LP_CELL_LIMIT)
    args = parser.parse_args()
    suppression.LP_CELL_LIMIT = args.lp_limit
    print(f"machine: {platform.machine()} {os.cpu_count()} cpu, load {os.getloadavg()}")
    print(
        "command: .venv/bin/python benchmarks/bench_stats_protect.py --sizes",
        args.sizes,
        "--lp-limit",
        args.lp_limit,
    )
    for size in (int(s) for s in args.sizes.split(",")):
        raw = random_table(np.random.default_rng(size), **SHAPES[size])  # type: ignore[arg-type]
        cells = len(raw["cells"])
        start = time.perf_counter()
        protected = protect_table(raw)
        protect_s = time.perf_counter() - start
        method = "programs" if cells <= args.lp_limit else "hypercubes"
        statuses = [c["status"] for c in protected["cells"]]
        start = time.perf_counter()
        ours = audit_table(internal(protected, raw))
        audit_s = time.perf_counter() - start
        assert ours.ok, ours.reasons[:5]
        print(
            f"{cells:>7} cells ({method}): primary {statuses.count('primary')}, secondary "
            f"{statuses.count('secondary')}; protect {protect_s:.1f} s; audit {audit_s:.1f} s "
            f"({ours.programs} programs), passed; load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        if not args.sample:
            continue
        per_cell, hidden = plain_audit_seconds_per_cell(protected, args.sample)
        plain_s = per_cell * hidden
        print(
            f"{cells:>7} cells: plain LP audit ~{plain_s:.1f} s (2 linprog per hidden cell, "
            f"timed on {min(args.sample, hidden)} of {hidden}); audit speed-up "
            f"x{plain_s / audit_s:.1f}; load {os.getloadavg()[0]:.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
