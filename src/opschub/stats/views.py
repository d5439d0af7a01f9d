"""Statistics pages: the staff dashboard, tables, regional submissions (approval), publications;
and the public report (HTML, PDF, CSV, JSON, the Committee's annex).

``stats.read`` sees raw tables and submissions; ``stats.publish`` approves regional figures and
publishes. The public report shows only what a publication holds: tables that passed disclosure
control and its audit.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from markupsafe import Markup
from starlette.datastructures import UploadFile

from opschub.accounts.permissions import PUBLIC
from opschub.clock import utcnow
from opschub.stats import catalogue as cat
from opschub.stats import engine, periods, report, service, sources
from opschub.text import N_
from opschub.web.auth import Principal, requires
from opschub.web.deps import get_db
from opschub.web.middleware import BodyLimit
from opschub.web.nav import NavItem
from opschub.web.templating import link, render

router = APIRouter(include_in_schema=False)
NAV = [NavItem(N_("Statistics"), "/stats", "stats.read", order=70)]

# A regional file is a template of a few hundred rows (or a DHIS2 document of as many values):
# far below this; a larger file is not a regional template.
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
BODY_LIMITS = {"/stats/upload": BodyLimit(MAX_UPLOAD_BYTES + 64 * 1024, multipart=True)}
ERRORS_SHOWN = 100
UPLOAD_FORMATS = {
    "": N_("detect from the file name (.csv, .xlsx, .json)"),
    "csv": N_("CSV (the regional template)"),
    "xlsx": N_("XLSX (the regional template)"),
    "dhis2": N_("DHIS2 dataValueSets JSON"),
}
UPLOAD_FIELD_ERRORS = {
    "no_file": N_("Choose a file to upload."),
    "too_large": N_("The file is larger than 10 MB: a regional template is far smaller."),
    "bad_format": N_("Choose one of the formats."),
    "unknown_suffix": N_(
        "The format cannot be told from the file name: choose CSV, XLSX or DHIS2 JSON."
    ),
}
SUFFIX_FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".json": "dhis2"}


def _chart(
    title: str, description: str, bars: list[tuple[str, float | None]], unit: str
) -> Markup | None:
    if not bars:
        return None
    try:
        from opschub import charts
    except ModuleNotFoundError:
        return None
    return charts.bar_chart(title=title, description=description, bars=bars, unit=unit)


def _period(request: Request) -> str:
    text = request.query_params.get("period", "").strip() or str(utcnow().year)
    try:
        return periods.parse(text).label
    except periods.PeriodError:
        raise HTTPException(
            status_code=400,
            detail=request.state.gettext(
                "A period is a year (2026), a quarter (2026-Q1), a month (2026-03) or all."
            ),
        ) from None


@router.get("/stats", response_class=HTMLResponse)
def dashboard(
    request: Request, principal: Annotated[Principal, requires("stats.read")]
) -> HTMLResponse:
    _ = request.state.gettext
    lang = request.state.lang
    period = _period(request)
    cards = []
    with get_db(request).read() as session:
        cats = service.catalogue(session)
        names = service.region_names(session)
        for indicator in cats.indicators.values():
            card: dict[str, Any] = {
                "indicator": indicator,
                "name": indicator.name(lang),
                "unit": report.unit_label(indicator.unit, _),
            }
            by = list(indicator.publish_by[:1])
            try:
                tab = service.table(session, indicator.id, by, period)
                tab["region_names"] = names
            except sources.SourceUnavailable:
                card["unavailable"] = True
                cards.append(card)
                continue
            card["total"] = report.format_value(report.total_of(tab), _)
            card["chart"] = _chart(
                indicator.name(lang),
                _("%(indicator)s by %(dimension)s, %(period)s (raw figures, not protected)")
                % {
                    "indicator": indicator.name(lang),
                    "dimension": report.dimension_name(by[0], _) if by else _("Total"),
                    "period": period,
                },
                report.chart_bars(tab, _, lang),
                report.unit_label(indicator.unit, _),
            )
            card["by"] = by
            cards.append(card)
        pending = len(service.submissions(session, status="pending"))
        latest = service.publication(session)
    return render(
        request,
        "stats/dashboard.html",
        {
            "cards": cards,
            "period": period,
            "pending": pending,
            "latest": latest,
            "can_publish": principal.can("stats.publish"),
        },
    )


@router.get("/stats/tables/{indicator_id}", response_class=HTMLResponse)
def table_page(
    request: Request, indicator_id: str, principal: Annotated[Principal, requires("stats.read")]
) -> HTMLResponse:
    _ = request.state.gettext
    lang = request.state.lang
    period = _period(request)
    with get_db(request).read() as session:
        cats = service.catalogue(session)
        indicator = cats.indicators.get(indicator_id)
        if indicator is None:
            raise HTTPException(status_code=404, detail=_("No such indicator."))
        wanted = [d for d in request.query_params.getlist("by") if d in indicator.dimensions]
        error = None
        rows: list[report.Row] = []
        try:
            tab = service.table(session, indicator.id, wanted, period)
            tab["region_names"] = service.region_names(session)
            rows = report.rows(tab, _, lang)
        except sources.SourceUnavailable:
            error = _("The data for this indicator is not available in this installation.")
    return render(
        request,
        "stats/table.html",
        {
            "indicator": indicator,
            "name": indicator.name(lang),
            "definition": indicator.definition(lang),
            "period": period,
            "by": wanted,
            "dimensions": [(d, report.dimension_name(d, _)) for d in indicator.dimensions],
            "headers": [report.dimension_name(d, _) for d in wanted],
            "rows": rows,
            "error": error,
            "unit": report.unit_label(indicator.unit, _),
        },
    )


@router.get("/stats/template.csv")
def template_csv(
    request: Request, principal: Annotated[Principal, requires("stats.read")]
) -> Response:
    with get_db(request).read() as session:
        text = service.template_csv(service.catalogue(session), _period(request))
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="opschub-regional-template.csv"'},
    )


@router.get("/stats/template.xlsx")
def template_xlsx(
    request: Request, principal: Annotated[Principal, requires("stats.read")]
) -> Response:
    with get_db(request).read() as session:
        data = service.template_xlsx(service.catalogue(session), _period(request))
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="opschub-regional-template.xlsx"'},
    )


def upload_format(chosen: str, file_name: str) -> str | None:
    """The format chosen, or the one the file name's suffix says (None: cannot tell)."""
    if chosen:
        return chosen
    suffix = file_name.lower().rsplit(".", 1)[-1] if "." in file_name else ""
    return SUFFIX_FORMATS.get(f".{suffix}")


