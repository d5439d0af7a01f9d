"""The administrator's Jobs page: what is queued, running (with progress), failed (with the
error), the next scheduled runs and the workers; retry and cancel (``jobs.manage``, audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.responses import Response as FastAPIResponse

from opschub.jobs import schedules, service
from opschub.text import N_
from opschub.web.auth import Principal, requires
from opschub.web.deps import DbSession
from opschub.web.nav import NavItem
from opschub.web.templating import link, render

router = APIRouter(include_in_schema=False)

NAV = [NavItem("Jobs", "/admin/jobs", "jobs.manage", order=92)]

STATE_LABELS = {
    "queued": N_("Queued"),
    "running": N_("Running"),
    "done": N_("Done"),
    "failed": N_("Failed"),
    "cancelled": N_("Cancelled"),
}
SHOWN = {"running": 100, "queued": 100, "failed": 100, "done": 20}


def _page(
    request: Request, session: DbSession, *, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    settings = request.app.state.settings
    groups = {
        state: service.list_jobs(session, states=[state], limit=limit)
        for state, limit in SHOWN.items()
    }
    return render(
        request,
        "jobs/jobs.html",
        {
            "groups": groups,
            "counts": service.counts(session),
            "state_labels": STATE_LABELS,
            "next_runs": schedules.next_runs(settings.schedules),
            "workers": service.workers(session),
            "mode": "broker" if settings.broker_url else "embedded",
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/admin/jobs", response_class=HTMLResponse)
def jobs_page(
    request: Request, principal: Annotated[Principal, requires("jobs.manage")], session: DbSession
) -> HTMLResponse:
    return _page(request, session)


def _act(
    request: Request, session: DbSession, principal: Principal, job_id: str, action: str
) -> FastAPIResponse:
    _ = request.state.gettext
    try:
        if action == "retry":
            service.retry(session, job_id, principal)
        else:
            service.cancel(session, job_id, principal)
    except service.JobNotFound:
        return _page(request, session, error=_("That job no longer exists."), status_code=404)
    except service.JobError:
        message = (
            _("Only a failed or cancelled job can be retried.")
            if action == "retry"
            else _("A finished job cannot be cancelled.")
        )
        return _page(request, session, error=message, status_code=400)
    return RedirectResponse(link(request, "/admin/jobs"), status_code=303)


@router.post("/admin/jobs/{job_id}/retry", response_class=HTMLResponse)
def job_retry(
    request: Request,
    job_id: str,
    principal: Annotated[Principal, requires("jobs.manage")],
    session: DbSession,
) -> FastAPIResponse:
    return _act(request, session, principal, job_id, "retry")


@router.post("/admin/jobs/{job_id}/cancel", response_class=HTMLResponse)
def job_cancel(
    request: Request,
    job_id: str,
    principal: Annotated[Principal, requires("jobs.manage")],
    session: DbSession,
) -> FastAPIResponse:
    return _act(request, session, principal, job_id, "cancel")
