"""Commands: ``opschub hash``, ``opschub lists ...``, ``opschub match``, ``opschub scan``.

Exit codes: 0 done, 1 problems found in the data (unreadable images, invalid list lines),
2 usage errors (unknown list, bad options). numpy, Pillow, numba and Dask are imported inside
the commands so that ``opschub --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from opschub.matching.formats import ParseError
    from opschub.matching.matcher import QueryResult
    from opschub.matching.store import HashListStore

MAX_ERRORS_SHOWN = 50


class OutputFormat(StrEnum):
    jsonl = "jsonl"
    table = "table"


class ListFormat(StrEnum):
    lines = "lines"
    csv = "csv"
    tx_csv = "tx-csv"
    vics = "vics"
    jsonl = "jsonl"


class HashTypeOption(StrEnum):
    pdq = "pdq"
    sha256 = "sha256"
    md5 = "md5"
    sha1 = "sha1"


def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"opschub: {message}", err=True)
    raise typer.Exit(code)


def _store() -> HashListStore:
    from opschub.config import get_settings
    from opschub.matching.store import HashListStore

    return HashListStore(get_settings().data_dir / "matching")


def _check_lists(store: HashListStore, names: list[str] | None) -> list[str]:
    from opschub.matching.store import StoreError

    if not names:
        found = [info.name for info in store.lists()]
        if not found:
            _fail("no hash lists yet; import one with `opschub lists import NAME FILE`")
        return found
    for name in names:
        try:
            store.info(name)
        except StoreError as exc:
            _fail(str(exc))
    return names


def _check_threshold(threshold: int) -> None:
    if not 0 <= threshold <= 64:
        _fail(f"--threshold must be between 0 and 64, got {threshold}")


def _report_errors(errors: list[ParseError], console: Console, total: int | None = None) -> None:
    for error in errors[:MAX_ERRORS_SHOWN]:
        console.print(str(error), markup=False)
    total = len(errors) if total is None else total
    if total > MAX_ERRORS_SHOWN:
        console.print(f"... and {total - MAX_ERRORS_SHOWN} more invalid lines")


def _table(*headers: str, title: str | None = None) -> Table:
    from rich.table import Table

    table = Table(title=title)
    for header in headers:
        table.add_column(header, overflow="fold")  # hashes and paths are never cut short
    return table


def _emit_results(results: list[QueryResult], fmt: OutputFormat) -> None:
    if fmt == OutputFormat.jsonl:
        for result in results:
            typer.echo(json.dumps(result.to_json(), ensure_ascii=False))
        return
    from rich.console import Console

    table = _table("query", "list", "hash", "label", "distance", "transform")
    for result in results:
        if result.error:
            table.add_row(result.query, "", "", f"error: {result.error}", "", "")
        elif not result.matches:
            table.add_row(result.query, "", "", "(no match)", "", "")
        for match in result.matches:
            table.add_row(
                result.query,
                match.list,
                f"{match.hash_type}:{match.hash}",
                match.label or "",
                str(match.distance),
                match.transform or "",
            )
    Console(soft_wrap=True).print(table)


# -- opschub hash ------------------------------------------------------------------------


def hash_command(
    paths: Annotated[list[Path], typer.Argument(help="Image files or folders (recursive).")],
    format: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = (
        OutputFormat.jsonl
    ),
    workers: Annotated[
        int | None, typer.Option(min=1, help="Processes to hash with (default: all cores).")
    ] = None,
    reference: Annotated[
        bool, typer.Option("--reference", help="Full decode + pdqhash instead of the fast path.")
    ] = False,
) -> None:
    """Hash images: SHA-256, MD5, SHA-1 and PDQ with quality, one JSON object a file."""
    from opschub.matching.hashing import hash_many, iter_image_files
    from opschub.matching.matcher import in_input_order

    files = list(iter_image_files(paths))
    if not files:
        _fail("no image files found in the given paths")
    records = []
    errors = 0
    hashed = hash_many(files, workers=workers, fast=not reference)
    for hashes, _ in in_input_order([str(f) for f in files], hashed):
        errors += hashes.error is not None
        if format == OutputFormat.jsonl:
            typer.echo(json.dumps(hashes.to_json(), ensure_ascii=False))
        else:
            records.append(hashes)
    if format == OutputFormat.table:
        from rich.console import Console

        table = _table("path", "pdq", "quality", "sha256", "error")
        for h in sorted(records, key=lambda r: r.path):
            quality = "" if h.quality is None else str(h.quality)
            table.add_row(h.path, h.pdq or "", quality, h.sha256 or "", h.error or "")
        Console(soft_wrap=True).print(table)
    if errors:
        _stderr().print(f'{errors} of {len(files)} files could not be hashed (see "error")')
        raise typer.Exit(1)


# -- opschub lists ---------------------------------------------------------------------------

lists_app = typer.Typer(help="Hash lists: import, export, show, remove.", no_args_is_help=True)


@lists_app.command("import")
def lists_import(
    name: Annotated[str, typer.Argument(help="List name (created when missing).")],
    file: Annotated[Path, typer.Argument(help="List file to import.")],
    format: Annotated[
        ListFormat | None, typer.Option("--format", help="File format (default: guessed).")
    ] = None,
    label: Annotated[str | None, typer.Option(help="Label for every entry.")] = None,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Import the valid lines of a file with errors.")
    ] = False,
    hash_type: Annotated[
        HashTypeOption, typer.Option("--hash-type", help="Hash type of a `lines` file.")
    ] = HashTypeOption.pdq,
    source: Annotated[str | None, typer.Option(help="Organisation the list comes from.")] = None,
    sharing: Annotated[str | None, typer.Option(help="Sharing terms of the list.")] = None,
    description: Annotated[str | None, typer.Option(help="What the list holds.")] = None,
    version: Annotated[str | None, typer.Option(help="Version of the list at its source.")] = None,
) -> None:
    """Import a hash list file. Nothing is imported from a file with invalid lines unless
    --skip-invalid is given. Importing the same entries again changes nothing."""
    from opschub.matching.formats import ListFormatError
    from opschub.matching.store import StoreError

    if not file.is_file():
        _fail(f"{file}: {'not a file' if file.exists() else 'no such file'}")
    store = _store()
    console = _stderr()
    try:
        summary = store.import_file(
            name,
            file,
            format=format.value if format else None,
            label=label,
            skip_invalid=skip_invalid,
            version=version,
            hash_type=hash_type.value,
            source=source,
            sharing=sharing,
            description=description,
        )
    except ListFormatError as exc:
        _report_errors(exc.errors, console, exc.invalid)
        console.print(
            f"{file}: {exc.invalid} invalid lines; nothing imported "
            "(fix the file or use --skip-invalid)",
            markup=False,
        )
        raise typer.Exit(1) from None
    except (StoreError, OSError, ValueError) as exc:
        _fail(str(exc))
    if summary.invalid:
        _report_errors(summary.errors, console, summary.invalid)
    parts = [f"{summary.added} added", f"{summary.already_present} already present"]
    if summary.skipped:
        parts.append(f"{summary.skipped} false positives not imported")
    if summary.invalid:
        parts.append(f"{summary.invalid} invalid lines skipped")
    console.print(f"{name}: " + ", ".join(parts), markup=False)


@lists_app.command("export")
def lists_export(
    name: Annotated[str, typer.Argument(help="List name.")],
    format: Annotated[ListFormat, typer.Option("--format", help="File format.")] = (
        ListFormat.jsonl
    ),
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this file (default: standard output).")
    ] = None,
) -> None:
    """Export a list in one of the import formats."""
    import os
    import tempfile

    from opschub.matching.formats import UnsupportedExport
    from opschub.matching.store import StoreError

    store = _store()
    try:
        info = store.info(name)
        if format == ListFormat.lines and len(info.counts) > 1:
            raise UnsupportedExport(
                f"the lines format holds one hash type and {name} has "
                f"{' and '.join(sorted(info.counts))}; use --format csv or jsonl"
            )
        if out is None:
            written = store.export(name, sys.stdout, format=format.value)
        else:
            fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent or Path("."))
            try:
                with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                    written = store.export(name, handle, format=format.value)
                os.replace(tmp, out)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
    except UnsupportedExport as exc:
        _fail(str(exc))
    except StoreError as exc:
        _fail(str(exc))
    left_out = info.total - written
    if left_out:
        _stderr().print(
            f"{left_out} entries not exported: the {format.value} format holds only "
            "MD5 and SHA-1 hashes"
        )


@lists_app.command("show")
def lists_show(
    name: Annotated[str | None, typer.Argument(help="List name (default: all lists).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the lists, or one list's metadata and import history."""
    from rich.console import Console

    from opschub.matching.store import StoreError

    store = _store()
    try:
        infos = [store.info(name)] if name else store.lists()
    except StoreError as exc:
        _fail(str(exc))
    if json_output:
        for info in infos:
            typer.echo(json.dumps(info.to_json(), ensure_ascii=False))
        return
    console = Console(soft_wrap=True)
    if not infos:
        console.print("no hash lists")
        return
    table = _table("name", "entries", "by type", "source", "sharing", "version", "imported")
    for info in infos:
        by_type = ", ".join(f"{t} {n}" for t, n in info.counts.items())
        table.add_row(
            info.name,
            str(info.total),
            by_type,
            info.source,
            info.sharing,
            info.version or "",
            info.imported_at or "",
        )
    console.print(table)
    if name and infos[0].imports:
        history = _table("imported", "file", "format", "version", "added", title="imports")
        for record in infos[0].imports:
            history.add_row(
                str(record.get("imported_at", "")),
                str(record.get("file", "")),
                str(record.get("format", "")),
                str(record.get("version") or ""),
                str(record.get("added", "")),
            )
        console.print(history)
    if name and infos[0].description:
        console.print(infos[0].description, markup=False)