def _upload_page(
    request: Request,
    *,
    chosen: str = "",
    field_error: str | None = None,
    file_errors: list[str] | None = None,
    problems: int = 0,
    file_name: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "stats/upload.html",
        {
            "formats": list(UPLOAD_FORMATS.items()),
            "chosen": chosen,
            "field_error": field_error,
            "field_errors": UPLOAD_FIELD_ERRORS,
            "file_errors": file_errors or [],
            "problems": problems,
            "file_name": file_name,
            "period": str(utcnow().year),
        },
        status_code=status_code,
    )


@router.get("/stats/upload", response_class=HTMLResponse)
def upload_page(
    request: Request, principal: Annotated[Principal, requires("stats.publish")]
) -> HTMLResponse:
    return _upload_page(request)


@router.post("/stats/upload", response_class=HTMLResponse)
async def upload_submit(
    request: Request, principal: Annotated[Principal, requires("stats.publish")]
) -> Response:
    """A regional file: every figure checked, all or nothing; the submissions it makes wait for
    approval. A refused file is audited too (who sent which file, how many problems)."""
    form = await request.form()
    chosen = form.get("format")
    chosen = chosen.strip() if isinstance(chosen, str) else ""
    upload = form.get("file")
    if chosen not in UPLOAD_FORMATS:
        return _upload_page(request, field_error="bad_format", status_code=400)
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _upload_page(request, chosen=chosen, field_error="no_file", status_code=400)
    file_name = upload.filename.replace("\\", "/").rsplit("/", 1)[-1][-200:] or "upload"
    try:
        data = await upload.read(MAX_UPLOAD_BYTES + 1)
    finally:
        await upload.close()
    if len(data) > MAX_UPLOAD_BYTES:
        return _upload_page(request, chosen=chosen, field_error="too_large", status_code=400)
    fmt = upload_format(chosen, file_name)
    if fmt is None:
        return _upload_page(request, chosen=chosen, field_error="unknown_suffix", status_code=400)
    try:
        with get_db(request).transaction() as session:
            created = service.import_figures(session, principal, data, file_name, fmt)
    except service.ImportInvalid as exc:
        with get_db(request).transaction() as session:
            service.record_refused(session, principal, file_name, fmt, len(exc.errors))
        gettext = request.state.gettext
        return _upload_page(
            request,
            chosen=chosen,
            file_errors=[e.render(gettext) for e in exc.errors[:ERRORS_SHOWN]],
            problems=len(exc.errors),
            file_name=file_name,
            status_code=400,
        )
    return RedirectResponse(
        link(request, "/stats/submissions", done="received", count=len(created)),
        status_code=303,
    )


