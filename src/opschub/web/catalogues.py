"""Translation catalogues: extract each capability's messages and keep its zh-Hans catalogue whole.

``python -m opschub.web.catalogues update`` adds new messages (untranslated) and drops stale ones;
``check`` lists what is missing. A test runs the same check, so an untranslated string fails CI.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from opschub.web.i18n import PACKAGE_ROOT

METHOD_MAP = [
    ("**/templates/**.html", "jinja2.ext:babel_extract"),
    ("**.py", "python"),
]
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "N_": None,
    "NavItem": (1,),
}
TARGET_LOCALE = "zh_Hans"


def capability_dirs() -> list[Path]:
    """Folders of the package that hold translatable text (they have templates or a catalogue)."""
    dirs = {p.parent for p in PACKAGE_ROOT.glob("*/templates")}
    dirs |= {p.parents[2] for p in PACKAGE_ROOT.glob("*/locale/*/LC_MESSAGES")}
    return sorted(d for d in dirs if d.is_dir())


def extract(directory: Path) -> Catalog:
    catalog = Catalog(project="opschub", locale=None)
    options = {
        "**/templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}
    }
    for filename, lineno, message, comments, context in extract_from_dir(
        str(directory),
        METHOD_MAP,
        options_map=options,
        keywords=KEYWORDS,
        comment_tags=("Translators:",),
        strip_comment_tags=True,
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def catalogue_path(directory: Path) -> Path:
    return directory / "locale" / TARGET_LOCALE / "LC_MESSAGES" / "messages.po"


def read_catalogue(path: Path) -> Catalog:
    if not path.exists():
        return Catalog(locale=TARGET_LOCALE, project="opschub")
    with path.open("rb") as handle:
        return read_po(handle, locale=TARGET_LOCALE)


def missing(directory: Path) -> Iterator[str]:
    """Messages used in ``directory`` that its zh-Hans catalogue does not translate."""
    template = extract(directory)
    catalogue = read_catalogue(catalogue_path(directory))
    for message in template:
        if not message.id:
            continue
        found = catalogue.get(message.id, message.context)
        if (
            found is None
            or found.fuzzy
            or not (all(found.string) if isinstance(found.string, tuple | list) else found.string)
        ):
            key = message.id[0] if isinstance(message.id, tuple) else message.id
            yield f"{directory.name}: {key!r}"


def update(directory: Path) -> int:
    template = extract(directory)
    path = catalogue_path(directory)
    catalogue = read_catalogue(path)
    catalogue.update(template, no_fuzzy_matching=True)
    catalogue.obsolete.clear()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalogue, width=100, omit_header=False, sort_output=False)
    return sum(1 for m in catalogue if m.id and not m.string)


def main(argv: list[str]) -> int:
    """``update [CAPABILITY...]`` or ``check [CAPABILITY...]`` (default: all)."""
    command = argv[0] if argv else "check"
    only = set(argv[1:])
    problems = 0
    for directory in capability_dirs():
        if only and directory.name not in only:
            continue
        if command == "update":
            untranslated = update(directory)
            print(f"{directory.name}: {untranslated} untranslated")
            problems += untranslated
        else:
            for line in missing(directory):
                print(line)
                problems += 1
    return 1 if problems and command == "check" else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
