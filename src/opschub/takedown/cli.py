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
    from opschub.matching.formats import Entry
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


# -- opschub lists: the signed, versioned lists (added to the matching capability's group) --


class ListKind(StrEnum):
    urls = "urls"
    hashes = "hashes"


def _lists_dir() -> Path:
    from opschub.config import get_settings

    return get_settings().data_dir / "lists"


def lists_publish(
    name: Annotated[str, typer.Argument(help="Signed list name, e.g. urls or hashes.")],
    file: Annotated[Path, typer.Argument(help="The complete list: URLs a line, or a hash list.")],
    kind: Annotated[ListKind, typer.Option("--kind", help="What the list holds.")],
    format: Annotated[
        str | None, typer.Option("--format", help="Hash list file format (default: guessed).")
    ] = None,
) -> None:
    """Publish FILE as the next version of a signed list (only if something changed). All or
    nothing: a bad line is named and nothing is published."""
    from opschub.intake.urls import UrlError, normalise_url
    from opschub.matching.formats import parse_file
    from opschub.takedown.signed_lists import ListError, SignedListStore

    if not file.is_file():
        _fail(f"{file}: no such file")
    entries: list[str | Entry] = []
    errors: list[str] = []
    if kind == ListKind.urls:
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                entries.append(normalise_url(line))
            except UrlError as exc:
                errors.append(f"{file}: line {number}: url: {exc}")
    else:
        try:
            parsed = parse_file(file, format)
        except (OSError, ValueError) as exc:
            _fail(str(exc))
        errors = [str(e) for e in parsed.errors]
        entries = list(parsed.entries)
    if errors:
        for error in errors[:MAX_ERRORS_SHOWN]:
            typer.echo(error, err=True)
        typer.echo(f"{file}: {len(errors)} invalid lines; nothing published", err=True)
        raise typer.Exit(1)
    try:
        store = SignedListStore(_lists_dir())
        published = store.publish(name, "urls" if kind == ListKind.urls else "hashes", entries)
    except ListError as exc:
        _fail(str(exc))
    if published is None:
        typer.echo(json.dumps({"list": name, "changed": False}))
    else:
        typer.echo(json.dumps({**published.to_json(), "changed": True}))


def lists_export_signed(
    name: Annotated[str, typer.Argument(help="Signed list name.")],
    out: Annotated[
        Path, typer.Option("--out", help="Payload file; FILE.sig is written beside it.")
    ],
    format: Annotated[str, typer.Option("--format", help="Export format.")] = "jsonl",
    version: Annotated[int | None, typer.Option(help="Version (default: the latest).")] = None,
    since: Annotated[
        int | None, typer.Option(help="Only the changes since this version (jsonl).")
    ] = None,
) -> None:
    """Export a version of a signed list (or the changes since a version) with its signature."""
    from opschub.takedown.signed_lists import ListError, SignedListStore

    try:
        export = SignedListStore(_lists_dir()).export(
            name, format=format, version=version, since=since
        )
    except ListError as exc:
        _fail(str(exc))
    sig = export.write(out)
    typer.echo(json.dumps({**export.manifest, "file": str(out), "signature_file": str(sig)}))


def lists_public_key() -> None:
    """Print the public key recipients verify the signed lists with (PEM)."""
    from opschub.takedown.signed_lists import SignedListStore, public_key_pem

    typer.echo(public_key_pem(SignedListStore(_lists_dir()).public_key()), nl=False)


def lists_verify(
    file: Annotated[Path, typer.Argument(help="A list file exported with its .sig beside it.")],
    key: Annotated[Path, typer.Option("--key", help="The publisher's public key (PEM).")],
    signature: Annotated[
        Path | None, typer.Option(help="Signature file (default: FILE.sig).")
    ] = None,
) -> None:
    """Check a signed list: exit 0 and print its manifest when valid, exit 1 naming why not."""
    from opschub.takedown.signed_lists import VerificationError, load_public_key, verify

    sig = signature or file.with_name(file.name + ".sig")
    for path in (file, key):
        if not path.is_file():
            _fail(f"{path}: no such file")
    if not sig.is_file():
        typer.echo(f"{file}: invalid: no signature file {sig}", err=True)
        raise typer.Exit(1)
    try:
        public = load_public_key(key.read_bytes())
    except VerificationError as exc:
        _fail(f"{key}: {exc}")
    try:
        verified = verify(file.read_bytes(), sig.read_bytes(), public)
    except VerificationError as exc:
        typer.echo(f"{file}: invalid: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps({"valid": True, **verified.manifest}))


def register(app: typer.Typer) -> None:
    """Mount the takedown commands on the root ``opschub`` app. The signed-list commands join
    the ``opschub lists`` group that the matching capability owns."""
    from opschub.matching.cli import lists_app

    app.add_typer(hosting_app, name="hosting")
    lists_app.command("publish")(lists_publish)
    lists_app.command("export-signed")(lists_export_signed)
    lists_app.command("public-key")(lists_public_key)
    lists_app.command("verify")(lists_verify)
