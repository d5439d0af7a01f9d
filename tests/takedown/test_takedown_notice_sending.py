"""Notices for a confirmed target: who is told, delivery by SMTP (STARTTLS) and by signed
webhook, retries with backoff after a refusal, exactly one message when the worker is killed
between sending and recording, and the recipient's answer by link or API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
import xarf
from notice_helpers import (
    Inbox,
    Mailbox,
    confirmed_target,
    hosting,
    job,
    jobs_like,
    make_due,
    run,
    smtp_server,
    webhook_receiver,
)
from sqlalchemy import select

from opschub import config
from opschub.audit.models import AuditEvent
from opschub.clock import as_utc
from opschub.db import Database
from opschub.takedown import notifying, partners
from opschub.takedown.notice_models import Notice, NoticeAttempt, Partner
from opschub.terms.checker import check

SECRET = "partner-webhook-secret-0123456789"


def configure(monkeypatch: pytest.MonkeyPatch, **values: object) -> config.Settings:
    for name, value in values.items():
        monkeypatch.setenv(f"OPSCHUB_{name.upper()}", str(value))
    config.get_settings.cache_clear()
    return config.get_settings()


def relay(monkeypatch: pytest.MonkeyPatch, port: int, cert: Path, **values: object) -> None:
    configure(
        monkeypatch,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_require_tls="true",
        smtp_ca_file=cert,
        **values,
    )


def notices(database: Database, target_id: str) -> list[Notice]:
    with database.read() as session:
        rows = notifying.notices_of(session, target_id)
        for row in rows:
            session.expunge(row)
        return rows


def attempts(database: Database, notice_id: str) -> list[NoticeAttempt]:
    with database.read() as session:
        rows = list(
            session.scalars(
                select(NoticeAttempt)
                .where(NoticeAttempt.notice_id == notice_id)
                .order_by(NoticeAttempt.number)
            )
        )
        for row in rows:
            session.expunge(row)
        return rows


def notify(database: Database, target_id: str) -> list[Notice]:
    with database.transaction() as session:
        notifying.create_notices(session, target_id)
    return notices(database, target_id)


def test_a_confirmed_target_abroad_tells_host_cdn_origin_police_and_partner_once(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(
        monkeypatch,
        notice_police_name="Cybercrime unit",
        notice_police_address="cyber@police.example",
        notice_home_country="CN",
    )
    with database.transaction() as session:
        partners.add(
            session,
            None,
            partners.PartnerIn(
                "Example Hotline", "DE", "webhook", "https://h.example/n", "en", SECRET
            ),
        )
    behind_cdn = hosting(
        cdn="EXAMPLE-CDN",
        notify=[
            {"role": "cdn", "contact": {"email": "abuse@cdn.example", "name": "Example CDN"}},
            {
                "role": "origin",
                "contact": {
                    "email": "abuse@origin.example",
                    "name": "Origin",
                    "language": "zh-Hans",
                },
            },
        ],
    )
    target_id = confirmed_target(database, "https://shop.example/a.png", answer=behind_cdn)
    created = notify(database, target_id)
    assert sorted((n.recipient_kind, n.address, n.language) for n in created) == [
        ("cdn", "abuse@cdn.example", "en"),
        ("hotline", "https://h.example/n", "en"),
        ("origin", "abuse@origin.example", "zh-Hans"),
        ("police", "cyber@police.example", "en"),
    ]
    assert {n.state for n in created} == {"queued"}
    assert notify(database, target_id) == created or len(notify(database, target_id)) == 4
    sends = jobs_like(database, "takedown.notice_send:")
    assert len(sends) == 4 and {j.key.rsplit(":", 1)[1] for j in sends} == {"1"}
    with database.read() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.action == "takedown.notice.created")
        ).all()
    assert len(actions) == 4


def test_the_notify_job_runs_from_the_confirmation_schedule(database: Database) -> None:
    target_id = confirmed_target(database, "https://files.example/x.png")
    from opschub.jobs import service as jobs

    with database.transaction() as session:
        jobs.schedule(
            session,
            kind="takedown.notify",
            key=f"takedown.notify:{target_id}",
            payload={"target_id": target_id},
        )
    assert run(database, f"takedown.notify:{target_id}") == "done"
    [notice] = notices(database, target_id)
    assert notice.recipient_kind == "host" and notice.address == "abuse@hosting.example"


def test_an_email_notice_is_delivered_over_starttls_with_xarf_and_a_clean_body(
    database: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    mailbox = Mailbox()
    with smtp_server(tmp_path, mailbox) as (port, cert):
        relay(monkeypatch, port, cert)
        target_id = confirmed_target(database, "https://files.example/x.png")
        [notice] = notify(database, target_id)
        assert run(database, f"takedown.notice_send:{notice.id}:1") == "done"
    [(over_tls, recipients, content)] = mailbox.messages
    assert over_tls and recipients == ["abuse@hosting.example"]
    email = message_from_bytes(content, policy=policy.default)
    assert isinstance(email, EmailMessage)
    assert email["Message-ID"] == f"<notice-{notice.id}.1@hotline.example>"
    body = email.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "Statement of good faith" in text and "https://files.example/x.png" in text
    assert f"/notices/ack/{notice.id}/" in text
    assert check(text, lang="en", markup=False) == []
    reports = [
        json.loads(part.get_content())
        for part in email.iter_attachments()
        if part.get_content_type() == "application/json"
    ]
    assert reports and all(xarf.parse(r).errors == [] for r in reports)
    [sent] = notices(database, target_id)
    assert sent.state == "delivered" and sent.rounds == 1 and sent.sent_at is not None
    [attempt] = attempts(database, notice.id)
    assert attempt.state == "delivered" and attempt.tls is True
    from opschub.takedown import service as takedown

    with database.read() as session:
        view = takedown.get_target(session, target_id)
    assert view.state == "notified" and view.first_notice_at is not None
    # The first delivery schedules the first re-check, an interval later.
    [recheck] = jobs_like(database, f"takedown.recheck:{target_id}:")
    assert as_utc(recheck.due_at) - as_utc(sent.sent_at) == timedelta(minutes=60)


def test_a_refusal_is_retried_with_backoff_and_shown_then_delivered(
    database: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    mailbox = Mailbox(refuse=1)
    with smtp_server(tmp_path, mailbox) as (port, cert):
        relay(monkeypatch, port, cert)
        target_id = confirmed_target(database, "https://files.example/y.png")
        [notice] = notify(database, target_id)
        key = f"takedown.notice_send:{notice.id}:1"
        assert run(database, key) == "queued"
        queued = job(database, key)
        assert queued is not None and queued.last_error and "451" in queued.last_error
        assert as_utc(queued.due_at) - as_utc(queued.updated_at) == timedelta(seconds=60)
        [refused] = notices(database, target_id)
        assert refused.state == "queued" and "451" in (refused.last_error or "")
        assert run(database, key) is None  # not due yet: backoff
        make_due(database, key)
        assert run(database, key) == "done"
    assert len(mailbox.messages) == 1 and mailbox.refused == 1
    first, second = attempts(database, notice.id)
    assert (first.state, second.state) == ("refused", "delivered")
    [delivered] = notices(database, target_id)
    assert delivered.state == "delivered" and delivered.last_error is None


def test_a_permanent_refusal_fails_the_notice_at_once_without_more_tries(
    database: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    mailbox = Mailbox(refuse=5, answer="554 5.7.1 Message rejected as spam")
    with smtp_server(tmp_path, mailbox) as (port, cert):
        relay(monkeypatch, port, cert)
        target_id = confirmed_target(database, "https://files.example/z.png")
        [notice] = notify(database, target_id)
        key = f"takedown.notice_send:{notice.id}:1"
        assert run(database, key) == "failed"
        make_due(database, key)
        assert run(database, key) is None  # parked: no second try
    assert mailbox.refused == 1 and mailbox.messages == []
    [failed] = notices(database, target_id)
    assert failed.state == "failed" and "554" in (failed.last_error or "")
    [only] = attempts(database, notice.id)
    assert only.state == "refused"


def test_a_partner_hotline_gets_a_signed_webhook_in_its_language(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = Inbox(SECRET.encode())
    with webhook_receiver(inbox) as url:
        configure(monkeypatch, notice_home_country="CN")
        with database.transaction() as session:
            partners.add(
                session,
                None,
                partners.PartnerIn("Hotline DE", "DE", "webhook", url, "zh-Hans", SECRET),
            )
        target_id = confirmed_target(
            database, "https://files.example/z.png", answer=hosting(notify=[])
        )
        created = notify(database, target_id)
        hotline = next(n for n in created if n.recipient_kind == "hotline")
        assert run(database, f"takedown.notice_send:{hotline.id}:1") == "done"
    [received] = inbox.processed
    assert inbox.refused_signatures == 0
    assert received["key"] == f"{hotline.id}.1"
    assert received["headers"]["X-Opschub-Notice-Id"] == hotline.id
    payload = received["body"]
    assert payload["role"] == "hotline" and payload["language"] == "zh-Hans"
    assert (
        "儿童性虐待材料" in payload["body"]
        and check(payload["body"], lang="zh", markup=False) == []
    )
    assert all(xarf.parse(r).errors == [] for r in payload["reports"])


def test_the_webhook_secret_is_encrypted_at_rest(database: Database) -> None:
    with database.transaction() as session:
        partners.add(
            session,
            None,
            partners.PartnerIn("H", "NL", "webhook", "https://h.example/", "en", SECRET),
        )
    with database.engine.connect() as conn:
        raw = conn.exec_driver_sql("SELECT webhook_secret FROM takedown_partners").scalar_one()
    assert SECRET.encode() not in bytes(raw)
    with database.read() as session:
        assert session.scalars(select(Partner.webhook_secret)).one() == SECRET


KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from opschub import config
    from opschub.db import Database, set_database
    from opschub.jobs.runner import run_job
    from opschub.takedown import sending

    def die(key):  # the message has left; the worker dies before recording it
        os.kill(os.getpid(), signal.SIGKILL)

    sending.after_send = die
    database = Database(sys.argv[1])
    set_database(database)
    print("ended as", run_job(database, sys.argv[2], "doomed-worker"), file=sys.stderr)
    """
)


