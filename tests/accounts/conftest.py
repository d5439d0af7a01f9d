"""Accounts tests hash passwords with cheap argon2 parameters (see tests/factories.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from factories import FAST_HASHER

from opschub.accounts import passwords


@pytest.fixture(autouse=True)
def fast_hasher() -> Iterator[None]:
    previous = passwords.use_hasher(FAST_HASHER)
    yield
    passwords.use_hasher(previous)