@router.get("/stats/submissions", response_class=HTMLResponse)
def submissions_page(
    request: Request, principal: Annotated[Principal, requires("stats.read")]
) -> HTMLResponse:
    with get_db(request).read() as session:
        rows = service.submissions(session)
        names = service.region_names(session)
    return render(
        request,
        "stats/submissions.html",
        {
            "rows": rows,
            "names": names,
            "can_publish": principal.can("stats.publish"),
            "done": request.query_params.get("done", ""),
            "received": int(count)
            if (count := request.query_params.get("count", "")).isdigit() and len(count) < 6
            else 0,
            "can_upload": principal.can("stats.publish"),
            "submission_status": _status_words(request),
        },
    )


@router.get("/stats/submissions/{submission_id}", response_class=HTMLResponse)
def submission_page(
    request: Request,
    submission_id: str,
    principal: Annotated[Principal, requires("stats.read")],
) -> HTMLResponse:
    _ = request.state.gettext
    lang = request.state.lang
    with get_db(request).read() as session:
        view = service.get_submission(session, submission_id)
        if view is None:
            raise HTTPException(status_code=404, detail=_("No such submission."))
        cats = service.catalogue(session)
        values = [
            {
                "indicator": cats.indicators[v.indicator_id].name(lang)
                if v.indicator_id in cats.indicators
                else v.indicator_id,
                "dimension": _("Total")
                if v.dimension == cat.TOTAL
                else report.dimension_name(v.dimension, _),
                "category": report.value_label(v.dimension, v.category, _, lang),
                "value": report.format_value(v.value, _),
            }
            for v in service.submission_values(session, submission_id)
        ]
        history = service.history(session, view.org_unit_code, view.period)
        names = service.region_names(session)
    return render(
        request,
        "stats/submission.html",
        {
            "view": view,
            "values": values,
            "history": history,
            "names": names,
            "can_publish": principal.can("stats.publish"),
            "submission_status": _status_words(request),
        },
    )


def _status_words(request: Request) -> Any:
    gettext = request.state.gettext
    return lambda code: gettext(report.SUBMISSION_STATUS_WORDS.get(code, code))


def _decide(request: Request, principal: Principal, submission_id: str, approve: bool) -> Response:
    with get_db(request).transaction() as session:
        try:
            service.decide(session, principal, submission_id, approve=approve)
        except service.StatsError:
            raise HTTPException(
                status_code=409,
                detail=request.state.gettext("This submission has already been decided."),
            ) from None
    return RedirectResponse(
        link(request, "/stats/submissions", done="approved" if approve else "rejected"),
        status_code=303,
    )


@router.post("/stats/submissions/{submission_id}/approve")
def approve(
    request: Request,
    submission_id: str,
    principal: Annotated[Principal, requires("stats.publish")],
) -> Response:
    return _decide(request, principal, submission_id, True)


@router.post("/stats/submissions/{submission_id}/reject")
def reject(
    request: Request,
    submission_id: str,
    principal: Annotated[Principal, requires("stats.publish")],
) -> Response:
    return _decide(request, principal, submission_id, False)


