"""``opschub stats``: the indicator catalogue, tables, regional figures and publications.

Exit codes: 0 done, 1 the input was refused (each error named: file, sheet, row, cell) or a
publication was blocked by the disclosure audit, 2 a bad option or a source not available.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

stats_app = typer.Typer(
    help="Statistics: indicators, tables, regional figures, publications.", no_args_is_help=True
)


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


class FileFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    dhis2 = "dhis2"


class TemplateFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


class Method(StrEnum):
    suppress = "suppress"
    round = "round"


def _fail(command: str, message: str, code: int) -> typer.Exit:
    typer.echo(f"opschub stats {command}: {message}", err=True)
    return typer.Exit(code)


@stats_app.command("indicators")
def indicators_command(
    output: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = (
        OutputFormat.text
    ),
) -> None:
    """List the indicator catalogue (built-in and added), with each source's availability."""
    from opschub.db import get_database
    from opschub.stats import service

    with get_database().read() as session:
        cats = service.catalogue(session)
        rows = []
        for indicator in cats.indicators.values():
            entry = indicator.as_dict()
            entry["source_status"] = service.source_status(session, indicator) or "available"
            rows.append(entry)
    if output is OutputFormat.json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    for entry in rows:
        dims = ", ".join(entry["dimensions"]) or "-"
        typer.echo(
            f"{entry['id']:<24} {entry['name']['en']}  [by {dims}]  {entry['source_status']}"
        )


@stats_app.command("add-indicators")
def add_indicators_command(
    file: Annotated[Path, typer.Argument(help="A TOML file of [[indicator]] tables.")],
) -> None:
    """Add indicators to the catalogue (all or none; every bad field named)."""
    from opschub.db import get_database
    from opschub.stats import catalogue, service

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail("add-indicators", f"{file}: {exc}", 1) from None
    try:
        with get_database().transaction() as session:
            ids = service.add_indicators(session, None, text)
    except catalogue.CatalogueError as exc:
        for error in exc.errors:
            typer.echo(f"opschub stats add-indicators: {file}: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Added {len(ids)} indicator(s): {', '.join(ids)}")


@stats_app.command("table")
def table_command(
    indicator: Annotated[str, typer.Argument(help="An indicator id (opschub stats indicators).")],
    by: Annotated[str, typer.Option("--by", help="Dimensions, comma-separated (or none).")] = "",
    period: Annotated[str, typer.Option("--period", help="2026, 2026-Q1, 2026-03 or all.")] = "all",
    protect: Annotated[bool, typer.Option("--protect", help="Apply disclosure control.")] = False,
    method: Annotated[Method, typer.Option("--method", help="With --protect.")] = Method.suppress,
    threshold: Annotated[int, typer.Option(min=1, help="Smallest count published.")] = 10,
    interval: Annotated[float, typer.Option(min=0.0, help="Protection interval.")] = 0.30,
    base: Annotated[int, typer.Option(help="Rounding base (3 or 5).")] = 5,
    output: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = (
        OutputFormat.json
    ),
) -> None:
    """One indicator's table with every total and sub-total (the region dimension at every level).

    Without --protect it is the raw table, for staff who may see it."""
    from opschub.db import get_database
    from opschub.stats import catalogue, periods, service, sources

    dims = [d.strip() for d in by.split(",") if d.strip()]
    try:
        with get_database().read() as session:
            result = service.table(session, indicator, dims, period)
            if protect:
                result = service.protect(
                    result, method=method.value, threshold=threshold, interval=interval, base=base
                )
    except (catalogue.CatalogueError, periods.PeriodError, service.StatsError) as exc:
        raise _fail("table", str(exc), 2) from None
    except sources.SourceUnavailable as exc:
        raise _fail("table", str(exc), 2) from None
    except ModuleNotFoundError as exc:
        raise _fail("table", f"disclosure control is not installed ({exc.name})", 2) from None
    if output is OutputFormat.json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    typer.echo(f"{result['indicator']}  {result['period']}  by {', '.join(dims) or '-'}")
    for cell in result["cells"]:
        key = ", ".join(f"{k}={v}" for k, v in cell["key"].items()) or "total"
        value = "x" if cell["value"] is None else cell["value"]
        typer.echo(f"  {key:<60} {value}  {cell['status']}")


