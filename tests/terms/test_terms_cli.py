"""``opschub terms check``: formats, encodings, bad input, output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import docx
from typer.testing import CliRunner

from opschub.cli import app

runner = CliRunner()
EN = "The report mentions child pornography.\nNothing else.\n"


def _pdf(lines: list[str]) -> bytes:
    """A minimal one-page PDF with a text layer (Helvetica, ASCII)."""
    content = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({t}) '" for t in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["terms", "check", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_text_output_and_exit_code(tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    path.write_text(EN, encoding="utf-8")
    code, out, _ = run(str(path))
    assert code == 1
    assert out.startswith(f"{path}:1:21 avoid child pornography -> child sexual abuse material")
    clean = tmp_path / "clean.md"
    clean.write_text("# Child sexual abuse material\n", encoding="utf-8")
    assert run(str(clean))[0] == 0


def test_json_fields(tmp_path: Path) -> None:
    path = tmp_path / "r.txt"
    path.write_text(EN, encoding="utf-8")
    code, out, _ = run("--format", "json", str(path))
    assert code == 1
    assert json.loads(out) == [
        {
            "path": str(path),
            "line": 1,
            "col": 21,
            "end_line": 1,
            "end_col": 38,
            "term": "child pornography",
            "preferred": ["child sexual abuse material", "child sexual exploitation material"],
            "severity": "avoid",
            "rule": "child-pornography",
            "reason": json.loads(out)[0]["reason"],
        }
    ]


def test_sarif(tmp_path: Path) -> None:
    path = tmp_path / "r.txt"
    path.write_text("儿童卖淫\n" + EN, encoding="utf-8")
    code, out, _ = run("--format", "sarif", str(path))
    assert code == 1
    sarif = json.loads(out)
    assert sarif["version"] == "2.1.0"
    run_ = sarif["runs"][0]
    assert run_["columnKind"] == "unicodeCodePoints"
    rule_ids = {r["id"] for r in run_["tool"]["driver"]["rules"]}
    regions = []
    for result in run_["results"]:
        assert result["ruleId"] in rule_ids
        assert result["level"] == "error"
        regions.append(result["locations"][0]["physicalLocation"]["region"])
    assert [(r["startLine"], r["startColumn"], r["endColumn"]) for r in regions] == [
        (1, 1, 5),
        (2, 21, 38),
    ]


def test_encodings(tmp_path: Path) -> None:
    text = "委员会关切儿童色情制品。\nchild prostitution\n"
    files = {
        "utf16.txt": b"\xff\xfe" + text.encode("utf-16-le"),
        "gb.txt": text.encode("gb18030"),
        "bom8.txt": b"\xef\xbb\xbf" + text.encode("utf-8"),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        code, out, err = run("--format", "json", str(tmp_path / name))
        rows = json.loads(out)
        assert code == 1, err
        assert [(r["line"], r["col"], r["term"]) for r in rows] == [
            (1, 6, "儿童色情制品"),
            (2, 1, "child prostitution"),
        ], name


def test_bad_input_gets_a_message_and_the_rest_go_on(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    (tmp_path / "good.txt").write_text(EN, encoding="utf-8")
    names = ["empty.txt", "binary.txt", "broken.pdf", "missing.txt", "good.txt"]
    code, out, err = run(*(str(tmp_path / n) for n in names))
    assert code == 1
    assert "empty.txt: empty file" in err
    assert "binary.txt: binary file" in err
    assert "broken.pdf: unreadable PDF" in err
    assert "missing.txt: cannot read" in err
    assert "good.txt:1:21 avoid" in out
    code, _, _ = run(str(tmp_path / "binary.txt"))
    assert code == 2  # nothing found, but an input could not be checked


def test_docx_and_pdf(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("Introduction")
    document.add_paragraph("Offences of child prostitution and 儿童色情制品.")
    document.save(str(tmp_path / "a.docx"))
    (tmp_path / "b.pdf").write_bytes(_pdf(["First line", "about child sex tourism here"]))
    code, out, _ = run("--format", "json", str(tmp_path / "a.docx"), str(tmp_path / "b.pdf"))
    assert code == 1
    rows = [(Path(r["path"]).name, r["line"], r["col"], r["term"]) for r in json.loads(out)]
    assert rows == [
        ("a.docx", 2, 13, "child prostitution"),
        ("a.docx", 2, 36, "儿童色情制品"),
        ("b.pdf", 2, 7, "child sex tourism"),
    ]


def test_po_continuation_lines(tmp_path: Path) -> None:
    path = tmp_path / "messages.po"
    path.write_text('msgid ""\n"Report child "\n"pornography here"\nmsgstr ""\n', encoding="utf-8")
    code, out, _ = run("--format", "json", str(path))
    assert code == 1
    [row] = json.loads(out)
    assert (row["line"], row["col"], row["end_line"], row["end_col"]) == (2, 9, 3, 13)


def test_stdin_and_fix(tmp_path: Path) -> None:
    code, out, _ = run("--fix", "-", stdin="Child pornography and 雏妓.\n")
    assert out == "Child sexual abuse material and 被利用卖淫的儿童.\n"
    assert code == 0
    path = tmp_path / "gb.txt"
    path.write_bytes("儿童卖淫与 a paedophile\n".encode("gb18030"))
    code, _, _ = run("--fix", str(path))
    assert code == 1  # "paedophile" has no single replacement and remains
    assert path.read_bytes().decode("gb18030") == "在卖淫业中对儿童的性利用与 a paedophile\n"
    assert run("--fail-on", "avoid", str(path))[0] == 0


def test_mentions_do_not_fail(tmp_path: Path) -> None:
    path = tmp_path / "m.md"
    path.write_text('Avoid the term "child pornography".\n', encoding="utf-8")
    code, out, _ = run(str(path))
    assert code == 0
    assert "Mentions (terms discussed as terms; not errors):" in out
    assert f"{path}:1:17 mention child pornography" in out


def test_usage_errors() -> None:
    assert run("--lang", "fr", "-", stdin="x")[0] == 2
    assert run("--format", "xml", "-", stdin="x")[0] == 2
    assert run()[0] == 2


def test_fix_markdown_file_keeps_code_and_quotes(tmp_path: Path) -> None:
    path = tmp_path / "brief.md"
    path.write_text(
        "# Child prostitution\n\nReports of child pornography rose.\n\n"
        "> child pornography, as the witness said\n\n```\nchild pornography\n```\n",
        encoding="utf-8",
    )
    code, out, err = run("--fix", str(path))
    assert "fixed 2 finding(s)" in err
    assert path.read_text(encoding="utf-8") == (
        "# Sexual exploitation of children in prostitution\n\n"
        "Reports of child sexual abuse material rose.\n\n"
        "> child pornography, as the witness said\n\n```\nchild pornography\n```\n"
    )
    assert code == 1  # the quotation and the code block are reported, not changed
    assert [line.split(" ")[0] for line in out.splitlines()] == [
        f"{path}:5:3",
        f"{path}:8:1",
    ]


def test_html_file(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        '<p>Report <em>child</em>\n<b>pornography</b> <img alt="儿童卖淫"></p>\n', encoding="utf-8"
    )
    code, out, _ = run("--format", "json", str(path))
    assert code == 1
    assert [(r["line"], r["col"], r["end_line"], r["end_col"]) for r in json.loads(out)] == [
        (1, 15, 2, 15),
        (2, 30, 2, 34),
    ]
