"""The ``opschub`` command. Each capability mounts its own commands here.

A capability's ``cli.py`` exposes ``register(app: typer.Typer) -> None`` and keeps heavy
imports inside its command functions so that ``opschub --help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys

import typer

from opschub.config import SettingsError, private_files

app = typer.Typer(
    name="opschub",
    help="opschub: reporting, image analysis, notice and takedown, evidence, cases, statistics.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# Order decides the order in --help.
CAPABILITY_CLIS = (
    "opschub.dbcli",
    "opschub.accounts.cli",
    "opschub.audit.cli",
    "opschub.matching.cli",
    "opschub.terms.cli",
    "opschub.intake.cli",
    "opschub.evidence.cli",
    "opschub.orgunits.cli",
    "opschub.cases.cli",
    "opschub.takedown.cli",
    "opschub.takedown.categories_cli",
    "opschub.stats.cli",
    "opschub.takedown.notice_cli",
    "opschub.web.cli",
    "opschub.jobs.cli",
)


def _register_all() -> None:
    for module_name in CAPABILITY_CLIS:
        importlib.import_module(module_name).register(app)


_register_all()


def main() -> None:
    private_files()  # the database, WAL, hash lists and keys: 0600, directories 0700
    try:
        app()
    except SettingsError as exc:
        typer.echo(f"opschub: {exc}", err=True)
        sys.exit(2)
    except Exception as exc:
        # A command run before `opschub db upgrade` meets missing tables: say what to do, in one
        # line, instead of a page of SQL (anything else keeps its traceback).
        if _is_missing_table(exc):
            typer.echo(
                "opschub: the database has no tables yet (or is older than this version); "
                "run `opschub db upgrade` first",
                err=True,
            )
            sys.exit(2)
        raise


def _is_missing_table(exc: BaseException) -> bool:
    from sqlalchemy.exc import OperationalError, ProgrammingError

    if not isinstance(exc, OperationalError | ProgrammingError):
        return False
    message = str(exc.orig).lower()
    return "no such table" in message or ("relation" in message and "does not exist" in message)
