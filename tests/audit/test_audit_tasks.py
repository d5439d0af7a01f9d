"""The scheduled work of audit and accounts runs as jobs: checkpoints and the weekly review."""

from __future__ import annotations

from pathlib import Path

from factories import create_user
from opschub.accounts import service as accounts
from opschub.accounts.permissions import Role
from opschub.audit import service as audit
from opschub.audit.models import AuditEvent
from opschub.config import DEFAULT_SCHEDULES, Settings
from opschub.db import Database
from opschub.jobs import service as jobs
from opschub.jobs.runner import run_job


def _run(database: Database, kind: str, key: str) -> str | None:
    with database.transaction() as session:
        job_id = jobs.schedule(session, kind=kind, key=key).id
    return run_job(database, job_id, "test-worker")


def test_both_jobs_are_scheduled_by_default() -> None:
    assert "audit.checkpoint" in DEFAULT_SCHEDULES
    assert "accounts.credential_review" in DEFAULT_SCHEDULES


def test_the_checkpoint_job_anchors_the_log_outside_the_database(
    database: Database, settings: Settings
) -> None:
    with database.transaction() as session:
        audit.record(session, action="test.event", actor_label="test")
    assert _run(database, "audit.checkpoint", "cp-1") == "done"
    names = [p.name for p in Path(settings.resolved_audit_anchor_dir).glob("checkpoint-*.json")]
    assert len(names) == 1
    with database.read() as session:
        assert audit.verify_chain(session).intact


def test_the_weekly_review_lists_who_reset_whose_password(database: Database) -> None:
    analyst, _ = create_user(database, Role.ANALYST, username="amy")
    admin, _ = create_user(database, Role.ADMIN, username="root-admin")
    with database.transaction() as session:
        actor = accounts.user_principal(accounts.get_user(session, admin.id))
        accounts.reset_password(session, analyst.id, actor)
    assert _run(database, "accounts.credential_review", "review-1") == "done"
    with database.read() as session:
        review = session.query(AuditEvent).filter_by(action="accounts.credential_review").one()
    assert review.details["by_action"]["accounts.password.reset"] == 1
    (reset,) = review.details["resets"]
    assert reset["target_id"] == analyst.id and reset["by"] == "root-admin"
