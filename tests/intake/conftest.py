"""Intake test helpers: partner tokens, a hash list store in the test's data directory."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from factories import FAST_HASHER
from opschub.accounts import passwords
from opschub.accounts import service as accounts
from opschub.db import Database
from opschub.intake import service
from opschub.matching.store import HashListStore

SHARED = Path(os.environ.get("OPSCHUB_SHARED_DIR", Path(__file__).resolve().parents[3] / "shared"))


@pytest.fixture(autouse=True)
def fast_hasher() -> Iterator[None]:
    previous = passwords.use_hasher(FAST_HASHER)
    yield
    passwords.use_hasher(previous)


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


@pytest.fixture
def partner(database: Database) -> dict[str, str]:
    """Headers of a partner token with reports.submit."""
    _, raw = make_token(database)
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def store() -> HashListStore:
    return service.default_store()


def reference_pdq() -> tuple[str, str]:
    """(image path, PDQ hex) of the first reference image in the shared expected.csv."""
    path = SHARED / "pdq-reference" / "expected.csv"
    if not path.is_file():
        pytest.skip(f"shared PDQ reference data not found at {path}")
    with path.open(newline="") as handle:
        row = next(csv.DictReader(handle))
    return row["path"], row["pdq_hex"]
