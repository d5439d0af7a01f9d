"""The normaliser: both execution paths agree, and every character maps back."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from opschub.terms.normalize import normalize, normalize_compiled

ALPHABET = st.sampled_from(
    [
        *"child porngaphy-_ \n\r\t<>/b&;*`~\"'“”",
        "&nbsp;",
        "<em>",
        "\u00ad",
        "儿",
        "童",
        "色",
        "　",
        "Ｃ",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(ALPHABET, max_size=60).map("".join), st.booleans(), st.booleans())
def test_python_and_numba_paths_agree(text: str, markup: bool, po: bool) -> None:
    a = normalize(text, markup=markup, po=po)
    b = normalize_compiled(text, markup=markup, po=po)
    assert a.text == b.text
    assert list(a.pos) == [int(p) for p in b.pos]


@settings(max_examples=200, deadline=None)
@given(st.lists(ALPHABET, max_size=60).map("".join))
def test_positions_increase_and_letters_map_to_themselves(text: str) -> None:
    norm = normalize(text)
    positions = list(norm.pos)
    assert positions == sorted(positions)
    assert len(set(positions)) == len(positions)
    for ch, p in zip(norm.text, positions, strict=True):
        if ch.isalpha() and ch.isascii():
            assert unicodedata.normalize("NFKC", text[p]).lower() == ch


def test_examples() -> None:
    assert normalize("Child-\nPorno-\n  graphy").text == "childpornography"
    assert normalize("child \r\n pornography").text == "child pornography"
    assert normalize("儿童色\n  情制品").text == "儿童色情制品"
    assert normalize("“儿童”，、").text == '"儿童",,'
    assert normalize("> child\n> pornography").text == " child pornography"
    assert normalize('msgid "child "\n"pornography"', po=True).text == 'msgid "child pornography '
    assert normalize("a <b>x</b> 5 < 6 & 7").text == "a x 5 < 6 & 7"
