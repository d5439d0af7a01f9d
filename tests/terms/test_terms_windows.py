"""Big texts are checked in overlapping windows: nothing lost, nothing twice."""

from __future__ import annotations

import pytest

from opschub.terms import check, checker

PARAGRAPH = (
    "{n}. The {title} binds the State party; child pornography and 儿童卖淫 remain, and "
    "child\nprostitution too. 儿童色\n情制品。\n"
)
TITLE = (
    "Optional Protocol to the Convention on the Rights of the Child on the sale of children, "
    "child prostitution and child pornography"
)


def test_windows_do_not_change_the_findings(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "".join(PARAGRAPH.format(n=n, title=TITLE) for n in range(60))
    whole = [(f.start, f.end, f.rule) for f in check(text)]
    assert len(whole) == 60 * 4
    monkeypatch.setattr(checker, "CHUNK", 997)  # windows cut through terms and titles
    windowed = [(f.start, f.end, f.rule) for f in check(text)]
    assert windowed == whole


def test_compiled_and_python_paths_give_the_same_findings(monkeypatch: pytest.MonkeyPatch) -> None:
    from opschub.terms import normalize

    text = "".join(PARAGRAPH.format(n=n, title=TITLE) for n in range(1200))
    assert len(text) > normalize.NUMBA_THRESHOLD
    compiled = [(f.start, f.end, f.rule, f.severity) for f in check(text)]
    monkeypatch.setattr(normalize, "NUMBA_THRESHOLD", 10**12)
    python = [(f.start, f.end, f.rule, f.severity) for f in check(text)]
    assert compiled == python
    assert len(compiled) == 1200 * 4
