"""The multi-pattern matcher: every form of every term, the titles and the preferred terms in
one Aho-Corasick automaton over normalised text (leftmost-longest, so a longer term or title
containing a shorter one gives one finding or none, never two)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import product
from typing import Literal

import ahocorasick

from opschub.terms.normalize import is_cjk, normalize_key
from opschub.terms.termbase import Entry, Form, TermBase, default_termbase

Kind = Literal["term", "title", "allow"]
LangSet = frozenset[str]
EN: LangSet = frozenset({"en"})
ZH: LangSet = frozenset({"zh-Hans"})
ALL: LangSet = frozenset({"en", "zh-Hans"})


@dataclass(frozen=True, slots=True)
class Key:
    kind: Kind
    length: int
    latin: bool  # checked for word boundaries
    entry: Entry | None = None
    form: Form | None = None
    plural: bool = False
    possessive: bool = False
    near: re.Pattern[str] | None = None  # a title part: a title only near one of these words
    window: int = 0


def _gap_variants(key: str) -> list[str]:
    """Words joined by a space or by nothing ("child-\\npornography" folds to the latter)."""
    words = key.split(" ")
    if len(words) == 1 or len(words) > 5:
        return [key]
    out = []
    for gaps in product((" ", ""), repeat=len(words) - 1):
        text = words[0]
        for gap, word in zip(gaps, words[1:], strict=True):
            text += gap + word
        out.append(text)
    return out


def _inflections(key: str) -> list[tuple[str, bool, bool]]:
    """(text, plural, possessive) for an English form's last word."""
    out = [(key, False, False), (key + "s", True, False), (key + "es", True, False)]
    out += [(key + "'s", False, True), (key + "s'", True, True)]
    if key.endswith("y"):
        out.append((key[:-1] + "ies", True, False))
    return out


def _is_latin(key: str) -> bool:
    return not any(is_cjk(ord(c)) for c in key)


@dataclass(frozen=True, slots=True)
class Matcher:
    automaton: ahocorasick.Automaton
    trad_chars: frozenset[str]  # Traditional characters that can occur in a Chinese key


def _trad_chars(keys: list[str]) -> frozenset[str]:
    import opencc

    chars: set[str] = set()
    for config in ("s2t", "s2tw", "s2hk", "s2twp"):
        converter = opencc.OpenCC(config)
        for key in keys:
            converted = converter.convert(key)
            if len(converted) == len(key):
                chars.update(t for s, t in zip(key, converted, strict=True) if s != t)
    return frozenset(chars)


def build_matcher(termbase: TermBase, langs: LangSet) -> Matcher:
    automaton = ahocorasick.Automaton()
    zh_keys: list[str] = []

    def add(text: str, key: Key) -> None:
        automaton.add_word(text, key)

    for lang in sorted(langs):
        for entry in termbase.entries:
            if entry.lang != lang:
                continue
            for preferred in entry.preferred:
                norm = normalize_key(preferred)
                latin = _is_latin(norm)
                if (latin and " " in norm) or (not latin and len(norm) >= 4):
                    add(norm, Key("allow", len(norm), latin))
        for title in termbase.titles.get(lang, ()):
            norm = normalize_key(title)
            add(norm, Key("title", len(norm), _is_latin(norm)))
            if lang == "zh-Hans":
                zh_keys.append(norm)
        for part in termbase.title_parts:
            if part.lang != lang:
                continue
            norm = normalize_key(part.text)
            near = re.compile("|".join(re.escape(normalize_key(w)) for w in part.near))
            add(norm, Key("title", len(norm), _is_latin(norm), near=near, window=part.window))
            if lang == "zh-Hans":
                zh_keys.append(norm)
    generated: list[tuple[str, Key]] = []
    for lang in sorted(langs):
        for entry in termbase.entries:
            if entry.lang != lang:
                continue
            for form in entry.forms:
                norm = normalize_key(form.text)
                if lang == "zh-Hans":
                    zh_keys.append(norm)
                    add(norm, Key("term", len(norm), False, entry, form, bool(form.plural)))
                    continue
                inflected = (
                    _inflections(norm) if form.plural is None else [(norm, form.plural, False)]
                )
                for text, plural, possessive in inflected:
                    for variant in _gap_variants(text):
                        key = Key("term", len(variant), True, entry, form, plural, possessive)
                        if text == norm and variant == text:
                            add(variant, key)  # a form as written
                        else:
                            generated.append((variant, key))
    for variant, key in generated:  # an inflection never replaces a form as written
        if not automaton.exists(variant):
            add(variant, key)
    automaton.make_automaton()
    return Matcher(automaton, _trad_chars(zh_keys) if zh_keys else frozenset())


@lru_cache(maxsize=8)
def matcher_for(langs: LangSet) -> Matcher:
    return build_matcher(default_termbase(), langs)
