"""Navigation entries, shown to each person by permission."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    label: str  # English msgid, translated when shown
    path: str
    permission: str
    order: int = 100
