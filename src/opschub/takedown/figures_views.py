"""The removal figures page (``/takedown/figures``) and its CSV export, for takedown staff
(``reports.read``): how fast notices go out and content comes down, by country and provider."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from opschub.charts import bar_chart
from opschub.takedown import figures as removal
from opschub.text import N_
from opschub.web.auth import Principal, requires
from opschub.web.deps import DbSession
from opschub.web.i18n import translations
from opschub.web.nav import NavItem
from opschub.web.templating import render

router = APIRouter(include_in_schema=False)
MAX_BARS = 15  # the charts show the groups with most notices; the tables show all
NAV = [NavItem(N_("Removal figures"), "/takedown/figures", "reports.read", order=37)]


def _period(start: str, end: str) -> tuple[date | None, date | None, dict[str, str]]:
    """The period's dates and, for the form, an error message per bad field."""
    errors: dict[str, str] = {}
    parsed: dict[str, date | None] = {}
    for name, text in (("start", start), ("end", end)):
        parsed[name] = None
        if text.strip():
            try:
                parsed[name] = date.fromisoformat(text.strip())
            except ValueError:
                errors[name] = N_("Give a date as YYYY-MM-DD, for example 2026-11-30.")
    first, last = parsed["start"], parsed["end"]
    if first and last and last < first:
        errors["end"] = N_("The end of the period is before its start.")
    return first, last, errors


def _percent(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 1)


@router.get("/takedown/figures", response_class=HTMLResponse)
def figures_page(
    request: Request,
    principal: Annotated[Principal, requires("reports.read")],
    session: DbSession,
    start: str = "",
    end: str = "",
) -> HTMLResponse:
    first, last, errors = _period(start, end)
    found = None if errors else removal.removal_figures(session, start=first, end=last)
    gettext = translations(request.state.lang).gettext
    unknown = gettext("unknown")
    country_bars = [
        (g.key or unknown, g.notice_to_removal.median) for g in (found.by_country if found else [])
    ]
    provider_bars = [
        (g.key or unknown, _percent(g.within[0])) for g in (found.by_provider if found else [])
    ]
    return render(
        request,
        "takedown/figures.html",
        {
            "figures": found,
            "start": start,
            "end": end,
            "errors": errors,
            "bar_chart": bar_chart,
            "percent": _percent,
            "country_bars": country_bars[:MAX_BARS],
            "provider_bars": provider_bars[:MAX_BARS],
            "within_hours": removal.WITHIN_HOURS,
        },
        status_code=400 if errors else 200,
    )


@router.get("/takedown/figures.csv")
def figures_csv(
    request: Request,
    principal: Annotated[Principal, requires("reports.read")],
    session: DbSession,
    start: str = "",
    end: str = "",
) -> Response:
    first, last, errors = _period(start, end)
    if errors:
        field, message = next(iter(errors.items()))
        return Response(f"{field}: {message}\n", status_code=400, media_type="text/plain")
    found = removal.removal_figures(session, start=first, end=last)
    name = f"removal-figures-{first or 'all'}-{last or 'now'}.csv"
    return Response(
        removal.figures_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
