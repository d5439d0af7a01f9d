"""Context around a match: a term discussed as a term, a title in 《…》, and the
``opschub-terms:`` suppression comments."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# All checks below run on normalised text: lower case, quotes folded to " and ', one space.
_QUOTES = "\"'"
_MENTION_BEFORE_EN = re.compile(
    r"(?:\b(?:the|this|that|such|a|its|their)\s(?:terms?|expressions?|words?|phrases?|notions?|"
    r"concepts?|labels?|terminology|language|wording)(?:\sof)?|\bso\s?called|\bknown\sas|"
    r"\breferred\sto\sas|\bdescribed\sas|\bterms\ssuch\sas|\bcalled)\s?[\"']?\s?$"
)
_MENTION_AFTER_EN = re.compile(
    r"^\s?[\"']?\s?(?:means|is\sdefined\sas|refers\sto|is\sa\smisnomer|is\sa\sterm|"
    r"should\snot\sbe\sused|should\sbe\savoided|must\snot\sbe\sused)\b"
)
_MENTION_BEFORE_ZH = re.compile(r"(?:所谓的?|术语|用语|词语|说法|称为|称作|叫做|一词)\s?[\"']?\s?$")
_MENTION_AFTER_ZH = re.compile(
    r"^\s?[\"']?\s?(?:一词|一语|这一?术语|这个?术语|这一?用语|这一?说法|的说法|这个词|等词|等术语|"
    r"等用语|等说法|是指|系指|的定义|的提法)"
)


def is_mention(normal: str, start: int, end: int, latin: bool) -> bool:
    """The term at ``normal[start:end]`` is discussed as a term, not used."""
    before = normal[max(0, start - 40) : start]
    after = normal[end : end + 20]
    if before[-1:] in _QUOTES and after[:1] in _QUOTES:
        return True
    if latin:
        return bool(_MENTION_BEFORE_EN.search(before) or _MENTION_AFTER_EN.search(after))
    return bool(_MENTION_BEFORE_ZH.search(before) or _MENTION_AFTER_ZH.search(after))


def in_title_marks(normal: str, start: int, end: int) -> bool:
    """Inside Chinese title marks 《…》 (a title keeps its words)."""
    lo = max(0, start - 300)
    opened = normal.rfind("《", lo, start)
    if opened < 0 or normal.rfind("》", lo, start) > opened:
        return False
    closed = normal.find("》", end, end + 300)
    return closed >= 0 and normal.find("《", end, closed) < 0


_DIRECTIVE = re.compile(
    r"opschub-terms:[ \t]*(?P<verb>ignore-next-line|ignore|off|on)\b"
    r"(?:\[(?P<rules>[^\]\n]*)\])?(?P<reason>[^\n]*)"
)
_COMMENT_END = re.compile(r"\s*(?:-->|\*/|#\}|%\}|\"|\)|\s)*$")


@dataclass
class Suppressions:
    """Lines (1-based) whose findings are silenced, per rule; ``None`` silences every rule."""

    lines: dict[int, set[str] | None] = field(default_factory=dict)
    blocks: list[tuple[int, int]] = field(default_factory=list)  # inclusive line ranges
    notes: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return bool(self.lines or self.blocks)

    def silences(self, line: int, rule: str) -> bool:
        if any(a <= line <= b for a, b in self.blocks):
            return True
        if line not in self.lines:
            return False
        rules = self.lines[line]
        return rules is None or rule in rules

    def _add(self, line: int, rules: set[str] | None) -> None:
        if line in self.lines:
            current = self.lines[line]
            self.lines[line] = None if current is None or rules is None else current | rules
        else:
            self.lines[line] = rules


def parse_suppressions(text: str) -> Suppressions:
    """Read ``opschub-terms: ignore[rule] reason``, ``ignore-next-line[...] reason``,
    ``off reason`` … ``on``. A suppression without a reason is not honoured (noted)."""
    found = Suppressions()
    if "opschub-terms:" not in text:
        return found
    open_block: int | None = None
    for match in _DIRECTIVE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        verb = match["verb"]
        reason = _COMMENT_END.sub("", match["reason"]).strip(" :-—")
        if verb == "on":
            if open_block is not None:
                found.blocks.append((open_block, line))
                open_block = None
            continue
        if not reason:
            found.notes.append(f"line {line}: 'opschub-terms: {verb}' without a reason is ignored")
            continue
        if verb == "off":
            if open_block is None:
                open_block = line
            continue
        rules = (
            {r.strip() for r in match["rules"].split(",") if r.strip()} if match["rules"] else None
        )
        found._add(line + 1 if verb == "ignore-next-line" else line, rules)
    if open_block is not None:
        found.blocks.append((open_block, text.count("\n") + 1))
    return found
