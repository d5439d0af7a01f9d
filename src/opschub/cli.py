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
    "opschub.takedown.cli",
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
