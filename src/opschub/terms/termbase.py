"""The term base: ``terms.toml`` loaded and validated into plain, frozen objects."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

Severity = Literal["avoid", "use-with-care", "mention"]
Lang = Literal["en", "zh-Hans"]

TERMS_FILE = Path(__file__).with_name("terms.toml")
_SEVERITIES = ("avoid", "use-with-care")
_LANGS = ("en", "zh-Hans")


class TermBaseError(ValueError):
    """The term base file is malformed; the message names the entry and the field."""


@dataclass(frozen=True, slots=True)
class Form:
    text: str
    plural: bool | None  # None: infer from the inflection that matched (English)
    fix: str | None  # overrides the entry's fix for this form
    before: re.Pattern[str] | None  # must match the normalised text just before the term
    after: re.Pattern[str] | None  # must match the normalised text just after the term


@dataclass(frozen=True, slots=True)
class Entry:
    rule: str
    lang: Lang
    severity: Severity
    forms: tuple[Form, ...]
    preferred: tuple[str, ...]
    fix: str | None  # None: never fixed automatically
    fix_plural: str | None
    reason_en: str
    reason_zh: str
    source: str

    def reason(self, locale: str) -> str:
        return self.reason_zh if locale.lower().startswith("zh") else self.reason_en


@dataclass(frozen=True, slots=True)
class TitlePart:
    """A title quoted without its head: a title only with one of ``near`` close by."""

    lang: Lang
    text: str
    near: tuple[str, ...]
    window: int


@dataclass(frozen=True, slots=True)
class TermBase:
    entries: tuple[Entry, ...]
    titles: dict[str, tuple[str, ...]]
    title_parts: tuple[TitlePart, ...] = ()


def _str(raw: dict[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = raw.get(key)
    if value is None:
        if required:
            raise TermBaseError(f"{where}: missing field '{key}'")
        return None
    if not isinstance(value, str):
        raise TermBaseError(f"{where}: field '{key}' must be a string")
    return value


def _regex(value: Any, where: str, key: str) -> re.Pattern[str] | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TermBaseError(f"{where}: field '{key}' must be a string")
    try:
        return re.compile(value)
    except re.error as exc:
        raise TermBaseError(f"{where}: field '{key}' is not a valid regex: {exc}") from exc


def _form(raw: Any, where: str) -> Form:
    if isinstance(raw, str):
        return Form(raw, None, None, None, None)
    if not isinstance(raw, dict) or not isinstance(raw.get("form"), str):
        raise TermBaseError(f"{where}: a form must be a string or a table with 'form'")
    plural = raw.get("plural")
    if plural is not None and not isinstance(plural, bool):
        raise TermBaseError(f"{where}: 'plural' must be true or false")
    return Form(
        text=raw["form"],
        plural=plural,
        fix=_str(raw, "fix", where, required=False),
        before=_regex(raw.get("before"), where, "before"),
        after=_regex(raw.get("after"), where, "after"),
    )


def _entry(raw: dict[str, Any], index: int) -> Entry:
    where = f"terms.toml [[term]] #{index + 1} ({raw.get('id', '?')}, {raw.get('lang', '?')})"
    rule = _str(raw, "id", where) or ""
    lang = _str(raw, "lang", where)
    if lang not in _LANGS:
        raise TermBaseError(f"{where}: 'lang' must be one of {_LANGS}")
    severity = _str(raw, "severity", where)
    if severity not in _SEVERITIES:
        raise TermBaseError(f"{where}: 'severity' must be one of {_SEVERITIES}")
    forms_raw = raw.get("forms")
    if not isinstance(forms_raw, list) or not forms_raw:
        raise TermBaseError(f"{where}: 'forms' must be a non-empty list")
    preferred = raw.get("preferred")
    if not isinstance(preferred, list) or not all(isinstance(p, str) for p in preferred):
        raise TermBaseError(f"{where}: 'preferred' must be a list of strings")
    fix = _str(raw, "fix", where, required=False)
    if fix is None and len(preferred) == 1:
        fix = preferred[0]  # exactly one preferred term: it is the fix
    return Entry(
        rule=rule,
        lang=lang,  # type: ignore[arg-type]
        severity=severity,  # type: ignore[arg-type]
        forms=tuple(_form(f, where) for f in forms_raw),
        preferred=tuple(preferred),
        fix=fix or None,
        fix_plural=_str(raw, "fix_plural", where, required=False),
        reason_en=_str(raw, "reason_en", where) or "",
        reason_zh=_str(raw, "reason_zh", where) or "",
        source=_str(raw, "source", where) or "",
    )


def parse_termbase(data: dict[str, Any]) -> TermBase:
    if data.get("version") != 1:
        raise TermBaseError("terms.toml: unsupported 'version' (expected 1)")
    terms = data.get("term")
    if not isinstance(terms, list):
        raise TermBaseError("terms.toml: no [[term]] entries")
    entries = tuple(_entry(raw, i) for i, raw in enumerate(terms))
    seen: set[tuple[str, str]] = set()
    for entry in entries:
        key = (entry.rule, entry.lang)
        if key in seen:
            raise TermBaseError(f"terms.toml: duplicate entry {entry.rule} ({entry.lang})")
        seen.add(key)
    titles_raw = data.get("titles", {})
    titles: dict[str, tuple[str, ...]] = {}
    for lang in _LANGS:
        values = titles_raw.get(lang, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise TermBaseError(f"terms.toml [titles]: '{lang}' must be a list of strings")
        titles[lang] = tuple(values)
    parts = []
    for i, raw in enumerate(data.get("title_part", [])):
        where = f"terms.toml [[title_part]] #{i + 1}"
        part_lang = _str(raw, "lang", where)
        near = raw.get("near")
        window = raw.get("window")
        if part_lang not in _LANGS:
            raise TermBaseError(f"{where}: 'lang' must be one of {_LANGS}")
        if not isinstance(near, list) or not near or not all(isinstance(w, str) for w in near):
            raise TermBaseError(f"{where}: 'near' must be a non-empty list of strings")
        if not isinstance(window, int) or window <= 0:
            raise TermBaseError(f"{where}: 'window' must be a positive number of characters")
        text = _str(raw, "text", where) or ""
        parts.append(TitlePart(part_lang, text, tuple(near), window))  # type: ignore[arg-type]
    return TermBase(entries, titles, tuple(parts))


def load_termbase(path: Path | None = None) -> TermBase:
    target = path or TERMS_FILE
    try:
        with target.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise TermBaseError(f"{target}: {exc}") from exc
    return parse_termbase(data)


@lru_cache(maxsize=1)
def default_termbase() -> TermBase:
    return load_termbase()
