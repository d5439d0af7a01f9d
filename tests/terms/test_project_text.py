"""The checker applied to opschub itself: every template, translation catalogue and document
of the project is free of terms to avoid. New files are picked up by the globs below."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from opschub.terms import check
from opschub.terms.sources import SourceError, read_source

REPO = Path(__file__).resolve().parents[2]
PATTERNS = ("src/opschub/**/templates/**/*", "src/opschub/**/*.po", "docs/**/*.md", "README.md")


def project_files() -> list[Path]:
    files = {p for pattern in PATTERNS for p in REPO.glob(pattern) if p.is_file()}
    return sorted(files)


def test_the_globs_find_the_documents() -> None:
    names = {p.relative_to(REPO).as_posix() for p in project_files()}
    assert "docs/terms.md" in names


@pytest.mark.parametrize("path", project_files(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_no_term_to_avoid(path: Path) -> None:
    try:
        source = read_source(str(path))
    except SourceError as exc:
        if exc.empty:
            return
        raise
    findings = check(source.text, markup=source.markup, po=source.po)
    avoid = [
        f"{path.relative_to(REPO)}:{f.line}:{f.col} {f.term!r} -> {' / '.join(f.preferred)}"
        for f in findings
        if f.severity == "avoid"
    ]
    assert not avoid, "terms to avoid:\n" + "\n".join(avoid)


def python_files() -> list[Path]:
    terms_package = REPO / "src/opschub/terms"
    return sorted(p for p in (REPO / "src/opschub").rglob("*.py") if terms_package not in p.parents)


@pytest.mark.parametrize("path", python_files(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_no_term_to_avoid_in_python_strings(path: Path) -> None:
    """Messages and labels written in code (CLI output, taxonomy labels, errors) too."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    avoid = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for f in check(node.value, markup=False):
                if f.severity == "avoid":
                    avoid.append(f"{path.relative_to(REPO)}:{node.lineno} {f.term!r}")
    assert not avoid, "terms to avoid:\n" + "\n".join(avoid)
