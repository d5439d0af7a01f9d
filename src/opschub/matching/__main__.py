"""``python -m opschub.matching``: the matching commands without the rest of opschub."""

from __future__ import annotations

import typer

from opschub.matching.cli import register

app = typer.Typer(
    name="opschub-matching",
    help="Image hashing and hash-list matching.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
register(app)

if __name__ == "__main__":
    app()