@router.get("/stats/publications", response_class=HTMLResponse)
def publications_page(
    request: Request, principal: Annotated[Principal, requires("stats.read")]
) -> HTMLResponse:
    with get_db(request).read() as session:
        rows = service.publications(session)
        regions = _region_choices(request, session)
    return render(
        request,
        "stats/publications.html",
        {
            "rows": rows,
            "can_publish": principal.can("stats.publish"),
            "period": str(utcnow().year),
            "region": "",
            "regions": regions,
            "coverage": _coverage_words(request, regions),
            "error": None,
            "at_risk": [],
        },
    )


def _region_choices(request: Request, session: Any) -> list[tuple[str, str, int]]:
    """(code, name in the reader's language, depth) of every organisation unit, depth first."""
    names = service.region_names(session)
    parents = engine.region_parents(session)
    lang_key = "zh-Hans" if request.state.lang == "zh-Hans" else "en"
    children: dict[str | None, list[str]] = {}
    for code, parent in parents.items():
        children.setdefault(parent if parent in parents else None, []).append(code)
    out: list[tuple[str, str, int]] = []

    def walk(parent: str | None, depth: int) -> None:
        for code in sorted(children.get(parent, [])):
            out.append((code, (names.get(code) or {}).get(lang_key) or code, depth))
            walk(code, depth + 1)

    walk(None, 0)
    return out


def _coverage_words(request: Request, regions: list[tuple[str, str, int]]) -> Any:
    gettext = request.state.gettext
    by_code = {code: name for code, name, _depth in regions}
    return lambda code: (
        gettext("the whole country")
        if not code
        else gettext("%(region)s and its sub-regions") % {"region": by_code.get(code, code)}
    )


@router.post("/stats/publications", response_class=HTMLResponse)
async def publish(
    request: Request, principal: Annotated[Principal, requires("stats.publish")]
) -> Response:
    _ = request.state.gettext
    form = await request.form()
    period = str(form.get("period", "")).strip()
    method = str(form.get("method", "suppress"))
    region = str(form.get("region", "")).strip()
    error = None
    at_risk: list[str] = []
    try:
        with get_db(request).transaction() as session:
            pub = service.publish(session, principal, period, method=method, region=region or None)
    except periods.PeriodError:
        error = _("A period is a year (2026), a quarter (2026-Q1), a month (2026-03) or all.")
    except service.PublicationBlocked as exc:
        error = _("Nothing was published: the disclosure audit found cells at risk.")
        at_risk = exc.at_risk
    except service.UnknownRegion:
        error = _("Nothing was published: choose a region from the list.")
    except (service.StatsError, sources.SourceUnavailable):
        error = _("Nothing was published: no indicator has data in this installation.")
    if error is None:
        return RedirectResponse(link(request, f"/statistics/{pub.version}"), status_code=303)
    with get_db(request).read() as session:
        rows = service.publications(session)
        regions = _region_choices(request, session)
    return render(
        request,
        "stats/publications.html",
        {
            "rows": rows,
            "can_publish": True,
            "period": period,
            "region": region,
            "regions": regions,
            "coverage": _coverage_words(request, regions),
            "error": error,
            "at_risk": at_risk,
        },
        status_code=400,
    )


# --- the public report --------------------------------------------------------------------------


def _publication(request: Request, version: str | None) -> service.PublicationView:
    number = None
    if version is not None:
        if not version.isdigit() or len(version) > 9:
            raise HTTPException(status_code=404, detail=request.state.gettext("No such report."))
        number = int(version)
    with get_db(request).read() as session:
        pub = service.publication(session, number)
    if pub is None:
        raise HTTPException(status_code=404, detail=request.state.gettext("No such report."))
    return pub


