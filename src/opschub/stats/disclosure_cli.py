"""Command: ``opschub stats audit FILE.json`` re-runs the attacker's linear programs on a table.

Exit codes: 0 safe, 1 cells at risk (each named with the attacker's interval), 2 a bad file or bad
options (naming what is wrong). The ``stats`` group belongs to ``opschub.stats.cli``, which calls
``register(stats_app)``. numpy, scipy and HiGHS load inside the command.
"""

from __future__ import annotations

import json
import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer


class AuditFormat(StrEnum):
    text = "text"
    json = "json"


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"opschub: {message}", err=True)
    raise typer.Exit(code)


def _bound(value: float) -> float | None:
    return None if math.isinf(value) else round(value, 6)


def audit_command(
    file: Annotated[Path, typer.Argument(help="A table in the JSON shape of `stats table`.")],
    threshold: Annotated[
        int | None,
        typer.Option(help="Smallest count published (default: the file's, else 10).", min=1),
    ] = None,
    interval: Annotated[
        float | None,
        typer.Option(help="Protection interval, a fraction (default: the file's, else 0.30)."),
    ] = None,
    output: Annotated[AuditFormat, typer.Option("--format", help="text or json.")] = (
        AuditFormat.text
    ),
) -> None:
    """Re-run the attacker's programs on a protected table: exit 0 safe, 1 cells at risk."""
    from opschub.stats.disclosure import DisclosureError, audit_table

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"{file}: cannot read: {exc}")
    try:
        table: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(f"{file}: line {exc.lineno}, column {exc.colno}: not JSON ({exc.msg})")
    declared = table.get("disclosure", {}) if isinstance(table, dict) else {}
    if not isinstance(declared, dict):
        declared = {}
    if declared.get("method") == "round":
        typer.echo(f"{file}: rounded to base {declared.get('base')}; nothing is suppressed")
    chosen_threshold = threshold if threshold is not None else declared.get("threshold", 10)
    chosen_interval = interval if interval is not None else declared.get("interval", 0.30)
    try:
        result = audit_table(table, threshold=chosen_threshold, interval=chosen_interval)
    except DisclosureError as exc:
        _fail(f"{file}: {exc}")
    if output is AuditFormat.json:
        typer.echo(
            json.dumps(
                {
                    "ok": result.ok,
                    "mode": result.mode,
                    "threshold": chosen_threshold,
                    "interval": chosen_interval,
                    "checked": result.checked,
                    "at_risk": [
                        {
                            "key": risk.key,
                            "low": _bound(risk.low),
                            "high": _bound(risk.high),
                            "value": risk.value,
                            "reason": reason,
                        }
                        for risk, reason in zip(result.at_risk, result.reasons, strict=True)
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    elif result.ok:
        typer.echo(
            f"{file}: safe: {result.checked} suppressed cell(s) checked "
            f"(threshold {chosen_threshold}, interval {chosen_interval:.0%}, "
            f"{'raw values' if result.mode == 'raw' else 'published values only'})"
        )
    else:
        typer.echo(f"{file}: {len(result.at_risk)} cell(s) at risk:", err=True)
        for risk, reason in zip(result.at_risk, result.reasons, strict=True):
            key = ", ".join(f"{k}={v}" for k, v in risk.key.items())
            typer.echo(f"  {key}: {reason}", err=True)
    raise typer.Exit(0 if result.ok else 1)


def register(stats_app: typer.Typer) -> None:
    stats_app.command("audit")(audit_command)
