"""Fixtures for the matching tests: reference data, a store, the CLI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import typer

if TYPE_CHECKING:
    from opschub.matching.store import HashListStore

REPO = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    return Path(os.environ.get("OPSCHUB_SHARED_DIR") or REPO.parent / "shared")


@pytest.fixture(scope="session")
def pdq_reference() -> Path:
    path = shared_dir() / "pdq-reference"
    if not (path / "haystack.txt").exists():
        pytest.fail(f"PDQ reference data missing at {path} (set OPSCHUB_SHARED_DIR)")
    return path


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def store(store_root: Path) -> HashListStore:
    from opschub.matching.store import HashListStore

    return HashListStore(store_root)


@pytest.fixture
def cli_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[typer.Typer]:
    """The root ``opschub`` app with OPSCHUB_DATA_DIR in tmp_path."""
    from opschub import config
    from opschub.cli import app

    monkeypatch.setenv("OPSCHUB_DATA_DIR", str(tmp_path / "data"))
    config.get_settings.cache_clear()
    yield app
    config.get_settings.cache_clear()