@stats_app.command("template")
def template_command(
    output_file: Annotated[Path, typer.Argument(help="Where to write the template.")],
    fmt: Annotated[TemplateFormat, typer.Option("--format", help="csv or xlsx.")] = (
        TemplateFormat.csv
    ),
    period: Annotated[str, typer.Option("--period", help="Pre-filled period.")] = "2026",
    org_unit: Annotated[str, typer.Option("--org-unit", help="Pre-filled region code.")] = "",
) -> None:
    """Write the regional collection template, generated from the catalogue."""
    from opschub.db import get_database
    from opschub.stats import service

    with get_database().read() as session:
        cats = service.catalogue(session)
    if fmt is TemplateFormat.csv:
        output_file.write_text(service.template_csv(cats, period, org_unit), encoding="utf-8")
    else:
        output_file.write_bytes(service.template_xlsx(cats, period, org_unit))
    typer.echo(f"Wrote the template to {output_file}")


@stats_app.command("import")
def import_command(
    file: Annotated[
        Path, typer.Argument(help="A filled-in template or a DHIS2 dataValueSets file.")
    ],
    fmt: Annotated[
        FileFormat, typer.Option("--format", help="csv, xlsx or dhis2.")
    ] = FileFormat.csv,
    output: Annotated[OutputFormat, typer.Option("--output", help="Output format.")] = (
        OutputFormat.text
    ),
) -> None:
    """Import regional figures, all or nothing; they wait for approval (stats.publish)."""
    from opschub.db import get_database
    from opschub.stats import service

    try:
        data = file.read_bytes()
    except OSError as exc:
        raise _fail("import", f"{file}: {exc.strerror}", 1) from None
    try:
        with get_database().transaction() as session:
            created = service.import_figures(session, None, data, file.name, fmt.value)
    except service.ImportInvalid as exc:
        with get_database().transaction() as session:
            service.record_refused(session, None, file.name, fmt.value, len(exc.errors))
        for error in exc.errors:
            typer.echo(f"opschub stats import: {error}", err=True)
        typer.echo(f"opschub stats import: nothing imported ({len(exc.errors)} error(s))", err=True)
        raise typer.Exit(1) from None
    if output is OutputFormat.json:
        typer.echo(
            json.dumps(
                [
                    {
                        "id": s.id,
                        "org_unit": s.org_unit_code,
                        "period": s.period,
                        "version": s.version,
                        "figures": s.figures,
                    }
                    for s in created
                ]
            )
        )
        return
    for s in created:
        typer.echo(
            f"{s.id}  {s.org_unit_code} {s.period} version {s.version}: "
            f"{s.figures} figures, waiting for approval"
        )


@stats_app.command("submissions")
def submissions_command(
    output: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = (
        OutputFormat.text
    ),
) -> None:
    """List regional submissions, newest first (every version: the history is kept)."""
    from opschub.db import get_database
    from opschub.stats import service

    with get_database().read() as session:
        rows = service.submissions(session)
    if output is OutputFormat.json:
        typer.echo(
            json.dumps(
                [
                    {
                        "id": s.id,
                        "org_unit": s.org_unit_code,
                        "period": s.period,
                        "version": s.version,
                        "status": s.status,
                        "figures": s.figures,
                    }
                    for s in rows
                ]
            )
        )
        return
    for s in rows:
        typer.echo(f"{s.id}  {s.org_unit_code} {s.period} v{s.version} {s.status} ({s.figures})")


def _decide(command: str, submission_id: str, approve: bool) -> None:
    from opschub.db import get_database
    from opschub.stats import service

    try:
        with get_database().transaction() as session:
            view = service.decide(session, None, submission_id, approve=approve)
    except service.StatsError as exc:
        raise _fail(command, str(exc), 1) from None
    typer.echo(f"{view.org_unit_code} {view.period} version {view.version}: {view.status}")


