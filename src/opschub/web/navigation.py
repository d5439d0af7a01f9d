"""The navigation a principal sees: entries from every views module, filtered by permission.

Public pages show the public entries only; staff pages (``web/staff.html``) show the staff
entries only, so that neither menu grows into several rows.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from opschub.accounts.permissions import PUBLIC
from opschub.web.nav import NavItem

# Where a person lands after logging in: the first page their role may open, in this order
# (analysts and liaison officers: the queue; administrators: users; auditors: the audit log).
# A role whose capability has no page yet lands on the small staff home (/staff).
START_PAGES: tuple[tuple[str, str], ...] = (
    ("reports.read", "/queue"),
    ("users.manage", "/admin/users"),
    ("audit.read", "/audit"),
)
STAFF_HOME = "/staff"


def visible_nav(app: FastAPI, principal: Any) -> list[NavItem]:
    items: list[NavItem] = app.state.nav
    if principal is None:
        return [item for item in items if item.permission == PUBLIC]
    return [item for item in items if principal.can(item.permission)]


def public_nav(app: FastAPI) -> list[NavItem]:
    items: list[NavItem] = app.state.nav
    return [item for item in items if item.permission == PUBLIC]


def staff_nav(app: FastAPI, principal: Any) -> list[NavItem]:
    if principal is None:
        return []
    items: list[NavItem] = app.state.nav
    return [item for item in items if item.permission != PUBLIC and principal.can(item.permission)]


def start_page(principal: Any) -> str:
    """The page ``principal`` starts on after logging in."""
    for permission, path in START_PAGES:
        if principal.can(permission):
            return path
    return STAFF_HOME
