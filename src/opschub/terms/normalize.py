"""Normalisation for matching, with a map back to the original characters.

The matcher looks for keys in a *normalised* copy of the text: lower case, full-width
letters and punctuation folded to ASCII, every quote style folded to ``"`` or ``'``, any run of
whitespace, hyphens, markup tags or line breaks folded to one space, a line break inside a
Chinese term or a hyphenated English word removed, zero-width characters and Markdown
emphasis removed. ``pos[i]`` is the index in the original text of normalised character ``i``,
so every finding points at the exact original characters.

One kernel does it; it runs as plain Python for short texts and compiled with numba for big
ones (the same source, so the two cannot drift apart).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

OTHER, LATIN, CJK, WS, NL, HYPH, DEL, MDMARK = range(8)
SPACE = 32
NUMBA_THRESHOLD = 200_000  # characters; below this, compiling costs more than it saves

_QUOTES_DOUBLE = "“”„‟«»「」『』〝〞〟＂"
_QUOTES_SINGLE = "‘’‚‛＇`´"
_HYPHENS = "-_\u2010\u2011\u2012\u2043\ufe63\uff0d\uff3f"
_DELETED = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_NEWLINES = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
# (entity name with ';', replacement): 0 = a separator, -1 = removed, else a code point
_ENTITIES = (
    ("nbsp;", 0), ("#160;", 0), ("#xa0;", 0), ("shy;", -1), ("#173;", -1), ("quot;", 34),
    ("ldquo;", 34), ("rdquo;", 34), ("#8220;", 34), ("#8221;", 34), ("lsquo;", 39),
    ("rsquo;", 39), ("#8217;", 39), ("apos;", 39), ("#39;", 39), ("amp;", 38),
)  # fmt: skip


def is_cjk(code: int) -> bool:
    return (
        0x3400 <= code <= 0x4DBF
        or 0x4E00 <= code <= 0x9FFF
        or 0xF900 <= code <= 0xFAFF
        or 0x20000 <= code <= 0x2FFFF
    )


@dataclass(frozen=True, slots=True)
class Tables:
    fold: np.ndarray  # uint32[65536]
    cls: np.ndarray  # uint8[65536]
    ent_names: np.ndarray  # int32[n, 8]
    ent_lens: np.ndarray  # int32[n]
    ent_repl: np.ndarray  # int32[n]


def fold_char(ch: str) -> str:
    """The folding of one character (used to build the table and the keys)."""
    if ch in _QUOTES_DOUBLE:
        return '"'
    if ch in _QUOTES_SINGLE:
        return "'"
    if ch == "、":
        return ","
    code = ord(ch)
    if 0xFF01 <= code <= 0xFF5E:  # full-width ASCII
        ch = chr(code - 0xFEE0)
    lower = ch.lower()
    return lower if len(lower) == 1 else ch


@lru_cache(maxsize=1)
def tables() -> Tables:
    fold = np.arange(65536, dtype=np.uint32)
    cls = np.zeros(65536, dtype=np.uint8)
    for code in range(65536):
        if 0xD800 <= code <= 0xDFFF:
            continue
        ch = chr(code)
        folded = fold_char(ch)
        fold[code] = ord(folded)
        if ch in _NEWLINES:
            cls[code] = NL
        elif ch in _HYPHENS:
            cls[code] = HYPH
        elif ch in _DELETED:
            cls[code] = DEL
        elif ch in "*~":
            cls[code] = MDMARK
        elif ch.isspace():
            cls[code] = WS
        elif is_cjk(code):
            cls[code] = CJK
        elif (folded.isascii() and folded.isalnum()) or (
            ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN")
        ):
            cls[code] = LATIN
    fold[ord("`")] = ord("`")  # a backtick is Markdown code, not a quote
    cls[ord("`")] = MDMARK
    names = np.zeros((len(_ENTITIES), 8), dtype=np.int32)
    lens = np.zeros(len(_ENTITIES), dtype=np.int32)
    repl = np.zeros(len(_ENTITIES), dtype=np.int32)
    for i, (name, value) in enumerate(_ENTITIES):
        names[i, : len(name)] = [ord(c) for c in name]
        lens[i] = len(name)
        repl[i] = value
    return Tables(fold, cls, names, lens, repl)


def _kernel(  # one pass over the text on purpose: numba compiles it
    src: Any,
    fold: Any,
    cls: Any,
    ent_names: Any,
    ent_lens: Any,
    ent_repl: Any,
    out: Any,
    pos: Any,
    markup: bool,
    po: bool,
) -> int:
    n = len(src)
    m = 0
    i = 0
    in_run = False
    run_start = 0
    run_nl = False
    run_first_hyph = False
    run_extra_hyph = False
    last = WS
    tag_end = -1  # inside a tag up to here: only quoted attribute values are text
    quote = 0
    while i < n:
        c = src[i]
        if c < 65536:
            k = cls[c]
        elif 0x20000 <= c <= 0x2FFFF:
            k = CJK
        else:
            k = OTHER
        emit = -2  # -2: the character itself; -1: nothing; >= 0: this code point
        width = 1
        inside = i <= tag_end
        if inside:  # alt="...", title="..." are read; names and the rest of the tag are not
            if quote == 0:
                if c == 34 or c == 39:
                    quote = c
                k = WS
            elif c == quote:
                quote = 0
                k = WS
            elif k == DEL or k == MDMARK:  # noqa: SIM109 - numba-friendly
                i += 1
                continue
        elif k == MDMARK:
            if markup:
                i += 1
                continue
            k = OTHER
        elif k == DEL:
            i += 1
            continue
        if inside:
            pass
        elif markup and c == 60 and i + 1 < n:  # '<' starting a tag or comment
            d = src[i + 1]
            if (97 <= d <= 122) or (65 <= d <= 90) or d == 47 or d == 33:
                j = i + 1
                limit = min(n, i + 2000)
                while j < limit and src[j] != 62 and src[j] != 60:
                    j += 1
                if j < limit and src[j] == 62:
                    k = WS
                    tag_end = j
                    quote = 0
        elif markup and c == 38:  # '&' starting an entity
            for e in range(len(ent_lens)):
                length = ent_lens[e]
                if i + length < n:
                    same = True
                    for t in range(length):
                        if src[i + 1 + t] != ent_names[e][t]:
                            same = False
                            break
                    if same:
                        width = length + 1
                        if ent_repl[e] == 0:
                            k = WS
                        elif ent_repl[e] == -1:
                            k = DEL
                        else:
                            emit = ent_repl[e]
                            k = OTHER
                        break
            if k == DEL:
                i += width
                continue
        elif markup and c == 62 and (i == 0 or (in_run and run_nl)):  # Markdown '>' quote
            k = WS
        elif po and c == 34:  # a catalogue string's own quotes at a line's start or end
            if i == 0 or (in_run and run_nl):
                k = WS
            else:
                j = i + 1
                while j < n and (src[j] == 32 or src[j] == 9 or src[j] == 13):
                    j += 1
                if j >= n or src[j] == 10:
                    k = WS
        if k == WS or k == NL or k == HYPH:  # noqa: SIM109 - numba-friendly
            if not in_run:
                in_run = True
                run_start = i
                run_nl = False
                run_first_hyph = k == HYPH
                run_extra_hyph = False
            elif k == HYPH:
                run_extra_hyph = True
            if k == NL:
                run_nl = True
            i += width
            continue
        if emit == -2:
            emit = fold[c] if c < 65536 else c
        if in_run:
            in_run = False
            joined = last == CJK and k == CJK
            hyphenated = run_first_hyph and run_nl and not run_extra_hyph
            # "children,child" and "children , child" match "children, child" (titles)
            comma = emit == 44 or (m > 0 and out[m - 1] == 44)
            if not joined and not comma and not (hyphenated and last == LATIN and k == LATIN):
                out[m] = SPACE
                pos[m] = run_start
                m += 1
        out[m] = emit
        pos[m] = i
        m += 1
        last = k
        i += width
    if in_run:
        out[m] = SPACE
        pos[m] = run_start
        m += 1
    return m


@lru_cache(maxsize=1)
def _compiled() -> Callable[..., int]:
    import numba  # heavy import, only for big texts

    return numba.njit(cache=True, nogil=True)(_kernel)  # type: ignore[no-any-return,unused-ignore]


@lru_cache(maxsize=1)
def _list_tables() -> tuple[list[Any], list[Any], list[Any], list[Any], list[Any]]:
    """The tables as lists: indexing a list is much faster than a numpy array in Python."""
    t = tables()
    return (
        t.fold.tolist(),
        t.cls.tolist(),
        t.ent_names.tolist(),
        t.ent_lens.tolist(),
        t.ent_repl.tolist(),
    )


@dataclass(frozen=True, slots=True)
class Normalized:
    text: str
    pos: Sequence[int] | np.ndarray  # original index of each normalised character


def normalize(text: str, *, markup: bool = True, po: bool = False) -> Normalized:
    """Normalise ``text`` for matching (see the module docstring)."""
    t = tables()
    n = len(text)
    if n >= NUMBA_THRESHOLD:
        src = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        out = np.empty(n + 1, dtype=np.uint32)
        pos = np.empty(n + 1, dtype=np.int64)
        m = _compiled()(
            src, t.fold, t.cls, t.ent_names, t.ent_lens, t.ent_repl, out, pos, markup, po
        )
        normal = out[:m].tobytes().decode("utf-32-le", "surrogatepass")
        return Normalized(normal, pos[:m])
    src_list = [ord(c) for c in text]
    out_list = [0] * (n + 1)
    pos_list = [0] * (n + 1)
    fold, cls, ent_names, ent_lens, ent_repl = _list_tables()
    m = _kernel(src_list, fold, cls, ent_names, ent_lens, ent_repl, out_list, pos_list, markup, po)
    return Normalized("".join(map(chr, out_list[:m])), pos_list[:m])


def normalize_compiled(text: str, *, markup: bool = True, po: bool = False) -> Normalized:
    """The numba path whatever the size (for tests that compare both paths)."""
    t = tables()
    src = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    out = np.empty(len(text) + 1, dtype=np.uint32)
    pos = np.empty(len(text) + 1, dtype=np.int64)
    m = _compiled()(src, t.fold, t.cls, t.ent_names, t.ent_lens, t.ent_repl, out, pos, markup, po)
    return Normalized(out[:m].tobytes().decode("utf-32-le", "surrogatepass"), pos[:m])


def normalize_key(text: str) -> str:
    """How a term base form looks after normalisation (no markup in keys)."""
    return normalize(text, markup=False).text.strip()
