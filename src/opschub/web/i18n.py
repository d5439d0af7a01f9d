"""Translations: English msgids; one Simplified Chinese catalogue per capability, merged at start.

Language choice never sets a cookie (a child's device keeps no trace of the visit): an explicit
``?lang=`` wins, then a logged-in person's preference, then Accept-Language, then the default.
"""

from __future__ import annotations

# The catalogues themselves live outside the web layer (background jobs write in a partner's
# language too); the web shell uses them from here.
from opschub.i18n import (
    LOCALE_DIRS,
    PACKAGE_ROOT,
    catalogue_paths,
    match_language,
    translations,
)

__all__ = [
    "LANGUAGE_NAMES",
    "LOCALE_DIRS",
    "PACKAGE_ROOT",
    "catalogue_paths",
    "match_language",
    "parse_accept_language",
    "translations",
]

LANGUAGE_NAMES = {"en": "English", "zh-Hans": "简体中文"}


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
