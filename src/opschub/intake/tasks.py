"""Intake's background work: the on-call alert when an urgent or high report arrives.

The people on shift see a notice in the queue (it polls); someone off shift gets a signed webhook
at ``OPSCHUB_ONCALL_WEBHOOK_URL`` (a pager or chat bridge). The message carries the reports'
short references, levels, times and links to the queue: never a reported URL, a fingerprint or
anything a reporter wrote, since it leaves the system.
"""

from __future__ import annotations

import json

from opschub.jobs.registry import task
from opschub.jobs.runner import JobContext

KIND = "intake.alert_on_call"


@task(KIND, max_attempts=8, backoff_seconds=30.0, backoff_cap_seconds=1800.0)
def alert_on_call(ctx: JobContext) -> None:
    import httpx
    from sqlalchemy import select

    from opschub.config import get_settings
    from opschub.intake import states
    from opschub.intake.models import Report
    from opschub.webhooks import sign_webhook

    settings = get_settings()
    ids = [str(i) for i in ctx.payload.get("reports", [])]
    if settings.oncall_webhook_url and ids:
        if not settings.oncall_webhook_secret:
            raise RuntimeError("set OPSCHUB_ONCALL_WEBHOOK_SECRET: on-call alerts are signed")
        with ctx.database.read() as session:
            rows = session.execute(
                select(Report.id, Report.reference, Report.priority, Report.created_at)
                .where(Report.id.in_(ids))
                .order_by(Report.priority.desc(), Report.created_at)
            ).all()
        body = json.dumps(
            {
                "event": "reports.high_priority",
                "reports": [
                    {
                        "reference": row.reference,
                        "level": states.level_of(row.priority),
                        "received_at": row.created_at.isoformat(timespec="seconds"),
                        "link": f"{settings.base_url}/queue/{row.id}",
                    }
                    for row in rows
                ],
            },
            ensure_ascii=False,
        ).encode()
        # The job's key is the receiver's idempotency key: a retry after a lost answer is the
        # same alert, not a new one.
        headers = sign_webhook(settings.oncall_webhook_secret.encode(), body, notice_id=ctx.key)
        response = httpx.post(
            settings.oncall_webhook_url, content=body, headers=headers, timeout=10
        )
        response.raise_for_status()  # a refusal is retried with backoff, then shown as failed
    with ctx.transaction():
        pass
