"""Statistical disclosure control for opschub's tables: primary and secondary cell suppression,
controlled rounding, and the attacker's audit that blocks a publication when any suppressed cell can
be narrowed. Pure: numpy and scipy, no database and no web. See docs/statistics-disclosure.md.

    protect_table(table, method="suppress", threshold=10, interval=0.30)  -> published table
    protect_table(table, method="round", base=5)                          -> rounded table
    audit_table(table, threshold=10, interval=0.30)                       -> AuditResult
    rate_table(numerator, denominator)                                    -> rates, suppressed where
                                                                             either count is
    public_table(table)                                                   -> what may leave the
                                                                             building
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Literal

from opschub.stats.disclosure.attacker import AtRisk, AuditResult, audit
from opschub.stats.disclosure.model import (
    SUPPRESSED_STATUSES,
    TOTAL,
    DisclosureError,
    check_additive,
    parse_table,
)

__all__ = [
    "TOTAL",
    "AtRisk",
    "AuditResult",
    "DisclosureError",
    "audit_table",
    "protect_table",
    "public_table",
    "rate_table",
]


def _check_parameters(threshold: int, interval: float) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
        raise DisclosureError(f"threshold {threshold!r}: a whole number >= 1")
    if not 0 <= interval < 1:
        raise DisclosureError(f"interval {interval!r}: a fraction from 0 to 1 (0.30 is 30%)")


def protect_table(
    table: Mapping[str, Any],
    *,
    method: Literal["suppress", "round"] | str = "suppress",
    threshold: int = 10,
    interval: float = 0.30,
    base: int = 5,
) -> dict[str, Any]:
    """The published table for a raw one (every value present and additive).

    ``suppress``: cells 1..threshold-1 become null with status "primary", complementary cells null
    with status "secondary"; the attacker's audit has passed on the result. ``round``: every value
    rounded to a multiple of ``base`` (3 or 5) with totals still additive, status "rounded". The
    input is not changed; a ``disclosure`` entry records the method and its parameters."""
    _check_parameters(threshold, interval)
    parsed = parse_table(table, need_values=True)
    check_additive(parsed)
    out = copy.deepcopy(dict(table))
    cells = out["cells"]
    if method == "suppress":
        from opschub.stats.disclosure.suppression import suppress

        suppressed, primary = suppress(parsed, threshold=threshold, interval=interval)
        for i, cell in enumerate(cells):
            cell.pop("raw_value", None)
            if suppressed[i]:
                cell["value"] = None
                cell["status"] = "primary" if primary[i] else "secondary"
            else:
                cell["status"] = "published"
        out["disclosure"] = {"method": "suppress", "threshold": threshold, "interval": interval}
    elif method == "round":
        from opschub.stats.disclosure.rounding import controlled_round

        rounded = controlled_round(parsed, base=base)
        for i, cell in enumerate(cells):
            cell.pop("raw_value", None)
            cell["value"] = int(rounded[i])
            cell["status"] = "rounded"
        out["disclosure"] = {"method": "round", "base": base}
    else:
        raise DisclosureError(f"method {method!r}: suppress or round")
    return out


def audit_table(
    table: Mapping[str, Any], *, threshold: int = 10, interval: float = 0.30
) -> AuditResult:
    """Run the attacker's linear programs on a protected table.

    With ``raw_value`` on every suppressed cell (the internal file), each sensitive cell's interval
    is checked against its own value; without raw values (a published file), against every small
    value the cell could have. Published cells with a value 1..threshold-1 are at risk too."""
    _check_parameters(threshold, interval)
    parsed = parse_table(table, need_values=False)
    import numpy as np

    missing = np.isnan(parsed.values[parsed.suppressed])
    if missing.any() and not missing.all():
        first = int(np.flatnonzero(parsed.suppressed)[int(np.flatnonzero(missing)[0])])
        raise DisclosureError(
            f"cell ({parsed.describe(first)}) has no raw_value while other suppressed cells do: "
            "give raw values for all suppressed cells or for none"
        )
    if not missing.any():
        check_additive(parsed)
    return audit(parsed, threshold=threshold, interval=interval)


def public_table(table: Mapping[str, Any]) -> dict[str, Any]:
    """What may be published: no raw values, and one status "suppressed" for every hidden cell, so
    that a reader cannot tell a small count (primary) from a complementary cell (secondary)."""
    out = copy.deepcopy(dict(table))
    for cell in out["cells"]:
        cell.pop("raw_value", None)
        if cell.get("status") in SUPPRESSED_STATUSES:
            cell["status"] = "suppressed"
            cell["value"] = None
    return out


def rate_table(
    numerator: Mapping[str, Any],
    denominator: Mapping[str, Any],
    *,
    scale: float = 1.0,
    digits: int = 2,
) -> dict[str, Any]:
    """Rates numerator/denominator*scale, cell by cell (same keys). A rate is suppressed when its
    numerator or its denominator is (either count could be recovered from the other and the
    rate); a zero denominator gives status "not_applicable"."""
    by_key = {_key(c, denominator.get("dimensions", [])): c for c in denominator.get("cells", [])}
    out = copy.deepcopy(dict(numerator))
    for i, cell in enumerate(out["cells"]):
        key = _key(cell, numerator["dimensions"])
        den = by_key.get(key)
        if den is None:
            raise DisclosureError(f"cells[{i}]: the denominator has no cell with this key")
        cell.pop("raw_value", None)
        if cell.get("value") is None or cell.get("status") in SUPPRESSED_STATUSES:
            cell["value"] = None
            cell["status"] = cell.get("status") or "secondary"
        elif den.get("value") is None or den.get("status") in SUPPRESSED_STATUSES:
            cell["value"] = None
            cell["status"] = "secondary"
        elif not den["value"]:
            cell["value"] = None
            cell["status"] = "not_applicable"
        else:
            cell["value"] = round(cell["value"] / den["value"] * scale, digits)
    return out


def _key(cell: Mapping[str, Any], dims: Any) -> tuple[str, ...]:
    key = cell.get("key") or {}
    return tuple(str(key.get(d)) for d in dims)
