"""Batch scans: results file, resuming, summary, and the same job on a Dask cluster."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from opschub.matching.scan import completed_paths, run_scan
from opschub.matching.store import HashListStore, UnknownList


@pytest.fixture
def tree(tmp_path: Path, pdq_reference: Path) -> Path:
    """A small tree: the 8 dihedral bridge photos, two other photos and a broken file."""
    root = tmp_path / "tree"
    shutil.copytree(pdq_reference / "images" / "dih", root / "dih")
    (root / "other").mkdir()
    for name in ("q0003.jpg", "q0004.jpg"):
        shutil.copy(pdq_reference / "images" / "labelme-subset" / name, root / "other" / name)
    (root / "other" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    return root


@pytest.fixture
def bridge_store(store: HashListStore, pdq_reference: Path, tmp_path: Path) -> HashListStore:
    expected = {
        row["path"]: row["pdq_hex"]
        for row in csv.DictReader((pdq_reference / "expected.csv").open())
    }
    path = tmp_path / "list.txt"
    path.write_text(expected["images/dih/bridge-1-original.jpg"] + "\n")
    store.import_file("bridge", path, label="bridge")
    return store


def records(out: Path) -> dict[str, dict[str, object]]:
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    return {Path(str(r["path"])).name: r for r in lines}


def test_scan_and_resume(bridge_store: HashListStore, tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    summary = run_scan(bridge_store, [tree], lists=["bridge"], out=out, workers=1)
    assert (summary.files, summary.scanned, summary.already_done) == (11, 11, 0)
    assert summary.errors == 1
    assert summary.matched_files == 8
    found = records(out)
    assert set(found) == {p.name for p in tree.rglob("*") if p.is_file()}
    assert found["broken.png"]["error"] and found["broken.png"]["matches"] == []
    assert found["q0003.jpg"]["matches"] == []
    rotated = found["bridge-2-rotate-90.jpg"]["matches"][0]  # type: ignore[index]
    assert rotated["label"] == "bridge" and rotated["transform"] != "original"
    assert set(found["q0003.jpg"]) >= {"path", "sha256", "md5", "sha1", "pdq", "quality"}

    again = run_scan(bridge_store, [tree], lists=["bridge"], out=out, workers=1)
    assert (again.scanned, again.already_done) == (0, 11)
    assert len(out.read_text().splitlines()) == 11


def test_resume_after_a_torn_line(bridge_store: HashListStore, tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    run_scan(bridge_store, [tree / "dih"], lists=["bridge"], out=out, workers=1)
    lines = out.read_text().splitlines(keepends=True)
    # Killed while writing the 4th record: three whole lines and half a line remain.
    out.write_text("".join(lines[:3]) + lines[3][:20])
    assert len(completed_paths(out)) == 3
    assert out.read_text() == "".join(lines[:3])
    summary = run_scan(bridge_store, [tree / "dih"], lists=["bridge"], out=out, workers=1)
    assert (summary.scanned, summary.already_done) == (5, 3)
    assert sorted(records(out)) == sorted(p.name for p in (tree / "dih").iterdir())


def test_unknown_list_fails_before_work(store: HashListStore, tree: Path, tmp_path: Path) -> None:
    with pytest.raises(UnknownList):
        run_scan(store, [tree], lists=["nope"], out=tmp_path / "r.jsonl", workers=1)
    assert not (tmp_path / "r.jsonl").exists()


def test_scan_on_a_dask_cluster(bridge_store: HashListStore, tree: Path, tmp_path: Path) -> None:
    from distributed import LocalCluster

    local = run_scan(bridge_store, [tree], lists=["bridge"], out=tmp_path / "l.jsonl", workers=1)
    with LocalCluster(
        processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
    ) as cluster:
        summary = run_scan(
            bridge_store, [tree], lists=["bridge"], out=tmp_path / "d.jsonl", scheduler=cluster
        )
    assert (summary.scanned, summary.errors, summary.matched_files) == (
        local.scanned,
        local.errors,
        local.matched_files,
    )
    assert records(tmp_path / "d.jsonl") == records(tmp_path / "l.jsonl")


def test_scan_command_with_scheduler_address(
    cli_app: typer.Typer, tree: Path, tmp_path: Path, pdq_reference: Path
) -> None:
    from distributed import LocalCluster

    runner = CliRunner()
    hay = pdq_reference / "haystack.txt"
    assert runner.invoke(cli_app, ["lists", "import", "hay", str(hay)]).exit_code == 0
    out = tmp_path / "scan.jsonl"
    with LocalCluster(
        processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        args = ["scan", str(tree / "other"), "--list", "hay", "--out", str(out)]
        result = runner.invoke(cli_app, [*args, "--scheduler", cluster.scheduler_address])
    assert result.exit_code == 1  # broken.png could not be hashed
    assert "3 files: 3 scanned, 0 already in" in result.stderr
    assert "1 errors" in result.stderr
    again = runner.invoke(cli_app, [*args, "--workers", "1"])
    assert again.exit_code == 0
    assert "3 files: 0 scanned, 3 already in" in again.stderr
    assert (
        runner.invoke(cli_app, ["scan", str(tree), "--list", "x", "--out", str(out)]).exit_code == 2
    )
