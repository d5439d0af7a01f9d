"""The navigation a principal sees: entries from every views module, filtered by permission."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from opschub.web.nav import NavItem


def visible_nav(app: FastAPI, principal: Any) -> list[NavItem]:
    items: list[NavItem] = app.state.nav
    if principal is None:
        return [item for item in items if item.permission == "public"]
    return [item for item in items if principal.can(item.permission)]
