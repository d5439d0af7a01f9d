"""Public reporting pages (no login) and the analysts' queue.

Public pages keep nothing about the device or connection: the address is only used, hashed with
a rotating in-memory salt, to slow down floods (see :mod:`opschub.intake.ratelimit`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from opschub import labels, taxonomy
from opschub.accounts.permissions import PUBLIC
from opschub.config import get_settings
from opschub.intake import receipts, service, states
from opschub.intake.models import STATED_AGE_BANDS
from opschub.intake.ratelimit import Limiter, make_rate_limiter, retry_after_header
from opschub.text import N_
from opschub.web.auth import Principal, requires
from opschub.web.deps import get_db
from opschub.web.nav import NavItem
from opschub.web.templating import link, render

router = APIRouter(include_in_schema=False)
NAV = [
    NavItem(N_("Report something"), "/report", PUBLIC, order=10),
    NavItem(N_("Report an image of me"), "/report/me", PUBLIC, order=11),
    NavItem(N_("Check my report"), "/report/status", PUBLIC, order=12),
    NavItem(N_("Get help"), "/help", PUBLIC, order=13),
    NavItem(N_("Report queue"), "/queue", "reports.read", order=20),
]
# The analysts' queue lives in opschub.intake.queue_views (its routes join this router).
# A burst of 10 public submissions or look-ups per address, then one every 6 seconds.
PUBLIC_BURST = 10
PUBLIC_RATE = 1 / 6
MAX_FORM_URLS = 20


# -- helpers -----------------------------------------------------------------------------------


def _limiter(request: Request) -> Limiter:
    state = request.app.state
    limiter: Limiter | None = getattr(state, "intake_public_limiter", None)
    if limiter is None:
        limiter = state.intake_public_limiter = make_rate_limiter(
            PUBLIC_BURST, PUBLIC_RATE, name="intake.public", settings=state.settings
        )
    return limiter


def _flood_check(request: Request) -> None:
    limiter = _limiter(request)
    # The address is used here and nowhere else; only a salted, rotating hash is kept in memory.
    key = limiter.address_key(request.client.host if request.client else None)
    wait = limiter.hit("public:" + key)
    if wait is not None:
        raise HTTPException(
            status_code=429,
            detail=request.state.gettext(
                "Too many reports from your connection in a short time. Please wait a minute "
                "and try again."
            ),
            headers={"Retry-After": retry_after_header(wait)},
        )


@lru_cache(maxsize=4)
def _load_help(path: str, mtime: float) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        loaded: dict[str, Any] = json.load(handle)
    return loaded


def _help_file() -> dict[str, Any]:
    """The operator's help file (``<data_dir>/helplines.json``), else the bundled defaults."""
    custom = get_settings().data_dir / "helplines.json"
    path = custom if custom.is_file() else Path(__file__).with_name("helplines.json")
    return _load_help(str(path), path.stat().st_mtime)


def help_services(lang: str) -> list[dict[str, str]]:
    """The help lines for a page in ``lang``: a service listing ``languages`` only in those."""
    key = taxonomy.normalise_language(lang)
    out = []
    for item in _help_file()["services"]:
        languages = item.get("languages")
        if languages and key not in {taxonomy.normalise_language(str(v)) for v in languages}:
            continue
        name, text = item.get("name", {}), item.get("text", {})
        out.append(
            {
                "name": str(name.get(key) or name.get("en", "")),
                "phone": str(item.get("phone", "")),
                "url": str(item.get("url", "")),
                "text": str(text.get(key) or text.get("en", "")),
            }
        )
    return out


# Where the quick-exit button leaves to when the help file names no address for the language.
QUICK_EXIT_DEFAULT = "https://www.google.com/"


def quick_exit_url(lang: str) -> str:
    """The neutral site the quick-exit button leaves for (``quick_exit`` in the help file)."""
    addresses = _help_file().get("quick_exit") or {}
    key = taxonomy.normalise_language(lang)
    url = str(addresses.get(key) or addresses.get("en") or QUICK_EXIT_DEFAULT)
    return url if url.startswith("https://") else QUICK_EXIT_DEFAULT


