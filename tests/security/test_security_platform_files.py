"""Attack: another account on the host reads the database, its WAL or the hash lists.

The data directory used to be created 0755 and the files in it 0644.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from opschub.config import Settings
from opschub.db import Database


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0o022)  # what most systems start processes with
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _modes(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): oct(_mode(path)) for path in sorted([root, *root.rglob("*")])
    }


@pytest.mark.usefixtures("permissive_umask")
def test_data_directory_is_private_even_with_a_permissive_umask(tmp_path: Path) -> None:
    fresh = Settings(data_dir=tmp_path / "new" / "var")
    assert _mode(fresh.ensure_data_dir()) == 0o700
    old = tmp_path / "old"
    old.mkdir(mode=0o755)
    old.chmod(0o755)
    assert _mode(Settings(data_dir=old).ensure_data_dir()) == 0o700


@pytest.mark.usefixtures("permissive_umask")
def test_sqlite_database_wal_and_shm_are_private(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    database = Database(f"sqlite:///{path}")
    try:
        with database.engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        with database.engine.connect() as conn:  # keeps the WAL and the shared memory open
            assert conn.execute(text("SELECT x FROM t")).scalar() == 1
            files = {p.name: _mode(p) for p in tmp_path.glob("db.sqlite3*")}
    finally:
        database.dispose()
    assert files == {
        "db.sqlite3": 0o600,
        "db.sqlite3-wal": 0o600,
        "db.sqlite3-shm": 0o600,
    }


@pytest.mark.usefixtures("permissive_umask")
def test_a_run_leaves_nothing_in_the_data_directory_that_others_can_read(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSCHUB_")}
    data_dir = tmp_path / "var"
    env["OPSCHUB_DATA_DIR"] = str(data_dir)
    env["OPSCHUB_AUDIT_ANCHOR_DIR"] = str(tmp_path / "anchors")
    for command in (
        ["db", "upgrade"],
        ["user", "ensure-admin"],
        ["demo", "load"],
        ["audit", "anchor"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "opschub", *command],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, (command, done.stderr)
    modes = {**_modes(data_dir), **_modes(tmp_path / "anchors")}
    # The database, the master key, a hash list and its index files, audit checkpoints:
    assert "opschub.sqlite3" in modes and "secret.key" in modes
    assert any(name.startswith("matching/lists/demo/") for name in modes)
    assert any(name.startswith("checkpoint-") for name in _modes(tmp_path / "anchors"))
    for root in (data_dir, tmp_path / "anchors"):
        for path in [root, *root.rglob("*")]:
            expected = 0o700 if path.is_dir() else 0o600
            assert _mode(path) == expected, (str(path), oct(_mode(path)))
