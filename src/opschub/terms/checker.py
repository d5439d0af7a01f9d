"""``check(text)``: the findings in a text, with exact positions in the original text."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter
from typing import Any

from opschub.terms.context import in_title_marks, is_mention, parse_suppressions
from opschub.terms.matcher import ALL, EN, ZH, Key, LangSet, matcher_for
from opschub.terms.normalize import normalize
from opschub.terms.termbase import Severity

CHUNK = 1_000_000  # characters per window; bounds memory on big inputs
OVERLAP = 4_096  # longer than any key with its separators and markup
_LETTER = re.compile(r"[a-z\u00c0-\u024f]")  # a digit may be a footnote mark: "pornography12"
# A term written in Title Case next to "Act", "Law"... is part of a law's title, e.g. the
# "Anti-Child Pornography Act of 2009" or an "Act on ... Relating to Child Prostitution ...".
_LAW = r"(?:Act|Law|Code|Decree|Ordinance|Bill|Statute|Directive|Regulation|Convention|Protocol)"
_LINK = r"(?:[A-Z][\w'’]*|of|and|on|the|in|for|to|against|relating|concerning|from|with|or|\d+)"
_LAW_AFTER = re.compile(rf"^(?:[ \t\-,]+{_LINK})*?[ \t\-,]+{_LAW}\b")
_LAW_BEFORE = re.compile(rf"\b{_LAW}(?:[ \t\-,]+{_LINK})*[ \t\-,]+$")


def _title_case(text: str) -> bool:
    words = [w for w in re.split(r"[\s\-]+", text) if w]
    return bool(words) and all(w[0].isupper() for w in words)


def in_law_title(original: str, start: int, end: int) -> bool:
    """``original[start:end]`` is written in Title Case inside the title of a law."""
    if not original[start : start + 1].isupper() or not _title_case(original[start:end]):
        return False
    after = original[end : end + 120]
    before = original[max(0, start - 160) : start]
    return bool(_LAW_AFTER.match(after) or _LAW_BEFORE.search(before))


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
    _key: Key = field(repr=False, compare=False)
    _traditional: bool = field(repr=False, compare=False)

    @property
    def fix(self) -> str | None:
        """What --fix writes here; None when it must not be fixed automatically."""
        return _fix_for(self._key, self.is_mention, self._traditional, self.term)

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


def _inner_terms(automaton: Any, normal: str, s: int, e: int) -> list[tuple[int, int, Key]]:
    """Leftmost-longest term matches inside ``normal[s:e]`` (a title part out of context)."""
    found = [
        (end - key.length + 1, end + 1, key)
        for end, key in automaton.iter(normal, s, e)
        if key.kind == "term" and end - key.length + 1 >= s
    ]
    chosen: list[tuple[int, int, Key]] = []
    for start, stop, key in sorted(found, key=lambda t: (t[0], t[0] - t[1])):
        if not chosen or start >= chosen[-1][1]:
            chosen.append((start, stop, key))
    return chosen


@dataclass(frozen=True, slots=True)
class _Window:
    """One normalised window of the text; only matches starting in [a, b) belong to it."""

    w0: int
    a: int
    b: int
    original: str  # the window's text, as the normalised text was made from it
    normal: str
    pos: Any
    traditional: bool

    def hit(self, s: int, e: int, key: Key) -> _Hit | None:
        normal = self.normal
        start = self.w0 + int(self.pos[s])
        if not self.a <= start < self.b:
            return None
        if key.latin and (
            (s > 0 and _LETTER.match(normal, s - 1))
            or (e < len(normal) and _LETTER.match(normal, e))
        ):
            return None
        form = key.form
        if form is not None:
            if form.before is not None and not form.before.search(normal[max(0, s - 30) : s]):
                return None
            if form.after is not None and not form.after.search(normal[e : e + 30]):
                return None
        if not key.latin and in_title_marks(normal, s, e):
            return None
        end = self.w0 + int(self.pos[e - 1]) + 1
        if key.latin and in_law_title(self.original, start - self.w0, end - self.w0):
            return None
        return _Hit(start, end, key, is_mention(normal, s, e, key.latin), self.traditional)


def _scan(text: str, langs: LangSet, markup: bool, po: bool) -> Iterator[_Hit]:
    matcher = matcher_for(langs)
    trad_re = (
        re.compile("[" + re.escape("".join(sorted(matcher.trad_chars))) + "]")
        if matcher.trad_chars
        else None
    )
    for w0, w1, a, b in _windows(len(text)):
        segment = text[w0:w1]
        traditional = bool(trad_re and trad_re.search(segment))
        if traditional:
            segment = to_simplified(segment)
        norm = normalize(segment, markup=markup, po=po)
        window = _Window(w0, a, b, segment, norm.text, norm.pos, traditional)
        normal = norm.text
        for end_index, key in matcher.automaton.iter_long(normal):
            if key.kind == "allow":
                continue
            s, e = end_index - key.length + 1, end_index + 1
            if key.kind == "title":
                if key.near is None or key.near.search(
                    normal, max(0, s - key.window), min(len(normal), e + key.window)
                ):
                    continue  # a title keeps its words
                inner = _inner_terms(matcher.automaton, normal, s, e)
            else:
                inner = [(s, e, key)]
            for s2, e2, key2 in inner:
                found = window.hit(s2, e2, key2)
                if found is not None:
                    yield found


def _match_case(original: str, replacement: str) -> str:
    letters = [c for c in original if c.isalpha() and c.isascii()]
    if not letters:
        return replacement
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return replacement.upper()
    if letters[0].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def _fix_for(key: Key, mention: bool, traditional: bool, original: str) -> str | None:
    entry, form = key.entry, key.form
    if mention or entry is None or form is None:
        return None
    fix = form.fix if form.fix is not None else entry.fix
    if not fix:
        return None
    if key.plural and form.plural is None:
        if not entry.fix_plural:
            return None  # a plural of a mass noun: no safe replacement
        fix = entry.fix_plural
    elif key.plural and entry.fix_plural:
        fix = entry.fix_plural
    if key.possessive:
        return None  # "a child exploited in prostitution's" reads worse than a manual edit
    if entry.lang == "en":
        return _match_case(original, fix)
    if traditional and to_simplified(original) != original:
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
    hits = sorted(_scan(text, langs, markup, po), key=attrgetter("start", "end"))
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
        if suppressions.active and suppressions.silences(line, entry.rule):
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
                _key=hit.key,
                _traditional=hit.traditional,
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


class TerminologyError(ValueError):
    """Text about to leave the system contains terms to avoid; ``findings`` says where."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        listed = "; ".join(
            f"line {f.line} col {f.col}: {' '.join(f.term.split())!r} -> {f.preferred[0]}"
            for f in findings[:10]
        )
        more = f" and {len(findings) - 10} more" if len(findings) > 10 else ""
        super().__init__(f"terms to avoid: {listed}{more}")


def ensure_clean(
    text: str,
    lang: str = "auto",
    *,
    markup: bool = True,
    fail_on: Severity = "avoid",
) -> list[Finding]:
    """For generators of reports, notices and pages: raise :class:`TerminologyError` if
    ``text`` has a finding of severity ``avoid`` (or also ``use-with-care`` with
    ``fail_on="use-with-care"``); otherwise return the remaining findings (for logging)."""
    levels = {"avoid"} if fail_on == "avoid" else {"avoid", "use-with-care"}
    findings = check(text, lang, markup=markup)
    failing = [f for f in findings if f.severity in levels]
    if failing:
        raise TerminologyError(failing)
    return findings
