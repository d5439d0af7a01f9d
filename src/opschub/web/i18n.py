"""Translations: English msgids; one Simplified Chinese catalogue per capability, merged at start.

Language choice never sets a cookie (a child's device keeps no trace of the visit): an explicit
``?lang=`` wins, then a logged-in person's preference, then Accept-Language, then the default.
"""

from __future__ import annotations

import gettext
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
# URL/HTML language tag -> gettext locale directory name
LOCALE_DIRS = {"zh-Hans": "zh_Hans"}
LANGUAGE_NAMES = {"en": "English", "zh-Hans": "简体中文"}


def catalogue_paths(lang: str) -> list[Path]:
    locale_dir = LOCALE_DIRS.get(lang)
    if locale_dir is None:
        return []
    return sorted(PACKAGE_ROOT.glob(f"*/locale/{locale_dir}/LC_MESSAGES/messages.po"))


@lru_cache(maxsize=8)
def translations(lang: str) -> gettext.NullTranslations:
    merged: Translations | None = None
    for path in catalogue_paths(lang):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=LOCALE_DIRS[lang])
        buffer = BytesIO()
        write_mo(buffer, catalog, use_fuzzy=False)
        buffer.seek(0)
        part = Translations(fp=buffer)
        merged = part if merged is None else merged.merge(part)
    return merged if merged is not None else gettext.NullTranslations()


def parse_accept_language(header: str, supported: tuple[str, ...]) -> str | None:
    """The best supported language in an Accept-Language header (zh, zh-CN, zh-Hans -> zh-Hans)."""
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        lang = match_language(tag.strip(), supported)
        if lang and quality > 0:
            choices.append((-quality, index, lang))
    return min(choices)[2] if choices else None


def match_language(tag: str, supported: tuple[str, ...]) -> str | None:
    lowered = tag.lower()
    for lang in supported:
        if lowered == lang.lower():
            return lang
    if lowered.startswith("zh") and not lowered.startswith(("zh-hant", "zh-tw", "zh-hk", "zh-mo")):
        return "zh-Hans" if "zh-Hans" in supported else None
    if lowered.startswith("en"):
        return "en" if "en" in supported else None
    return None