def _page(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    values = {
        "help_services": help_services(request.state.lang),
        "quick_exit_url": quick_exit_url(request.state.lang),
    }
    values.update(context or {})
    return render(request, f"intake/{template}", values, status_code=status)


def _harm_choices(lang: str) -> list[tuple[str, str]]:
    return taxonomy.FORM_OF_EXPLOITATION.choices(lang, plain=True)


# -- report something online -------------------------------------------------------------------


@dataclass
class PublicForm:
    urls: str = ""
    where_seen: str = ""
    incident_types: tuple[str, ...] = ()
    description: str = ""
    contact: str = ""

    @classmethod
    def read(cls, form: FormData) -> PublicForm:
        def text(name: str) -> str:
            value = form.get(name)
            return value if isinstance(value, str) else ""

        kinds = tuple(v for v in form.getlist("incident_types") if isinstance(v, str))
        return cls(text("urls"), text("where_seen"), kinds, text("description"), text("contact"))

    def url_lines(self) -> list[str]:
        return [line.strip() for line in self.urls.splitlines() if line.strip()]


def _public_errors(request: Request, exc: service.IntakeInvalid, form: PublicForm) -> list[str]:
    _ = request.state.gettext
    messages: list[str] = []
    lines = form.url_lines()
    for error in exc.errors:
        if error.field.startswith("/urls/"):
            index = int(error.field.rsplit("/", 1)[1])
            messages.append(
                _(
                    "We cannot use this web address: %(url)s. Check that it is the address of "
                    "a public website, for example https://example.org/page."
                )
                % {"url": lines[index] if index < len(lines) else ""}
            )
        elif error.field == "/urls" and error.code == "required":
            messages.append(_("Please give at least one web address."))
        elif error.field == "/urls":
            messages.append(
                _("Please give at most %(count)s web addresses in one report.")
                % {"count": MAX_FORM_URLS}
            )
        elif error.code == "control_character":  # a NUL character: not typed by a person
            messages.append(_("Something in the form is not right. Please check it."))
        elif error.field == "/description":
            messages.append(_("What you wrote is too long. Please make it shorter."))
        elif error.field == "/where_seen":
            messages.append(_("Where you saw it is too long. Please make it shorter."))
        elif error.field == "/contact":
            messages.append(_("Your contact details are too long. Please make them shorter."))
        else:
            messages.append(_("Something in the form is not right. Please check it."))
    return list(dict.fromkeys(messages))


@router.get("/report", response_class=HTMLResponse)
def report_form(
    request: Request, principal: Annotated[Principal | None, requires(PUBLIC)]
) -> HTMLResponse:
    return _page(
        request,
        "report.html",
        {"form": PublicForm(), "harms": _harm_choices(request.state.lang), "errors": []},
    )


def _store_public(request: Request, form: PublicForm) -> service.Submitted:
    lines = form.url_lines()
    if len(lines) > MAX_FORM_URLS:
        raise service.IntakeInvalid(
            [service.FieldError("/urls", f"at most {MAX_FORM_URLS} addresses", "too_many")]
        )
    report = service.ReportIn(
        channel="public",
        incident_types=[k for k in form.incident_types if k in service.INCIDENT_TYPES],
        urls=lines,
        setting="online",
        where_seen=form.where_seen,
        description=form.description,
        contact=form.contact,
    )
    return _store(request, report)


@router.post("/report", response_class=HTMLResponse)
async def report_submit(
    request: Request, principal: Annotated[Principal | None, requires(PUBLIC)]
) -> HTMLResponse:
    _flood_check(request)
    form = PublicForm.read(await request.form())
    try:
        submitted = await run_in_threadpool(_store_public, request, form)
    except service.IntakeInvalid as exc:
        return _page(
            request,
            "report.html",
            {
                "form": form,
                "harms": _harm_choices(request.state.lang),
                "errors": _public_errors(request, exc, form),
            },
            status=400,
        )
    return _page(request, "receipt.html", {"receipt": submitted.receipt, "kind": "report"})


# -- report an image of me ---------------------------------------------------------------------


def _age_choices(request: Request) -> list[tuple[str, str]]:
    _ = request.state.gettext
    return [(band, _(labels.STATED_AGE_BAND[band])) for band in STATED_AGE_BANDS]


@router.get("/report/me", response_class=HTMLResponse)
def self_report_form(
    request: Request, principal: Annotated[Principal | None, requires(PUBLIC)]
) -> HTMLResponse:
    return _page(request, "self_report.html", {"ages": _age_choices(request), "errors": []})


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _self_report_input(form: FormData) -> service.ReportIn:
    fingerprints = []
    for hash_type in ("sha256", "md5", "pdq"):
        value = _field(form, hash_type)
        if value:
            quality_text = _field(form, "pdq_quality") if hash_type == "pdq" else ""
            quality = int(quality_text) if quality_text.isdigit() else None
            if hash_type == "pdq" and quality is None:
                quality = 0  # a PDQ without quality is stored, never matched
            fingerprints.append(service.FingerprintIn(hash_type, value, quality))
    age = _field(form, "age_band")
    kind = _field(form, "media_kind")
    return service.ReportIn(
        channel="self_report",
        incident_types=[],
        fingerprints=fingerprints,
        stated_age_band=age or None,
        media_kind=kind or None,
    )


def _store(request: Request, report: service.ReportIn) -> service.Submitted:
    """One public report, with its receipt, in a transaction of its own."""
    with get_db(request).transaction() as session:
        return service.submit_report(session, report, with_receipts=True)


@router.post("/report/me", response_class=HTMLResponse)
async def self_report_submit(
    request: Request, principal: Annotated[Principal | None, requires(PUBLIC)]
) -> HTMLResponse:
    _flood_check(request)
    report = _self_report_input(await request.form())
    try:
        submitted = await run_in_threadpool(_store, request, report)
    except service.IntakeInvalid:
        _ = request.state.gettext
        return _page(
            request,
            "self_report.html",
            {
                "ages": _age_choices(request),
                "errors": [
                    _(
                        "We did not get the fingerprints of your file. Please choose the file "
                        "again and wait until the page says it is ready."
                    )
                ],
            },
            status=400,
        )
    return _page(request, "receipt.html", {"receipt": submitted.receipt, "kind": "self_report"})


# -- check my report ---------------------------------------------------------------------------


@router.get("/report/status", response_class=HTMLResponse)
def status_form(
    request: Request, principal: Annotated[Principal | None, requires(PUBLIC)]
) -> HTMLResponse:
    return _page(request, "status.html", {"status": None, "error": None})


def _lookup(request: Request, code: str) -> str | None:
    with get_db(request).transaction() as session:
        return service.status_by_receipt(session, code)


@router.post("/report/status", response_class=HTMLResponse)
async def status_lookup(
    request: Request, principal: Annotated[Principal | None, requires(PUBLIC)]
) -> HTMLResponse:
    _flood_check(request)
    _ = request.state.gettext
    code = _field(await request.form(), "code")
    try:
        status = await run_in_threadpool(_lookup, request, code)
    except receipts.ReceiptFormatError:
        return _page(
            request,
            "status.html",
            {
                "status": None,
                "error": _(
                    "This does not look like a receipt code. A code has 28 letters and numbers, "
                    "for example 7KQ2-M9XD-..."
                ),
            },
            status=400,
        )
    if status is None:
        return _page(
            request,
            "status.html",
            {
                "status": None,
                "error": _(
                    "We could not find a report with this code. Check the code and try again."
                ),
            },
            status=404,
        )
    coarse = states.PUBLIC_STATUS[status]
    return _page(
        request, "status.html", {"status": coarse, "status_text": _(labels.PUBLIC_STATUS[coarse])}
    )


# -- get help ----------------------------------------------------------------------------------


@router.get("/help", response_class=HTMLResponse)
def help_page(
    request: Request, principal: Annotated[Principal | None, requires(PUBLIC)]
) -> HTMLResponse:
    return _page(request, "help.html")


# The analysts' queue (opschub.intake.queue_views) joins this router: imported last, it reads the
# labels above.
from opschub.intake.queue_views import router as _queue_router  # noqa: E402

router.include_router(_queue_router)


# -- rejecting self-reported fingerprints --------------------------------------------------------


def _reject_page(
    request: Request,
    report_id: str,
    *,
    errors: list[str] | None = None,
    rejected: int | None = None,
    status: int = 200,
) -> HTMLResponse:
    with get_db(request).read() as session:
        try:
            report = service.get_report(session, report_id)
        except service.UnknownReport:
            raise HTTPException(status_code=404, detail="no such report") from None
        fingerprints = service.self_reported_fingerprints(report)
    return render(
        request,
        "intake/reject.html",
        {
            "report": report,
            "fingerprints": fingerprints,
            "errors": errors or [],
            "rejected": rejected,
        },
        status_code=status,
    )


@router.get("/queue/{report_id}/reject-fingerprints", response_class=HTMLResponse)
def reject_form(
    request: Request,
    report_id: str,
    principal: Annotated[Principal, requires("hashlists.manage")],
    rejected: int | None = None,
) -> HTMLResponse:
    return _reject_page(request, report_id, rejected=rejected)


@router.post("/queue/{report_id}/reject-fingerprints", response_class=HTMLResponse)
async def reject_submit(
    request: Request, report_id: str, principal: Annotated[Principal, requires("hashlists.manage")]
) -> Response:
    form = await request.form()
    hashes = [v for v in form.getlist("hash") if isinstance(v, str)][: service.MAX_REJECT_HASHES]
    reason = _field(form, "reason")

    def reject() -> int:
        with get_db(request).transaction() as session:
            service.get_report(session, report_id)  # 404 for an unknown report
            done = service.reject_self_reported(session, hashes, reason=reason, actor=principal)
            return len(done.removed)

    try:
        count = await run_in_threadpool(reject)
    except service.UnknownReport:
        raise HTTPException(status_code=404, detail="no such report") from None
    except service.IntakeInvalid as exc:
        _ = request.state.gettext
        messages = []
        for error in exc.errors:
            if error.field == "/reason":
                messages.append(
                    _("Please say why these entries are rejected (at most 500 characters).")
                )
            else:
                messages.append(_("Please choose at least one fingerprint of this report."))
        return _reject_page(request, report_id, errors=list(dict.fromkeys(messages)), status=400)
    return RedirectResponse(
        link(request, f"/queue/{report_id}/reject-fingerprints", rejected=str(count)),
        status_code=303,
    )
