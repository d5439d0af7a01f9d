"""The translation catalogues (English msgids; one Simplified Chinese catalogue per capability,
merged on first use), for every layer: the web shell (:mod:`opschub.web.i18n`) and the background
jobs that write to a partner in its language.
"""

from __future__ import annotations

import gettext
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

PACKAGE_ROOT = Path(__file__).resolve().parent
# URL/HTML language tag -> gettext locale directory name
LOCALE_DIRS = {"zh-Hans": "zh_Hans"}


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
