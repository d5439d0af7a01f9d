"""Fixtures shared by the cases tests (the database, app and client are in tests/conftest.py;
an acting case worker is ``factories.create_actor``)."""

from __future__ import annotations

import pytest

from opschub.db import Database
from opschub.orgunits import demo as orgunits_demo


@pytest.fixture
def units(database: Database) -> Database:
    """The database with the demo regions (XA > XA-01 > XA-01-01 ...) that cases are opened in."""
    with database.transaction() as session:
        orgunits_demo.load(session)
    return database
