"""The matching commands through the root ``opschub`` app (typer's CliRunner)."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import typer
from typer.testing import CliRunner

runner = CliRunner()


def invoke(app: typer.Typer, *args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def jsonl(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def read_hashes(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def distance(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def test_match_hashes_equals_brute_force(cli_app: typer.Typer, pdq_reference: Path) -> None:
    haystack = pdq_reference / "haystack.txt"
    needles = pdq_reference / "needles.txt"
    code, _, err = invoke(cli_app, "lists", "import", "hay", haystack, "--label", "h")
    assert code == 0, err
    assert "1350 added" in err
    code, out, err = invoke(cli_app, "match", "--list", "hay", "--hashes", needles)
    assert code == 0, err
    results = jsonl(out)
    hay = read_hashes(haystack)
    assert [r["query"] for r in results] == read_hashes(needles)
    total = 0
    for result in results:
        want = {(h, distance(str(result["query"]), h)) for h in hay}
        want = {(h, d) for h, d in want if d <= 31}
        got = {(m["hash"], m["distance"]) for m in result["matches"]}  # type: ignore[union-attr]
        assert got == want
        total += len(got)
        for m in result["matches"]:  # type: ignore[union-attr]
            assert set(m) >= {"list", "hash", "label", "distance", "transform"}
            assert m["list"] == "hay" and m["label"] == "h"
    assert total > 100  # the reference data is built to have near neighbours

    code, out, _ = invoke(
        cli_app, "match", "--list", "hay", "--hashes", needles, "--threshold", "10"
    )
    assert code == 0
    for result in jsonl(out):
        assert all(m["distance"] <= 10 for m in result["matches"])  # type: ignore[union-attr]


def test_match_images_reports_the_transform(
    cli_app: typer.Typer, pdq_reference: Path, tmp_path: Path
) -> None:
    expected = {
        row["path"]: row["pdq_hex"]
        for row in csv.DictReader((pdq_reference / "expected.csv").open())
    }
    listed = tmp_path / "bridge.csv"
    listed.write_text(
        f"hash_type,hash,label\npdq,{expected['images/dih/bridge-1-original.jpg']},bridge\n"
    )
    assert invoke(cli_app, "lists", "import", "dih", listed)[0] == 0
    code, out, err = invoke(cli_app, "match", "--list", "dih", pdq_reference / "images" / "dih")
    assert code == 0, err
    results = {Path(str(r["query"])).name: r for r in jsonl(out)}
    assert len(results) == 8
    for name, result in results.items():
        matches = result["matches"]
        assert matches, name  # every rotation and mirror image matches
        best = matches[0]  # type: ignore[index]
        assert best["distance"] <= 31 and best["label"] == "bridge"
        if name == "bridge-1-original.jpg":
            assert best["transform"] == "original"
        else:
            assert best["transform"] != "original"
        assert result["sha256"] and result["pdq"]
    # Without the dihedral variants the rotated copy does not match.
    code, out, _ = invoke(
        cli_app,
        "match",
        "--list",
        "dih",
        "--no-dihedral",
        pdq_reference / "images" / "dih" / "bridge-2-rotate-90.jpg",
    )
    assert jsonl(out)[0]["matches"] == []


def test_hash_command(cli_app: typer.Typer, pdq_reference: Path, tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    shutil.copy(pdq_reference / "images" / "misc" / "c.png", folder / "c.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    code, out, err = invoke(cli_app, "hash", folder, "--workers", "1")
    assert code == 1  # a file could not be hashed
    records = {Path(str(r["path"])).name: r for r in jsonl(out)}
    assert set(records["c.png"]) == {"path", "sha256", "md5", "sha1", "pdq", "quality", "error"}
    assert records["c.png"]["error"] is None and len(str(records["c.png"]["pdq"])) == 64
    assert records["broken.jpg"]["error"]
    assert "1 of 2 files could not be hashed" in err

    code, out, _ = invoke(cli_app, "hash", folder / "c.png", "--format", "table")
    assert code == 0 and "quality" in out and records["c.png"]["sha256"][:8] in out
    assert invoke(cli_app, "hash", tmp_path / "nothing-here")[0] in (1, 2)


def test_lists_lifecycle(cli_app: typer.Typer, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    hexes = [rng.integers(0, 256, 16, dtype=np.uint8).tobytes().hex() for _ in range(5)]
    source = tmp_path / "md5.txt"
    source.write_text("\n".join(hexes) + "\n")
    code, _, err = invoke(
        cli_app, "lists", "import", "m", source, "--format", "lines", "--hash-type", "md5",
        "--source", "Hotline A", "--sharing", "law enforcement only", "--version", "2024-05",
    )  # fmt: skip
    assert code == 0, err
    code, out, _ = invoke(cli_app, "lists", "show", "--json")
    info = jsonl(out)[0]
    assert info["name"] == "m" and info["counts"] == {"md5": 5}
    assert info["source"] == "Hotline A" and info["version"] == "2024-05"
    code, out, _ = invoke(cli_app, "lists", "show", "m")
    assert code == 0 and "Hotline A" in out

    exported = tmp_path / "out.csv"
    code, _, _ = invoke(cli_app, "lists", "export", "m", "--format", "csv", "--out", exported)
    assert code == 0
    rows = list(csv.DictReader(exported.open()))
    assert sorted(r["hash"] for r in rows) == sorted(hexes)
    code, out, _ = invoke(cli_app, "lists", "export", "m", "--format", "lines")
    assert sorted(out.split()) == sorted(hexes)
    code, out, err = invoke(cli_app, "lists", "export", "m", "--format", "vics")
    assert len(json.loads(out)["value"]) == 5

    code, _, err = invoke(cli_app, "lists", "remove", "m")
    assert code == 0
    code, _, err = invoke(cli_app, "lists", "show", "m")
    assert code == 2 and "no hash list named 'm'" in err


def test_invalid_file_is_reported_and_nothing_imported(
    cli_app: typer.Typer, tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "hash_type,hash,label\n"
        "md5,adebf3fa3c9be7f73825e1cb9e2dea09,ok\n"
        "md5,adebf3fa3c9be7f73825e1cb9e2dea0,short\n"
        "crc,adebf3fa3c9be7f73825e1cb9e2dea09,type\n"
    )
    code, _, err = invoke(cli_app, "lists", "import", "bad", path)
    assert code == 1
    assert f"{path}: line 3: wrong length for md5: 31 hex digits, expected 32" in err
    assert f"{path}: line 4: unknown hash type 'crc'" in err
    assert "nothing imported" in err
    assert invoke(cli_app, "lists", "show", "bad")[0] == 2

    code, _, err = invoke(cli_app, "lists", "import", "bad", path, "--skip-invalid")
    assert code == 0
    assert "1 added" in err and "2 invalid lines skipped" in err


def test_usage_errors_exit_2(cli_app: typer.Typer, tmp_path: Path) -> None:
    hashes = tmp_path / "h.txt"
    hashes.write_text("adebf3fa3c9be7f73825e1cb9e2dea09\n")
    assert invoke(cli_app, "match", "--list", "nope", "--hashes", hashes)[0] == 2
    list_file = tmp_path / "l.txt"
    list_file.write_text("adebf3fa3c9be7f73825e1cb9e2dea09\n")
    invoke(cli_app, "lists", "import", "l", list_file, "--hash-type", "md5")
    assert invoke(cli_app, "match", "--list", "l", "--hashes", hashes, "--threshold", "65")[0] == 2
    assert invoke(cli_app, "match", "--list", "l")[0] == 2  # neither --hashes nor paths
    assert invoke(cli_app, "lists", "import", "l", tmp_path / "missing.txt")[0] == 2
    assert invoke(cli_app, "lists", "import", "l", list_file, "--format", "xml")[0] == 2
    assert invoke(cli_app, "lists", "import", "../x", list_file)[0] == 2


def test_match_hash_file_with_bad_lines(cli_app: typer.Typer, tmp_path: Path) -> None:
    md5 = "adebf3fa3c9be7f73825e1cb9e2dea09"
    list_file = tmp_path / "l.txt"
    list_file.write_text(md5 + "\n")
    invoke(cli_app, "lists", "import", "l", list_file, "--hash-type", "md5")
    queries = tmp_path / "q.txt"
    queries.write_text(
        f"{md5}\nxyz\n" + json.dumps({"path": "a.jpg", "md5": md5, "pdq": None}) + "\n"
    )
    code, out, err = invoke(cli_app, "match", "--hashes", queries, "--format", "jsonl")
    assert code == 1
    assert f"{queries}: line 2:" in err
    results = jsonl(out)
    assert [r["query"] for r in results] == [md5, "a.jpg"]
    assert all(r["matches"][0]["hash"] == md5 for r in results)  # type: ignore[index]


def test_module_entry_point_and_light_import() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "opschub.matching", "lists", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and "import" in done.stdout
    probe = (
        "import sys, opschub.matching.cli; "
        "heavy = ('numpy', 'PIL', 'numba', 'dask', 'distributed'); "
        "print([m for m in heavy if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_best_match_prefers_the_untransformed_image() -> None:
    from opschub.matching.matcher import best_per_entry
    from opschub.matching.store import Match

    found = [
        Match("l", "pdq", "aa", None, 5, "rotate180"),
        Match("l", "pdq", "aa", None, 20, "original"),
        Match("l", "pdq", "bb", None, 9, "trimmed+original"),
        Match("l", "pdq", "bb", None, 7, "flipx"),
        Match("l", "sha256", "cc", None, 0, None),
    ]
    best = {(m.hash, m.distance, m.transform) for m in best_per_entry(found)}
    assert best == {("aa", 20, "original"), ("bb", 7, "flipx"), ("cc", 0, None)}


def test_match_generated_sets_against_brute_force(cli_app: typer.Typer, tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    entries = rng.integers(0, 256, size=(800, 32), dtype=np.uint8)
    queries = rng.integers(0, 256, size=(40, 32), dtype=np.uint8)
    planted = []
    for i in range(41):  # neighbours at every distance 0..40
        bits = np.unpackbits(queries[i % 40])
        bits[rng.choice(256, size=i, replace=False)] ^= 1
        planted.append(np.packbits(bits))
    entries = np.concatenate([entries, np.array(planted)])
    list_a, list_b = tmp_path / "a.jsonl", tmp_path / "b.csv"
    list_a.write_text(
        "".join(
            json.dumps({"hash_type": "pdq", "hash": e.tobytes().hex(), "label": f"a{i}"}) + "\n"
            for i, e in enumerate(entries[::2])
        )
    )
    list_b.write_text(
        "hash_type,hash,label\n"
        + "".join(f"pdq,{e.tobytes().hex()},b{i}\n" for i, e in enumerate(entries[1::2]))
    )
    assert invoke(cli_app, "lists", "import", "a", list_a)[0] == 0
    assert invoke(cli_app, "lists", "import", "b", list_b)[0] == 0
    query_file = tmp_path / "q.txt"
    query_file.write_text("".join(q.tobytes().hex() + "\n" for q in queries))
    for threshold in (31, 20, 64):
        code, out, _ = invoke(
            cli_app, "match", "--hashes", query_file, "--threshold", str(threshold)
        )
        assert code == 0
        for q, result in zip(queries, jsonl(out), strict=True):
            got = {(m["list"], m["hash"], m["distance"]) for m in result["matches"]}  # type: ignore[union-attr]
            want = set()
            for i, e in enumerate(entries):
                d = int(np.unpackbits(q ^ e).sum())
                if d <= threshold:
                    want.add(("a" if i % 2 == 0 else "b", e.tobytes().hex(), d))
            assert got == want


def test_import_threatexchange_and_vics_then_export(cli_app: typer.Typer, tmp_path: Path) -> None:
    md5 = "adebf3fa3c9be7f73825e1cb9e2dea09"
    sha1 = "2b037f69c566dfdb3a5a79e5360d085959bdde4c"
    pdq = "f8f8f0cce0f4e84d0e370a22028f67f0b36e2ed596623e1d33e6339c4e9c9b22"
    tx = tmp_path / "tx.csv"
    tx.write_text(
        "signal_type,signal_str,collab,category,tags\n"
        f"pdq,{pdq},Sample Signals,TRUE_POSITIVE,t1 t2\n"
        f"video_md5,{'0' * 32},Sample Signals,FALSE_POSITIVE,\n"
    )
    code, _, err = invoke(cli_app, "lists", "import", "mixed", tx, "--format", "tx-csv")
    assert code == 0 and "1 added" in err and "1 false positives not imported" in err
    vics = tmp_path / "v.json"
    vics.write_text(
        json.dumps({"value": [{"MediaID": 1, "Category": 1, "MD5": md5.upper(), "SHA1": sha1}]})
    )
    code, _, err = invoke(cli_app, "lists", "import", "mixed", vics)
    assert code == 0 and "2 added" in err
    code, out, _ = invoke(cli_app, "lists", "show", "mixed", "--json")
    assert jsonl(out)[0]["counts"] == {"pdq": 1, "md5": 1, "sha1": 1}

    code, out, err = invoke(cli_app, "lists", "export", "mixed", "--format", "lines")
    assert code == 2 and out == "" and "one hash type" in err
    code, out, err = invoke(cli_app, "lists", "export", "mixed", "--format", "vics")
    assert code == 0 and "1 entries not exported" in err
    media = json.loads(out)["value"]
    assert {m.get("MD5", m.get("SHA1")) for m in media} == {md5.upper(), sha1.upper()}
    code, out, _ = invoke(cli_app, "lists", "export", "mixed", "--format", "tx-csv")
    assert out.splitlines()[0] == "signal_type,signal_str,collab,category,tags"
    assert f"pdq,{pdq},,TRUE_POSITIVE,t1 t2" in out

    queries = tmp_path / "q.jsonl"
    queries.write_text(json.dumps({"hash_type": "md5", "hash": md5}) + "\n")
    code, out, _ = invoke(cli_app, "match", "--list", "mixed", "--hashes", queries)
    match = jsonl(out)[0]["matches"][0]  # type: ignore[index]
    assert (match["hash_type"], match["category"], match["distance"]) == ("md5", "1", 0)


def test_hash_output_keeps_the_file_order(cli_app: typer.Typer, pdq_reference: Path) -> None:
    folder = pdq_reference / "images"
    code, out, _ = invoke(cli_app, "hash", folder / "misc", folder / "dih", "--workers", "2")
    assert code == 0
    paths = [Path(str(r["path"])) for r in jsonl(out)]
    expected = sorted((folder / "misc").iterdir()) + sorted((folder / "dih").iterdir())
    assert paths == expected
