"""``opschub terms check``: the terminology checker on files or standard input.

Prints ``file:line:col severity term -> preferred (reason)`` (or JSON, or SARIF 2.1.0 for
CI). Exit codes, like other linters: 0 clean, 1 findings, 2 usage error or no input could be
read. The checker itself is imported inside the command so ``opschub --help`` stays fast.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from opschub.terms.checker import Finding
    from opschub.terms.sources import Source

TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".po", ".docx", ".pdf")
PROGRESS_BYTES = 20_000_000  # show progress when the inputs are bigger than this


class Lang(StrEnum):
    auto = "auto"
    en = "en"
    zh = "zh"


class Format(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"


class Locale(StrEnum):
    en = "en"
    zh_hans = "zh-Hans"


class FailOn(StrEnum):
    avoid = "avoid"
    use_with_care = "use-with-care"


def _expand(paths: list[str]) -> list[str]:
    """Directories are searched for the formats the checker reads."""
    out: list[str] = []
    for name in paths:
        path = Path(name)
        if name != "-" and path.is_dir():
            found = sorted(
                str(p) for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES
            )
            out.extend(found)
        else:
            out.append(name)
    return out


def _err(message: str) -> None:
    typer.echo(message, err=True)


def check_command(
    paths: Annotated[
        list[str],
        typer.Argument(help="Files or directories to check; '-' reads standard input."),
    ],
    lang: Annotated[Lang, typer.Option(help="Language of the text.")] = Lang.auto,
    output_format: Annotated[
        Format, typer.Option("--format", help="text, json, or sarif (SARIF 2.1.0 for CI).")
    ] = Format.text,
    fix: Annotated[
        bool,
        typer.Option(
            "--fix",
            help="Write the preferred term where exactly one fits (never in titles, "
            "quotations, code or mentions). Standard input: the fixed text goes to stdout.",
        ),
    ] = False,
    locale: Annotated[Locale, typer.Option(help="Language of the reasons.")] = Locale.en,
    fail_on: Annotated[
        FailOn, typer.Option(help="Lowest severity that makes the exit code 1.")
    ] = FailOn.use_with_care,
) -> None:
    """Check documents for terms the guidelines ask writers to avoid, and name the preferred
    terms (such as "child sexual abuse material") to use instead."""
    from rich.console import Console
    from rich.progress import Progress

    from opschub import __version__
    from opschub.terms.checker import analyse
    from opschub.terms.fixer import apply_fixes, fixable
    from opschub.terms.output import as_json, as_sarif, as_text
    from opschub.terms.sources import SourceError, kind_of, read_bytes, read_source, write_source
    from opschub.terms.termbase import TermBaseError, default_termbase

    try:
        termbase = default_termbase()
    except TermBaseError as exc:
        _err(f"opschub terms: {exc}")
        raise typer.Exit(2) from exc
    names = _expand(paths)
    if names.count("-") > 1:
        _err("opschub terms: '-' (standard input) can be given only once")
        raise typer.Exit(2)
    results: list[tuple[str, list[Finding]]] = []
    failed = 0
    stdout_fixed: str | None = None
    fail_levels = {"avoid"} if fail_on == FailOn.avoid else {"avoid", "use-with-care"}
    total = sum(Path(n).stat().st_size for n in names if n != "-" and Path(n).is_file())
    console = Console(stderr=True)
    show = total > PROGRESS_BYTES and console.is_terminal
    with Progress(console=console, transient=True, disable=not show) as progress:
        task = progress.add_task("Checking", total=max(total, 1))
        for name in names:
            try:
                source: Source = (
                    read_bytes(sys.stdin.buffer.read(), "-", "text")
                    if name == "-"
                    else read_source(name)
                )
            except SourceError as exc:
                _err(f"opschub terms: {exc}")
                failed += 0 if exc.empty else 1
                continue
            finally:
                if name != "-" and Path(name).is_file():
                    progress.advance(task, Path(name).stat().st_size)
            result = analyse(
                source.text, lang.value, locale.value, markup=source.markup, po=source.po
            )
            for note in result.notes:
                _err(f"{name}: {note}")
            findings = result.findings
            if fix:
                to_fix = fixable(source.text, findings, po=source.po)
                fixed = apply_fixes(source.text, to_fix)
                if name == "-":
                    stdout_fixed = fixed
                elif not source.fixable:
                    _err(f"{name}: --fix cannot write {kind_of(name)} files; findings reported")
                elif to_fix:
                    try:
                        write_source(source, fixed)
                    except (OSError, UnicodeEncodeError) as exc:
                        _err(f"opschub terms: {name}: not fixed, cannot write it ({exc})")
                        failed += 1
                        to_fix = []
                    else:
                        _err(f"{name}: fixed {len(to_fix)} finding(s)")
                if to_fix and (name == "-" or source.fixable):
                    findings = analyse(
                        fixed, lang.value, locale.value, markup=source.markup, po=source.po
                    ).findings
            results.append((name, findings))
    if stdout_fixed is not None:
        sys.stdout.write(stdout_fixed)
        out = sys.stderr
    else:
        out = sys.stdout
    if output_format == Format.json:
        out.write(as_json(results))
    elif output_format == Format.sarif:
        out.write(as_sarif(results, termbase, __version__))
    else:
        out.write(as_text(results))
    failing = [f for _, fs in results for f in fs if f.severity in fail_levels]
    if output_format == Format.text:
        mentions = sum(1 for _, fs in results for f in fs if f.is_mention)
        problems = sum(1 for _, fs in results for f in fs if not f.is_mention)
        _err(
            f"{problems} finding(s), {mentions} mention(s) in {len(results)} file(s)"
            + (f"; {failed} file(s) could not be read" if failed else "")
        )
    if failing:
        raise typer.Exit(1)
    if failed:
        raise typer.Exit(2)  # nothing to report, but some input could not be checked


def register(app: typer.Typer) -> None:
    terms_app = typer.Typer(
        name="terms",
        help="Terminology checker: the guidelines' preferred terms, in Chinese and English.",
        no_args_is_help=True,
    )
    terms_app.command(
        "check",
        help="Check documents for terms the guidelines ask writers to avoid, and name the "
        'preferred terms (such as "child sexual abuse material") to use instead.',
    )(check_command)
    app.add_typer(terms_app, name="terms")
