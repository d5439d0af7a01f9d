"""Commands: ``opschub hosting load|lookup`` and ``opschub lists verify``.

Exit codes: 0 done, 1 problems in the data (bad lines, an invalid signature), 2 usage errors
(no such file, no data loaded). Heavy imports stay inside the commands.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from opschub.takedown.hosting import HostingData

MAX_ERRORS_SHOWN = 50

hosting_app = typer.Typer(
    help="Where content is hosted: load network data, look up hosts.", no_args_is_help=True
)


class LoadFormat(StrEnum):
    iptoasn = "iptoasn"
    rir = "rir"
    mmdb = "mmdb"
    providers = "providers"
    rdap = "rdap"


class OutputFormat(StrEnum):
    json = "json"
    table = "table"


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"opschub: {message}", err=True)
    raise typer.Exit(code)


def _data() -> HostingData:
    from opschub.config import get_settings
    from opschub.takedown.hosting import HostingData

    return HostingData(get_settings().data_dir / "hosting")


@hosting_app.command("load")
def hosting_load(
    file: Annotated[Path, typer.Argument(help="Data file to load.")],
    format: Annotated[LoadFormat, typer.Option("--format", help="What the file is.")],
) -> None:
    """Load hosting data: iptoasn TSV, RIR delegated-extended, MaxMind .mmdb, the provider
    directory (TOML) or a stored RDAP answer (JSON). All or nothing: a file with a bad line
    changes nothing, and every bad line is named with its file, line and field."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    from opschub.takedown.ranges import RangeFileError

    if not file.is_file():
        _fail(f"{file}: {'not a file' if file.exists() else 'no such file'}")
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    progress = Progress(
        TextColumn(f"loading {file.name}"),
        BarColumn(),
        DownloadColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    )
    task = progress.add_task("load", total=file.stat().st_size)
    try:
        with progress:
            summary = _data().load(
                file, format.value, on_progress=lambda done: progress.update(task, completed=done)
            )
    except RangeFileError as exc:
        for error in exc.errors[:MAX_ERRORS_SHOWN]:
            console.print(str(error), markup=False)
        if exc.invalid > MAX_ERRORS_SHOWN:
            console.print(f"... and {exc.invalid - MAX_ERRORS_SHOWN} more", markup=False)
        console.print(f"{file}: {exc.invalid} errors; nothing loaded", markup=False)
        raise typer.Exit(1) from None
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"{file}: {exc}")
    typer.echo(json.dumps(summary, ensure_ascii=False))


@hosting_app.command("lookup")
def hosting_lookup(
    host: Annotated[str, typer.Argument(help="Host name or IP address.")],
    format: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = (
        OutputFormat.json
    ),
) -> None:
    """Country, network, AS number and abuse contact of each address of a host: one JSON
    object per address."""
    from opschub.takedown.hosting import HostingDataError

    try:
        answers = _data().lookup(host)
    except HostingDataError as exc:
        _fail(str(exc))
    if format == OutputFormat.json:
        for answer in answers:
            typer.echo(json.dumps(answer.to_json(), ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    columns = ("ip", "country", "asn", "as_name", "abuse", "cdn")
    table = Table()
    for header in columns:
        table.add_column(header, overflow="fold")
    for answer in answers:
        row = answer.to_json()
        table.add_row(*("" if row[k] is None else str(row[k]) for k in columns))
    Console(soft_wrap=True).print(table)


def register(app: typer.Typer) -> None:
    """Mount the takedown commands on the root ``opschub`` app."""
    app.add_typer(hosting_app, name="hosting")
