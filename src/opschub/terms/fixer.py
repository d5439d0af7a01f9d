"""``fix(text)``: write the preferred term where exactly one fits.

Never touched: mentions (a term discussed as a term), titles (not findings at all),
quotations (someone's words), code (Markdown code spans and blocks, HTML code/pre) and, in a
gettext catalogue, anything but the translations."""

from __future__ import annotations

import re
from bisect import bisect_right

from opschub.terms.checker import Finding, analyse

_CODE = re.compile(
    r"^[ \t]*(```|~~~)[^\n]*\n.*?^[ \t]*\1[ \t]*$"  # fenced code block
    r"|(`+)[^`\n].*?\2"  # inline code span
    r"|<(code|pre|kbd|samp|script|style)\b[^>]*>.*?</\3\s*>",
    re.S | re.M | re.I,
)
_QUOTATIONS = re.compile(
    r"“[^”]*”|„[^“”]*[“”]|「[^」]*」|『[^』]*』|«[^»]*»|‘[^’\n]*’(?![a-z])"
    r"|^[ \t]*>[^\n]*$",  # Markdown block quote
    re.M,
)
_STRAIGHT_QUOTES = re.compile(r'"[^"\n]*"')


def _po_source_spans(text: str) -> list[tuple[int, int]]:
    """In a catalogue only translations (msgstr) are fixed: a changed msgid would no longer
    match the text in the template, and comments are not shown to anyone."""
    spans = []
    protected = False
    offset = 0
    for line in text.splitlines(keepends=True):
        stripped = line.lstrip()
        if stripped.startswith(("msgid", "msgctxt", "#")):
            protected = True
        elif stripped.startswith("msgstr"):
            protected = False
        if protected or stripped.startswith("#"):
            spans.append((offset, offset + len(line)))
        offset += len(line)
    return spans


def protected_spans(text: str, *, po: bool = False) -> list[tuple[int, int]]:
    """Sorted, merged (start, end) spans that --fix must not change."""
    spans = [m.span() for m in _CODE.finditer(text)]
    spans += [m.span() for m in _QUOTATIONS.finditer(text)]
    if po:  # every string is in straight quotes, so those say nothing here
        spans += _po_source_spans(text)
    else:
        spans += [m.span() for m in _STRAIGHT_QUOTES.finditer(text)]
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _inside(spans: list[tuple[int, int]], starts: list[int], finding: Finding) -> bool:
    i = bisect_right(starts, finding.start) - 1
    return i >= 0 and finding.start < spans[i][1]


def fixable(text: str, findings: list[Finding], *, po: bool = False) -> list[Finding]:
    """The findings --fix would change."""
    spans = protected_spans(text, po=po)
    starts = [s for s, _ in spans]
    return [
        f
        for f in findings
        if f.fix is not None and not f.is_mention and not _inside(spans, starts, f)
    ]


def apply_fixes(text: str, findings: list[Finding]) -> str:
    out = text
    for finding in sorted(findings, key=lambda f: f.start, reverse=True):
        assert finding.fix is not None
        out = out[: finding.start] + finding.fix + out[finding.end :]
    return out


def fix(text: str, lang: str = "auto", *, markup: bool = True, po: bool = False) -> str:
    """``text`` with every fixable finding replaced by its preferred term."""
    findings = analyse(text, lang, markup=markup, po=po).findings
    return apply_fixes(text, fixable(text, findings, po=po))
