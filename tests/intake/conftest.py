"""Intake test helpers: partner tokens, a hash list store in the test's data directory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from intake_helpers import make_token

from factories import FAST_HASHER
from opschub.accounts import passwords
from opschub.db import Database
from opschub.intake import service
from opschub.matching.store import HashListStore


@pytest.fixture(autouse=True)
def fast_hasher() -> Iterator[None]:
    previous = passwords.use_hasher(FAST_HASHER)
    yield
    passwords.use_hasher(previous)


@pytest.fixture
def partner(database: Database) -> dict[str, str]:
    """Headers of a partner token with reports.submit."""
    _, raw = make_token(database)
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def store() -> HashListStore:
    return service.default_store()
