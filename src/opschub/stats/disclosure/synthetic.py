"""Synthetic tables for tests, benchmarks and the guide's quick start: a region hierarchy
(country > provinces > districts) crossed with flat dimensions, every total and sub-total filled in,
in the JSON shape of ``opschub stats table --format json``. Benign invented codes only."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from opschub.stats.disclosure.model import TOTAL


def region_hierarchy(provinces: int, districts: int, towns: int = 0) -> dict[str, str]:
    """{child: parent} for one country XA with ``provinces`` provinces of ``districts`` each (and,
    with ``towns``, that many towns in every district: a four-level hierarchy)."""
    tree = {"XA": TOTAL}
    for p in range(1, provinces + 1):
        province = f"XA-{p:02d}"
        tree[province] = "XA"
        for d in range(1, districts + 1):
            district = f"{province}-{d:02d}"
            tree[district] = province
            for t in range(1, towns + 1):
                tree[f"{district}-{t:02d}"] = district
    return tree


def random_table(
    rng: np.random.Generator,
    *,
    provinces: int = 3,
    districts: int = 3,
    flat: Sequence[int] = (3,),
    small_share: float = 0.4,
    large: int = 60,
    towns: int = 0,
) -> dict[str, Any]:
    """Leaf counts: ``small_share`` of them 1..9, some zeros, the rest up to ``large``. The
    region leaves are the lowest level (towns, else districts, else provinces)."""
    tree = region_hierarchy(provinces, districts, towns if districts else 0)
    inner = set(tree.values())
    leaves = [code for code in tree if code not in inner] or ["XA"]
    names = ["region"] + [f"d{i + 1}" for i in range(len(flat))]
    categories = [leaves] + [[f"c{j + 1}" for j in range(size)] for size in flat]
    leaf_values: dict[tuple[str, ...], int] = {}
    for key in itertools.product(*categories):
        draw = rng.random()
        if draw < small_share:
            leaf_values[key] = int(rng.integers(1, 10))
        elif draw < small_share + 0.15:
            leaf_values[key] = 0
        else:
            leaf_values[key] = int(rng.integers(10, large + 1))
    parents = dict(tree)

    def ups(dim: int, value: str) -> list[str]:
        chain = [value]
        if dim == 0:
            while chain[-1] in parents:
                chain.append(parents[chain[-1]])
        else:
            chain.append(TOTAL)
        return chain

    totals: dict[tuple[str, ...], int] = {}
    for key, value in leaf_values.items():
        for combo in itertools.product(*(ups(d, v) for d, v in enumerate(key))):
            totals[combo] = totals.get(combo, 0) + value
    cells = [
        {"key": dict(zip(names, key, strict=True)), "value": value, "status": "published"}
        for key, value in sorted(totals.items())
    ]
    used = {k: v for k, v in tree.items() if k in {key[0] for key in totals}}
    return {
        "indicator": "synthetic",
        "period": "2026",
        "dimensions": names,
        "hierarchy": used,
        "cells": cells,
    }
