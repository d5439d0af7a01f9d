"""Helpers for the intake tests (a uniquely named module: ``conftest`` is ambiguous)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from opschub.accounts import service as accounts
from opschub.db import Database

SHARED = Path(os.environ.get("OPSCHUB_SHARED_DIR", Path(__file__).resolve().parents[3] / "shared"))


def make_token(
    database: Database,
    *,
    permissions: tuple[str, ...] = ("reports.submit",),
    role: str | None = None,
) -> tuple[str, str]:
    """(token id, raw bearer token) of a new API token (a partner token by default)."""
    with database.transaction() as session:
        token, raw = accounts.create_token(
            session,
            name="test partner",
            permissions=permissions,
            expires_in_days=30,
            actor=None,
            partner=role is None,
            role=role,
        )
        return token.id, raw


def reference_pdq() -> tuple[str, str]:
    """(image path, PDQ hex) of the first reference image in the shared expected.csv."""
    path = SHARED / "pdq-reference" / "expected.csv"
    if not path.is_file():
        pytest.skip(f"shared PDQ reference data not found at {path}")
    with path.open(newline="") as handle:
        row = next(csv.DictReader(handle))
    return row["path"], row["pdq_hex"]