@lists_app.command("remove")
def lists_remove(name: Annotated[str, typer.Argument(help="List name.")]) -> None:
    """Remove a list and its index."""
    from opschub.matching.store import StoreError

    try:
        _store().remove_list(name)
    except StoreError as exc:
        _fail(str(exc))
    _stderr().print(f"removed hash list {name}", markup=False)


# -- opschub match ---------------------------------------------------------------------------


def match_command(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Image files or folders to match.")
    ] = None,
    lists: Annotated[
        list[str] | None,
        typer.Option("--list", help="List to match against (repeatable; default all)."),
    ] = None,
    hashes: Annotated[
        Path | None,
        typer.Option(
            "--hashes",
            help="File of hashes to match: one hex hash a line, or JSON Lines "
            "(hash_type/hash objects or `opschub hash` output).",
        ),
    ] = None,
    threshold: Annotated[int, typer.Option(help="Largest PDQ distance that matches (0-64).")] = 31,
    format: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = (
        OutputFormat.jsonl
    ),
    hash_type: Annotated[
        HashTypeOption, typer.Option("--hash-type", help="Type of 64-digit lines in --hashes.")
    ] = HashTypeOption.pdq,
    dihedral: Annotated[
        bool, typer.Option("--dihedral/--no-dihedral", help="Also match rotations and mirrors.")
    ] = True,
    trim: Annotated[
        bool, typer.Option("--trim/--no-trim", help="Also match with uniform borders trimmed.")
    ] = True,
    workers: Annotated[int | None, typer.Option(min=1, help="Hashing processes.")] = None,
) -> None:
    """Match images or hashes against hash lists: one JSON object a query."""
    _check_threshold(threshold)
    if (hashes is None) == (not paths):
        _fail("give either --hashes FILE or image PATHs (not both)")
    store = _store()
    names = _check_lists(store, lists)
    errors = 0
    if hashes is not None:
        from opschub.matching.matcher import match_queries, read_hash_queries

        if not hashes.is_file():
            _fail(f"{hashes}: no such file")
        queries, parse_errors = read_hash_queries(hashes, hash_type=hash_type.value)
        _report_errors(parse_errors.errors, _stderr(), parse_errors.invalid)
        errors += parse_errors.invalid
        results = match_queries(store, queries, lists=names, threshold=threshold)
        _emit_results(results, format)
    else:
        from opschub.matching.matcher import match_paths

        assert paths is not None
        collected: list[QueryResult] = []
        for result in match_paths(
            store,
            paths,
            lists=names,
            threshold=threshold,
            dihedral=dihedral,
            trim_borders=trim,
            workers=workers,
        ):
            errors += result.error is not None
            if format == OutputFormat.jsonl:
                _emit_results([result], format)
            else:
                collected.append(result)
        if format == OutputFormat.table:
            _emit_results(sorted(collected, key=lambda r: r.query), format)
    if errors:
        _stderr().print(f'{errors} queries could not be read (see the messages above / "error")')
        raise typer.Exit(1)


