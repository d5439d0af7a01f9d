"""Expected positions computed independently of the checker."""

from __future__ import annotations

from opschub.terms import Finding


def position(text: str, needle: str, nth: int = 0) -> tuple[int, int, int]:
    """(offset, line, col) of the nth occurrence of needle, 1-based line and column."""
    index = -1
    for _ in range(nth + 1):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    col = index - (text.rfind("\n", 0, index) + 1) + 1
    return index, line, col


def spans(findings: list[Finding]) -> list[tuple[int, int, str, str]]:
    return [(f.line, f.col, f.term, f.severity) for f in findings]


def expect(text: str, needle: str, severity: str, nth: int = 0) -> tuple[int, int, str, str]:
    _, line, col = position(text, needle, nth)
    return (line, col, needle, severity)
