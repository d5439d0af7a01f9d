"""`opschub jobs list|retry|cancel`, `opschub doctor` and `opschub worker` without a broker."""

from __future__ import annotations

import json
import os
import stat
from datetime import timedelta
from pathlib import Path

import jobs_helpers  # noqa: F401  (declares the test tasks)
import pytest
from typer.testing import CliRunner

from opschub import config, migrate
from opschub.cli import app
from opschub.clock import frozen, utcnow
from opschub.db import Database, get_database
from opschub.jobs import service
from opschub.jobs.runner import run_job


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def _failed(database: Database) -> str:
    with database.transaction() as session:
        job_id = service.schedule(session, kind="jobstest.broken", key="recheck-9").id
    start = utcnow()
    for minute in (1, 2, 3):
        with frozen(start + timedelta(minutes=minute)):
            run_job(database, job_id, "w")
    return job_id


def test_jobs_list_shows_failures_and_retry_requeues(database: Database) -> None:
    job_id = _failed(database)
    code, output = _invoke("jobs", "list", "--format", "json")
    assert code == 0
    listed = json.loads(output)
    assert listed["counts"]["failed"] == 1
    (row,) = listed["jobs"]
    assert row["id"] == job_id and "cannot reach the service" in row["last_error"]
    code, text_output = _invoke("jobs", "list", "--state", "failed")
    assert code == 0 and job_id in text_output and "last error" in text_output
    assert _invoke("jobs", "list", "--state", "stuck")[0] == 2

    code, output = _invoke("jobs", "retry", job_id)
    assert code == 0 and "queued" in output
    code, output = _invoke("jobs", "retry", job_id)
    assert code == 1 and "only a failed or cancelled job" in output
    assert _invoke("jobs", "retry", "no-such-job") == (
        1,
        "opschub jobs retry: no job no-such-job\n",
    )
    assert _invoke("jobs", "cancel", job_id)[0] == 0


def test_doctor_names_what_to_fix(
    settings: config.Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPSCHUB_SECRET_KEY")
    monkeypatch.setenv("OPSCHUB_BROKER_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    config.get_settings.cache_clear()
    settings = config.get_settings()
    key = settings.data_dir / "secret.key"
    key.write_text("x" * 48)
    os.chmod(key, 0o644)

    code, output = _invoke("doctor")
    assert code == 1
    assert f"fix: chmod 600 {key}" in output
    assert "fix: opschub db upgrade" in output
    assert "FAIL broker: redis://127.0.0.1:1/0" in output
    assert "ok   disk space" in output

    os.chmod(key, stat.S_IRUSR | stat.S_IWUSR)
    monkeypatch.delenv("OPSCHUB_BROKER_URL")
    config.get_settings.cache_clear()
    migrate.upgrade(get_database().engine)
    code, output = _invoke("doctor", "--format", "json")
    assert code == 0, output
    names = {check["name"] for check in json.loads(output)}
    assert {"database", "migrations", "broker", "clock", "disk space"} <= names


def test_a_worker_without_a_broker_runs_jobs_from_the_database(
    tmp_path: Path, database: Database, settings: config.Settings
) -> None:
    from opschub.jobs import dispatch
    from opschub.jobs.runtime import JobRuntime

    runtime = JobRuntime(settings, database, threads=1)
    runtime.start()
    try:
        code, output = _invoke("jobs", "probe", "--timeout", "60")
    finally:
        runtime.stop()
        dispatch.reset()
    assert code == 0, output
    with database.read() as session:
        assert service.workers(session) == []  # signed off when it stopped


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not json", "OPSCHUB_SCHEDULES: must be JSON"),
        ('{"jobs.prune": "every day"}', "jobs.prune: 'every day' is not a cron expression"),
    ],
)
def test_a_bad_schedule_stops_start_up_naming_it(
    value: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSCHUB_SCHEDULES", value)
    with pytest.raises(config.SettingsError, match=message):
        config.load_settings()