# -- opschub scan ----------------------------------------------------------------------------


def scan_command(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to scan (recursive).")],
    lists: Annotated[list[str], typer.Option("--list", help="List to match against (repeatable).")],
    out: Annotated[Path, typer.Option("--out", help="Results file (JSON Lines, appended).")],
    workers: Annotated[int | None, typer.Option(min=1, help="Local hashing processes.")] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address, e.g. tcp://10.0.0.5:8786.")
    ] = None,
    threshold: Annotated[int, typer.Option(help="Largest PDQ distance that matches (0-64).")] = 31,
    dihedral: Annotated[bool, typer.Option("--dihedral/--no-dihedral")] = True,
    trim: Annotated[bool, typer.Option("--trim/--no-trim")] = True,
) -> None:
    """Hash and match a large tree; resumable (files already in --out are skipped)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from opschub.matching.scan import run_scan

    _check_threshold(threshold)
    store = _store()
    names = _check_lists(store, lists)
    console = _stderr()
    progress = Progress(
        TextColumn("scanning"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )
    task = progress.add_task("scan", total=None)
    with progress:
        try:
            summary = run_scan(
                store,
                paths,
                lists=names,
                out=out,
                workers=workers,
                scheduler=scheduler,
                threshold=threshold,
                dihedral=dihedral,
                trim_borders=trim,
                on_start=lambda total: progress.update(task, total=total),
                on_result=lambda _: progress.advance(task),
            )
        except OSError as exc:  # results file not writable, scheduler unreachable
            _fail(f"scan stopped: {exc}")
    for example in summary.error_examples:
        console.print(example, markup=False)
    console.print(
        f"{summary.files} files: {summary.scanned} scanned, {summary.already_done} already in "
        f"{out}, {summary.matched_files} with matches ({summary.matches} matches), "
        f"{summary.errors} errors, {summary.seconds:.1f} s",
        markup=False,
    )
    if summary.errors:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Mount the matching commands on the root ``opschub`` app."""
    app.command("hash")(hash_command)
    app.add_typer(lists_app, name="lists")
    app.command("match")(match_command)
    app.command("scan")(scan_command)