def report_context(request: Request, pub: service.PublicationView) -> dict[str, Any]:
    _ = request.state.gettext
    lang = request.state.lang
    tables = []
    for table in pub.tables:
        name = report.indicator_name(table, lang)
        dims = table["dimensions"]
        bars = report.chart_bars(table, _, lang)
        description = _(
            "%(indicator)s, %(period)s, by %(dimension)s. Withheld figures are shown as such."
        ) % {
            "indicator": name,
            "period": pub.period,
            "dimension": report.dimension_name(dims[0], _) if dims else _("Total"),
        }
        tables.append(
            {
                "id": table["indicator"],
                "name": name,
                "unit": report.unit_label(table.get("unit", ""), _),
                "headers": [report.dimension_name(d, _) for d in dims],
                "rows": report.rows(table, _, lang),
                "chart": _chart(
                    name, description, bars, report.unit_label(table.get("unit", ""), _)
                ),
                "table": table,
            }
        )
    return {
        "pub": pub,
        "tables": tables,
        "coverage": report.coverage_text(pub.region, pub.tables, _, lang),
        "method": report.method_text(pub.parameters, _),
        "annex": [
            (_(title), [t["indicator"] for t in part]) for title, part in report.annex(pub.tables)
        ],
    }


def _checked(response: HTMLResponse) -> HTMLResponse:
    from opschub.terms import ensure_clean

    ensure_clean(bytes(response.body).decode("utf-8"))
    return response


@router.get("/statistics", response_class=HTMLResponse)
def public_latest(
    request: Request, principal: Annotated[Principal | None, requires(PUBLIC)]
) -> HTMLResponse:
    with get_db(request).read() as session:
        pub = service.publication(session)
    if pub is None:
        return render(request, "stats/public_none.html", {})
    return _checked(render(request, "stats/public_report.html", report_context(request, pub)))


@router.get("/statistics/{version}", response_class=HTMLResponse)
def public_report(
    request: Request, version: str, principal: Annotated[Principal | None, requires(PUBLIC)]
) -> HTMLResponse:
    pub = _publication(request, version)
    return _checked(render(request, "stats/public_report.html", report_context(request, pub)))


@router.get("/statistics/{version}/annex", response_class=HTMLResponse)
def public_annex(
    request: Request, version: str, principal: Annotated[Principal | None, requires(PUBLIC)]
) -> HTMLResponse:
    pub = _publication(request, version)
    return _checked(render(request, "stats/public_annex.html", report_context(request, pub)))


@router.get("/statistics/{version}/tables.json")
def public_json(
    request: Request, version: str, principal: Annotated[Principal | None, requires(PUBLIC)]
) -> Response:
    pub = _publication(request, version)
    body = {
        "version": pub.version,
        "period": pub.period,
        "region": pub.region,
        "method": pub.parameters,
        "input_digest": pub.input_digest,
        "output_digest": pub.output_digest,
        "published_at": pub.created_at.isoformat(),
        "tables": pub.tables,
    }
    return JSONResponse(
        body,
        headers={
            "Content-Disposition": f'attachment; filename="opschub-statistics-{pub.version}.json"'
        },
    )


@router.get("/statistics/{version}/tables.csv")
def public_csv(
    request: Request, version: str, principal: Annotated[Principal | None, requires(PUBLIC)]
) -> Response:
    pub = _publication(request, version)
    return Response(
        report.csv_text(pub.tables, pub.period, pub.region),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="opschub-statistics-{pub.version}.csv"'
        },
    )


@router.get("/statistics/{version}/sdmx.xml")
def public_sdmx(
    request: Request, version: str, principal: Annotated[Principal | None, requires(PUBLIC)]
) -> Response:
    from opschub.stats import sdmx_export

    pub = _publication(request, version)
    return Response(
        sdmx_export.to_sdmx(pub),
        media_type="application/xml",
        headers={
            "Content-Disposition": f'attachment; filename="opschub-statistics-{pub.version}.xml"'
        },
    )


@router.get("/statistics/{version}/report.pdf")
def public_pdf(
    request: Request, version: str, principal: Annotated[Principal | None, requires(PUBLIC)]
) -> Response:
    from opschub.stats import pdf

    pub = _publication(request, version)
    data = pdf.render_pdf(pub, request.state.gettext, request.state.lang)
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="opschub-statistics-{pub.version}.pdf"'},
    )
