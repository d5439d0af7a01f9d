"""Every route declares a permission, and every role (and no login) gets exactly what it grants.

The matrix is built from the application itself: a route added without ``requires(...)`` fails
``test_every_route_declares_a_permission``; a role reaching a route it is not granted (or refused
one it is) fails ``test_permission_matrix``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pyotp
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount

from opschub.accounts import service
from opschub.accounts.permissions import (
    AUTHENTICATED,
    HUMAN_ROLES,
    PERMISSIONS,
    PUBLIC,
    ROLE_PERMISSIONS,
    Role,
    check_table,
)
from opschub.db import Database
from opschub.ids import new_id
from opschub.web.auth import SESSION_COOKIE, PermissionCheck
from opschub.web.csrf import anonymous_token
from opschub.web.routes import iter_routes

# The one route FastAPI itself adds: the OpenAPI document, public by design.
FRAMEWORK_ROUTES = {"/api/v1/openapi.json"}
PASSWORD = "correct horse battery staple 42"


def declared_permissions(route: APIRoute) -> list[str]:
    found: list[str] = []

    def walk(dependant) -> None:  # type: ignore[no-untyped-def]
        if isinstance(dependant.call, PermissionCheck):
            found.append(dependant.call.permission)
        for sub in dependant.dependencies:
            walk(sub)

    walk(route.dependant)
    return found


def undeclared_routes(app: FastAPI) -> list[str]:
    problems = []
    for path, route in iter_routes(app):
        if isinstance(route, APIRoute):
            declared = declared_permissions(route)
            if len(declared) != 1:
                problems.append(f"{sorted(route.methods)} {path}: declares {declared}")
        elif isinstance(route, Mount):
            if not path.startswith("/static/"):
                problems.append(f"mount {path}: not a static folder")
        elif path not in FRAMEWORK_ROUTES:
            problems.append(f"{path}: a plain route cannot declare a permission")
    return problems


def api_routes(app: FastAPI) -> list[tuple[str, APIRoute]]:
    return [(path, route) for path, route in iter_routes(app) if isinstance(route, APIRoute)]


def test_role_table_names_only_known_permissions() -> None:
    check_table()
    assert set(ROLE_PERMISSIONS) == set(Role)
    # Every permission is granted to someone, or nobody could ever use its routes.
    granted = set().union(*ROLE_PERMISSIONS.values())
    assert granted == set(PERMISSIONS)


def test_every_route_declares_a_permission(app: FastAPI) -> None:
    paths = {path for path, _route in api_routes(app)}
    assert {"/", "/healthz", "/login", "/admin/users"} <= paths  # included routers are seen
    assert undeclared_routes(app) == []


def test_a_route_without_permission_is_caught(app: FastAPI) -> None:
    rogue = APIRouter()

    @rogue.get("/rogue")
    def _rogue() -> dict[str, str]:
        return {}

    app.include_router(rogue)
    assert undeclared_routes(app) == ["['GET'] /rogue: declares []"]


@dataclass
class Caller:
    label: str
    role: Role | None  # None: no login
    headers: dict[str, str]
    user_id: str | None = None

    def permissions(self) -> frozenset[str]:
        return ROLE_PERMISSIONS[self.role] if self.role else frozenset()

    def credentials(self, database: Database) -> tuple[dict[str, str], dict[str, str]]:
        """Cookies and headers for one request; a fresh session each time (a route may log out)."""
        headers = dict(self.headers)
        if self.user_id is None:
            if not headers:
                headers["x-csrf-token"] = anonymous_token()
            return {}, headers
        with database.transaction() as session:
            user = service.get_user(session, self.user_id)
            raw, _row = service.start_session(session, user, totp_verified=True)
            principal = service.resolve_session(session, raw)
        assert principal is not None and principal.csrf_token
        assert principal.permissions == ROLE_PERMISSIONS[user.role], user.role
        headers["x-csrf-token"] = principal.csrf_token
        return {SESSION_COOKIE: raw}, headers


def _callers(database: Database) -> Iterator[Caller]:
    yield Caller("anonymous", None, {})
    with database.transaction() as session:
        for role in HUMAN_ROLES:
            user, _ = service.create_user(
                session, username=f"matrix-{role.value}", role=role, password=PASSWORD
            )
            user.must_change_password = False
            if user.totp_required:
                secret = service.begin_totp_setup(session, user.id)
                service.confirm_totp_setup(session, user.id, None, pyotp.TOTP(secret).now())
            yield Caller(role.value, role, {}, user.id)
        _token, raw_token = service.create_token(
            session,
            name="matrix partner",
            permissions=sorted(ROLE_PERMISSIONS[Role.PARTNER]),
            expires_in_days=1,
            actor=None,
            partner=True,
        )
    yield Caller("partner", Role.PARTNER, {"authorization": f"Bearer {raw_token}"})


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _m: new_id(), path)


def _outcome(response) -> str:  # type: ignore[no-untyped-def]
    location = response.headers.get("location", "")
    if response.status_code in (401, 403) or (
        # The login redirect of a refused page names the page it came from.
        response.status_code in (302, 303, 307) and location.startswith("/login?next=")
    ):
        return "refused"
    return "allowed"


def test_permission_matrix(app: FastAPI, database: Database) -> None:
    callers = list(_callers(database))
    failures: list[str] = []
    checked = 0
    client = TestClient(app, follow_redirects=False)
    for route_path, route in api_routes(app):
        (permission,) = declared_permissions(route)
        for method in sorted(route.methods - {"HEAD"}):
            path = _concrete(route_path)
            for caller in callers:
                if permission == PUBLIC:
                    expected = "allowed"
                elif permission == AUTHENTICATED:
                    expected = "refused" if caller.role is None else "allowed"
                else:
                    expected = "allowed" if permission in caller.permissions() else "refused"
                cookies, headers = caller.credentials(database)
                client.cookies.clear()
                for name, value in cookies.items():
                    client.cookies.set(name, value)
                response = client.request(method, path, headers=headers)
                checked += 1
                outcome = _outcome(response)
                if outcome != expected:
                    failures.append(
                        f"{method} {route_path} [{permission}] as {caller.label}: "
                        f"{response.status_code}, expected {expected}"
                    )
    assert checked > 0
    assert failures == []


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_every_role_can_use_something(role: Role) -> None:
    assert ROLE_PERMISSIONS[role], f"{role} is granted nothing"


def test_the_relationship_routes_are_in_the_matrix(app: FastAPI) -> None:
    """The routes that change relationships between people in a case are enumerated by the
    matrix above and need what editing a person needs (``cases.manage``)."""
    person = "/cases/{case_id}/people/{person_id}"
    wanted = {
        ("GET", f"/api/v1{person}/relationships"),
        ("POST", f"/api/v1{person}/relationships"),
        ("PATCH", f"/api/v1{person}/relationships/{{relationship_id}}"),
        ("DELETE", f"/api/v1{person}/relationships/{{relationship_id}}"),
        ("POST", f"{person}/relationships"),
        ("POST", f"{person}/relationships/{{relationship_id}}/edit"),
        ("POST", f"{person}/relationships/{{relationship_id}}/delete"),
        ("GET", f"{person}/edit"),
        ("POST", f"{person}/edit"),
    }
    found = {
        (method, path): declared_permissions(route)
        for path, route in api_routes(app)
        for method in route.methods
        if (method, path) in wanted
    }
    assert set(found) == wanted
    assert set(map(tuple, found.values())) == {("cases.manage",)}
