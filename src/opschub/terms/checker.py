"""``check(text)``: the findings in a text, with exact positions in the original text."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from opschub.terms.context import in_title_marks, is_mention, parse_suppressions
from opschub.terms.matcher import ALL, EN, ZH, Key, LangSet, matcher_for
from opschub.terms.normalize import normalize
from opschub.terms.termbase import Severity

CHUNK = 1_000_000  # characters per window; bounds memory on big inputs
OVERLAP = 4_096  # longer than any key with its separators and markup
_ALNUM = re.compile(r"[a-z0-9\u00c0-\u024f]")


@dataclass(frozen=True, slots=True)
class Finding:
    """One occurrence. ``line``/``col`` are 1-based, ``end_line``/``end_col`` point just past
    the last character (like SARIF); ``start``/``end`` are 0-based offsets into the text."""

    line: int
    col: int
    end_line: int
    end_col: int
    start: int
    end: int
    term: str  # the characters as they are in the text
    form: str  # the term base form that matched
    preferred: tuple[str, ...]
    severity: Severity
    rule: str
    reason: str
    source: str
    lang: str
    fix: str | None  # what --fix writes, None when it must not be fixed automatically

    @property
    def is_mention(self) -> bool:
        return self.severity == "mention"

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "col": self.col,
            "end_line": self.end_line,
            "end_col": self.end_col,
            "term": self.term,
            "preferred": list(self.preferred),
            "severity": self.severity,
            "rule": self.rule,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class CheckResult:
    findings: list[Finding]  # sorted by position; mentions included (severity "mention")
    notes: list[str]  # e.g. a suppression without a reason

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if not f.is_mention]

    @property
    def mentions(self) -> list[Finding]:
        return [f for f in self.findings if f.is_mention]


def langs_for(lang: str) -> LangSet:
    key = lang.lower()
    if key == "auto":
        return ALL
    if key == "en":
        return EN
    if key in ("zh", "zh-hans", "zh-hant", "zh-cn", "zh-tw", "zh-hk"):
        return ZH
    raise ValueError(f"unknown language {lang!r}: use auto, en or zh")


@lru_cache(maxsize=2)
def _converter(config: str) -> Callable[[str], str]:
    import opencc

    converter: Callable[[str], str] = opencc.OpenCC(config).convert
    return converter


def to_simplified(text: str) -> str:
    """OpenCC t2s, keeping every character at its index (so positions stay exact)."""
    t2s = _converter("t2s")
    converted = t2s(text)
    if len(converted) == len(text):
        return converted
    lines = []
    for line in text.splitlines(keepends=True):
        out = t2s(line)
        if len(out) != len(line):  # a phrase changed length: convert one character at a time
            out = "".join(c2 if len(c2 := t2s(c)) == 1 else c for c in line)
        lines.append(out)
    return "".join(lines)


@dataclass(frozen=True, slots=True)
class _Hit:
    start: int
    end: int
    key: Key
    mention: bool
    traditional: bool


def _windows(n: int) -> Iterator[tuple[int, int, int, int]]:
    start = 0
    while True:
        stop = min(n, start + CHUNK)
        yield max(0, start - OVERLAP), min(n, stop + OVERLAP), start, stop
        if stop >= n:
            return
        start = stop


def _scan(text: str, langs: LangSet, markup: bool, po: bool) -> Iterator[_Hit]:
    matcher = matcher_for(langs)
    trad_re = (
        re.compile("[" + re.escape("".join(sorted(matcher.trad_chars))) + "]")
        if matcher.trad_chars
        else None
    )
    for w0, w1, a, b in _windows(len(text)):
        window = text[w0:w1]
        traditional = bool(trad_re and trad_re.search(window))
        if traditional:
            window = to_simplified(window)
        norm = normalize(window, markup=markup, po=po)
        normal, pos = norm.text, norm.pos
        for end_index, key in matcher.automaton.iter_long(normal):
            if key.kind != "term":
                continue
            s, e = end_index - key.length + 1, end_index + 1
            start = w0 + int(pos[s])
            if not a <= start < b:
                continue
            if key.latin and (
                (s > 0 and _ALNUM.match(normal, s - 1))
                or (e < len(normal) and _ALNUM.match(normal, e))
            ):
                continue
            form = key.form
            if form is not None:
                if form.before is not None and not form.before.search(normal[max(0, s - 30) : s]):
                    continue
                if form.after is not None and not form.after.search(normal[e : e + 30]):
                    continue
            if not key.latin and in_title_marks(normal, s, e):
                continue
            yield _Hit(
                start,
                w0 + int(pos[e - 1]) + 1,
                key,
                is_mention(normal, s, e, key.latin),
                traditional,
            )


def _match_case(original: str, replacement: str) -> str:
    letters = [c for c in original if c.isalpha() and c.isascii()]
    if not letters:
        return replacement
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return replacement.upper()
    if letters[0].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def _fix_for(hit: _Hit, original: str) -> str | None:
    entry, form = hit.key.entry, hit.key.form
    if hit.mention or entry is None or form is None:
        return None
    fix = form.fix if form.fix is not None else entry.fix
    if not fix:
        return None
    if hit.key.plural and form.plural is None:
        if entry.fix_plural:
            fix = entry.fix_plural
        elif entry.lang == "en" and not original.rstrip("'’").lower().endswith("ies"):
            # the plural of a mass noun ("child pornographies") does not occur in real text
            return None
    elif hit.key.plural and entry.fix_plural:
        fix = entry.fix_plural
    if hit.key.possessive:
        return None  # "a child exploited in prostitution's" reads worse than a manual edit
    if entry.lang == "en":
        return _match_case(original, fix)
    if hit.traditional and to_simplified(original) != original:
        fix = _converter("s2t")(fix)
    return fix


def analyse(
    text: str,
    lang: str = "auto",
    locale: str = "en",
    *,
    markup: bool = True,
    po: bool = False,
) -> CheckResult:
    """Findings and notes for ``text``; see :func:`check`."""
    langs = langs_for(lang)
    if text.startswith("\ufeff"):
        text = " " + text[1:]  # same length, so positions stay right; a BOM is not text
    hits = sorted(_scan(text, langs, markup, po), key=lambda h: (h.start, h.end))
    suppressions = parse_suppressions(text)
    findings: list[Finding] = []
    line, line_start, cursor = 1, 0, 0
    for hit in hits:
        line += text.count("\n", cursor, hit.start)
        cursor = hit.start
        line_start = text.rfind("\n", 0, hit.start) + 1
        last = hit.end - 1
        end_line = line + text.count("\n", hit.start, last)
        end_col = last - (text.rfind("\n", 0, last) + 1) + 2
        entry, form = hit.key.entry, hit.key.form
        assert entry is not None and form is not None
        if suppressions.silences(line, entry.rule):
            continue
        original = text[hit.start : hit.end]
        findings.append(
            Finding(
                line=line,
                col=hit.start - line_start + 1,
                end_line=end_line,
                end_col=end_col,
                start=hit.start,
                end=hit.end,
                term=original,
                form=form.text,
                preferred=entry.preferred,
                severity="mention" if hit.mention else entry.severity,
                rule=entry.rule,
                reason=entry.reason(locale),
                source=entry.source,
                lang=entry.lang,
                fix=_fix_for(hit, original),
            )
        )
    return CheckResult(findings, suppressions.notes)


def check(
    text: str,
    lang: str = "auto",
    locale: str = "en",
    *,
    markup: bool = True,
    po: bool = False,
) -> list[Finding]:
    """Every avoided or use-with-care term in ``text``, and every term discussed as a term
    (severity ``"mention"``), sorted by position. Titles of legal instruments, text inside
    《…》 and suppressed lines are not findings.

    ``lang``: ``"auto"`` (both), ``"en"`` or ``"zh"`` (Simplified and Traditional).
    ``locale``: language of ``Finding.reason`` (``"en"`` or ``"zh-Hans"``).
    ``markup``: strip HTML/Markdown markup (keeping positions). ``po``: join gettext
    catalogue continuation lines.
    """
    return analyse(text, lang, locale, markup=markup, po=po).findings
