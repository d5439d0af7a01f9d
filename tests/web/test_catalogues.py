"""Every message a person reads has a Simplified Chinese translation (English is the source)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opschub.web.catalogues import capability_dirs, extract, missing


@pytest.mark.parametrize("directory", capability_dirs(), ids=lambda d: d.name)
def test_zh_hans_catalogue_is_complete(directory: Path) -> None:
    assert list(missing(directory)) == []


def test_extraction_finds_template_and_python_messages() -> None:
    web = next(d for d in capability_dirs() if d.name == "web")
    ids = {m.id for m in extract(web)}
    assert "Skip to main content" in ids  # template
    assert "Home" in ids  # NavItem label in views.py
