"""The accounts capability's scheduled work: the weekly review of credential changes.

An administrator who resets someone's password could read what that person may read; the person
sees a notice at their next login, and every week this job puts the week's credential changes
(resets, role changes, tokens, lock-outs) in one audit event that auditors find on the audit page.
"""

from __future__ import annotations

from collections import Counter

from opschub.jobs.registry import task
from opschub.jobs.runner import JobContext

REVIEW_DAYS = 7
# Resets are listed one by one (who reset whom, when); everything else is counted.
LISTED_ACTIONS = frozenset({"accounts.password.reset", "accounts.totp.reset"})
MAX_LISTED = 100


@task("accounts.credential_review", max_attempts=3)
def credential_review(ctx: JobContext) -> None:
    from opschub.accounts import service
    from opschub.audit import service as audit

    days = int(ctx.payload.get("days", REVIEW_DAYS))
    with ctx.database.read() as session:
        events = service.credential_changes(session, days)
        counts = Counter(event.action for event in events)
        resets = [
            {
                "action": event.action,
                "by": event.actor_label,
                "target_id": event.target_id,
                "at": event.occurred_at.isoformat(timespec="seconds"),
            }
            for event in events
            if event.action in LISTED_ACTIONS
        ]
    with ctx.transaction() as session:
        audit.record(
            session,
            action="accounts.credential_review",
            actor_label="weekly review",
            target_type="audit_log",
            details={
                "days": days,
                "changes": len(events),
                "by_action": dict(sorted(counts.items())),
                "resets": resets[:MAX_LISTED],
                "resets_not_listed": max(0, len(resets) - MAX_LISTED),
            },
        )
