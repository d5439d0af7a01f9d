"""The vault's scheduled work: the daily list of items whose retention has run out.

The job never destroys anything: destruction of due items runs only when a person confirms the
list (``opschub evidence retention due``, then ``destroy ... --yes``). It records the list in the
audit log, so that what was due, and since when, is on record whether or not anyone acted.
"""

from __future__ import annotations

from opschub.jobs.registry import task
from opschub.jobs.runner import JobContext

MAX_LISTED = 500


@task("evidence.retention_review", max_attempts=3)
def retention_review(ctx: JobContext) -> None:
    from opschub.audit import service as audit
    from opschub.evidence import service

    with ctx.database.read() as session:
        due = service.due_for_destruction(session)
    with ctx.transaction() as session:
        audit.record(
            session,
            action="evidence.retention.reviewed",
            actor_label="daily retention review",
            target_type="evidence_vault",
            details={
                "due": len(due),
                "items": [
                    {
                        "item_id": d.item_id,
                        "rule": d.rule_name,
                        "due_since": d.due_since.isoformat(timespec="seconds"),
                    }
                    for d in due[:MAX_LISTED]
                ],
            },
        )
