"""A command run on a database that was never migrated says what to do instead of printing SQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("command", [["jobs", "list"], ["audit", "verify"]])
def test_unmigrated_database_names_the_fix(tmp_path: Path, command: list[str]) -> None:
    env = {**os.environ, "OPSCHUB_DATA_DIR": str(tmp_path / "var")}
    env.pop("OPSCHUB_DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "opschub", *command],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 2
    assert "opschub db upgrade" in result.stderr
    assert "Traceback" not in result.stderr
    assert "SELECT" not in result.stderr
