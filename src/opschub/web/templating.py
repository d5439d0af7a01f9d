"""Jinja2 pages: one environment over every capability's ``templates/`` folder."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from opschub import labels
from opschub.web.i18n import LANGUAGE_NAMES, PACKAGE_ROOT, translations


@lru_cache(maxsize=8)
def environment(lang: str) -> Environment:
    """One environment per language, so that ``{% trans %}`` and ``_()`` use that catalogue."""
    folders = sorted(str(p) for p in PACKAGE_ROOT.glob("*/templates") if p.is_dir())
    env = Environment(
        loader=FileSystemLoader(folders),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def link(request: Request, path: str, **params: Any) -> str:
    """A link that keeps an explicitly chosen language (we set no language cookie)."""
    query = {k: v for k, v in params.items() if v is not None}
    if getattr(request.state, "lang_explicit", False):
        query.setdefault("lang", request.state.lang)
    return path + ("?" + urlencode(query) if query else "")


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    from opschub.accounts.i18n import ROLE_LABELS
    from opschub.web.csrf import FIELD, token_for
    from opschub.web.navigation import public_nav, staff_nav, visible_nav

    lang: str = request.state.lang
    principal = getattr(request.state, "principal", None)
    csrf = token_for(request)

    def csrf_field() -> Markup:
        return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD, csrf)

    def lang_field() -> Markup:
        if getattr(request.state, "lang_explicit", False):
            return Markup('<input type="hidden" name="lang" value="{}">').format(lang)
        return Markup("")

    values: dict[str, Any] = {
        "request": request,
        "lang": lang,
        "languages": [
            (code, LANGUAGE_NAMES[code]) for code in request.app.state.settings.languages
        ],
        "principal": principal,
        "nav": visible_nav(request.app, principal),
        "public_nav": public_nav(request.app),
        "staff_nav": staff_nav(request.app, principal),
        "role_label": ROLE_LABELS.get(principal.role, "") if principal is not None else "",
        "csrf_token": csrf,
        "csrf_field": csrf_field,
        "lang_field": lang_field,
        "link": lambda path, **params: link(request, path, **params),
        "current_path": request.url.path,
        # The one way a page shows a code: {{ label("report_status", report.status) }}.
        "label": lambda kind, code: labels.label(kind, code, request.state.gettext, lang),
    }
    values.update(context or {})
    tmpl = environment(lang).get_template(template)
    html = tmpl.render(values)
    return HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