def _kill_between_send_and_record(database: Database, job_id: str, tmp_path: Path) -> int:
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    env = dict(os.environ)
    result = subprocess.run(
        [sys.executable, str(script), database.url, job_id],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == -9, result.stderr.decode()[-3000:]
    return result.returncode


def _take_back(database: Database) -> None:
    from opschub.jobs import service as jobs

    with database.transaction() as session:
        jobs.sweep(session, stale_seconds=-1, redeliver_seconds=0)


def test_a_worker_killed_between_sending_and_recording_an_email_sends_it_once(
    database: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if database.engine.dialect.name == "sqlite":
        database.engine.dispose()
    mailbox = Mailbox()
    with smtp_server(tmp_path, mailbox) as (port, cert):
        relay(monkeypatch, port, cert)
        target_id = confirmed_target(database, "https://files.example/k.png")
        [notice] = notify(database, target_id)
        key = f"takedown.notice_send:{notice.id}:1"
        found = job(database, key)
        assert found is not None
        assert _kill_between_send_and_record(database, found.id, tmp_path) == -9
        assert len(mailbox.messages) == 1  # it left before the kill
        [left] = attempts(database, notice.id)
        assert left.state == "sending"
        _take_back(database)
        assert run(database, key) == "done"
    assert len(mailbox.messages) == 1  # not sent a second time
    [attempt] = attempts(database, notice.id)
    assert attempt.state == "unconfirmed"
    [sent] = notices(database, target_id)
    assert sent.state == "sent" and sent.sent_at is not None


def test_a_worker_killed_after_a_webhook_post_repeats_the_same_key_and_it_is_processed_once(
    database: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    inbox = Inbox(SECRET.encode())
    with webhook_receiver(inbox) as url:
        configure(monkeypatch, notice_webhook_secret=SECRET)
        answer = hosting(
            notify=[{"role": "host", "contact": {"email": "a@h.example", "webhook": url}}]
        )
        target_id = confirmed_target(database, "https://files.example/w.png", answer=answer)
        [notice] = notify(database, target_id)
        assert notice.channel == "webhook"
        key = f"takedown.notice_send:{notice.id}:1"
        found = job(database, key)
        assert found is not None
        assert _kill_between_send_and_record(database, found.id, tmp_path) == -9
        _take_back(database)
        assert run(database, key) == "done"
    assert inbox.posts == 2 and len(inbox.processed) == 1
    assert inbox.processed[0]["key"] == f"{notice.id}.1"
    [attempt] = attempts(database, notice.id)
    assert attempt.state == "delivered"


def test_the_recipient_answers_by_api_and_by_the_link_and_a_wrong_token_is_refused(
    database: Database, client, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    target_id = confirmed_target(database, "https://files.example/a.png")
    [notice] = notify(database, target_id)
    token = notifying.ack_token(notice.id)
    wrong = client.post(f"/api/v1/notices/{notice.id}/ack", json={"token": "x" * 20})
    assert wrong.status_code == 404
    answered = client.post(f"/api/v1/notices/{notice.id}/ack", json={"token": token})
    assert answered.status_code == 200 and answered.json()["state"] == "acknowledged"
    page = client.get(f"/notices/ack/{notice.id}/{token}")
    assert page.status_code == 200 and "set-cookie" not in page.headers
    from factories import csrf_token

    done = client.post(
        f"/notices/ack/{notice.id}/{token}",
        data={"status": "disputed", "csrf_token": csrf_token(page.text)},
    )
    assert done.status_code == 200 and 'data-done="disputed"' in done.text
    assert client.get(f"/notices/ack/{notice.id}/not-the-token").status_code == 404
    with database.read() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.target_id == notice.id).order_by(AuditEvent.seq)
        ).all()
    assert [e.action for e in events][-2:] == [
        "takedown.notice.acknowledged",
        "takedown.notice.disputed",
    ]
    assert all(e.actor_kind == "public" for e in events[-2:])