@stats_app.command("approve")
def approve_command(submission_id: Annotated[str, typer.Argument()]) -> None:
    """Approve a pending submission (it replaces the region's earlier approved version)."""
    _decide("approve", submission_id, True)


@stats_app.command("reject")
def reject_command(submission_id: Annotated[str, typer.Argument()]) -> None:
    """Reject a pending submission."""
    _decide("reject", submission_id, False)


@stats_app.command("export-dhis2")
def export_dhis2_command(
    period: Annotated[str, typer.Option("--period", help="2026, 2026-Q1 or 2026-03.")],
) -> None:
    """Print the figures by region as a DHIS2 dataValueSets document."""
    from opschub.db import get_database
    from opschub.stats import periods, service

    try:
        with get_database().read() as session:
            doc = service.export_dhis2(session, period)
    except (periods.PeriodError, service.StatsError) as exc:
        raise _fail("export-dhis2", str(exc), 2) from None
    typer.echo(json.dumps(doc, indent=1))


@stats_app.command("publish")
def publish_command(
    period: Annotated[str, typer.Option("--period", help="2026, 2026-Q1, 2026-03 or all.")],
    method: Annotated[Method, typer.Option("--method")] = Method.suppress,
    threshold: Annotated[int, typer.Option(min=1)] = 10,
    interval: Annotated[float, typer.Option(min=0.0)] = 0.30,
    base: Annotated[int, typer.Option()] = 5,
    region: Annotated[
        str,
        typer.Option(
            "--region", help="A region code: a report of that region and its sub-regions."
        ),
    ] = "",
) -> None:
    """Publish every available indicator, protected and audited (blocked if the audit fails).

    National by default; with --region, only the indicators broken down by region, for that
    region and its sub-regions (the report says which region it covers)."""
    from opschub.db import get_database
    from opschub.stats import periods, service

    try:
        with get_database().transaction() as session:
            pub = service.publish(
                session,
                None,
                period,
                method=method.value,
                threshold=threshold,
                interval=interval,
                base=base,
                region=region or None,
            )
    except service.PublicationBlocked as exc:
        for cell in exc.at_risk:
            typer.echo(f"opschub stats publish: at risk: {cell}", err=True)
        raise _fail("publish", str(exc), 1) from None
    except (periods.PeriodError, service.StatsError) as exc:
        raise _fail("publish", str(exc), 2) from None
    typer.echo(
        f"Published version {pub.version} ({pub.period}, {pub.region or 'national'}, "
        f"{len(pub.tables)} tables, "
        f"data {pub.input_digest[:12]}, output {pub.output_digest[:12]})"
    )


@stats_app.command("reproduce")
def reproduce_command(version: Annotated[int, typer.Argument()]) -> None:
    """Re-run a publication from the data and method it recorded; exit 1 if it differs."""
    from opschub.db import get_database
    from opschub.stats import service

    try:
        with get_database().read() as session:
            result = service.reproduce(session, version)
    except service.StatsError as exc:
        raise _fail("reproduce", str(exc), 2) from None
    if result.same:
        typer.echo(f"Version {version} reproduced: the same data gives the same tables.")
        return
    what = "the data changed" if not result.input_same else "the method's output changed"
    typer.echo(f"Version {version} differs: {what}.", err=True)
    sys.exit(1)


@stats_app.command("export-sdmx")
def export_sdmx_command(
    version: Annotated[int, typer.Argument(help="A publication version.")],
) -> None:
    """Print a publication as SDMX-ML 2.1 (withheld cells have status C and no value)."""
    from opschub.db import get_database
    from opschub.stats import sdmx_export, service

    with get_database().read() as session:
        pub = service.publication(session, version)
    if pub is None:
        raise _fail("export-sdmx", f"no publication version {version}", 2)
    sys.stdout.write(sdmx_export.to_sdmx(pub).decode("utf-8"))


def register(app: typer.Typer) -> None:
    import importlib

    try:
        disclosure_cli = importlib.import_module("opschub.stats.disclosure_cli")
    except ModuleNotFoundError:  # stats-protect's `stats audit` is not part of this installation
        pass
    else:
        disclosure_cli.register(stats_app)
    app.add_typer(stats_app, name="stats")
