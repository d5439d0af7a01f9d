"""Cases' background work: sending referrals to partner services, and the daily review of
proceedings waiting longer than their targets (para 98), limitation deadlines coming near
(para 95), steps the child has not been told of (para 92) and overdue referrals. The review first
computes again the deadlines of offences whose national rule changed since they were recorded.

The daily review writes one audit event with the counts and the case ids (never names) of the first
:data:`MAX_LISTED` of each list; the case workers see the same lists, paged, on their dashboard
(/cases/dashboard). Alarms and reminders are read from the state kept at write time
(:mod:`opschub.cases.stages_state`).
"""

from __future__ import annotations

from opschub.jobs.registry import task
from opschub.jobs.runner import JobContext

SEND_KIND = "cases.send_referral"
REVIEW_KIND = "cases.stage_alarms"
SEND_MAX_ATTEMPTS = 8
MAX_LISTED = 200
COUNT_CAP = 100_000


@task(SEND_KIND, max_attempts=SEND_MAX_ATTEMPTS, backoff_seconds=60.0, backoff_cap_seconds=3600.0)
def send_referral(ctx: JobContext) -> None:
    """Send one referral by signed webhook or email. A temporary failure (a 4xx answer, a relay
    out of reach) is retried with backoff and the last one marks the referral's sending as
    failed (shown on the case); a permanent one (a 5xx answer, a relay without the STARTTLS it
    must offer, a certificate that does not check) marks it failed at once and is not retried."""
    from opschub import mail
    from opschub.cases import referrals
    from opschub.config import get_settings
    from opschub.jobs.runner import GiveUp

    settings = get_settings()
    referral_id = str(ctx.payload["referral_id"])
    with ctx.database.read() as session:
        message = referrals.outgoing(
            session,
            referral_id,
            base_url=settings.base_url,
            default_language=settings.default_language,
        )
    if message is None:
        with ctx.transaction():
            return
    try:
        if message.delivery == "webhook":
            _send_webhook(message, key=ctx.key)
        else:
            _send_email(message, key=ctx.key)
    except Exception as exc:
        permanent = isinstance(exc, mail.MailFailed) and exc.permanent
        if permanent or ctx.attempt >= SEND_MAX_ATTEMPTS:
            error = str(exc) if isinstance(exc, mail.MailFailed) else f"{type(exc).__name__}: {exc}"
            with ctx.database.transaction() as session:
                referrals.mark_failed(session, referral_id, error=error)
        if permanent:
            raise GiveUp(str(exc)) from exc
        raise
    with ctx.transaction() as session:
        referrals.mark_delivered(session, referral_id, how=message.delivery)


def _send_webhook(message: object, *, key: str) -> None:
    import httpx

    from opschub.cases.referrals import Outgoing, body_bytes
    from opschub.webhooks import sign_webhook

    assert isinstance(message, Outgoing)
    if not message.webhook_url or not message.webhook_secret:
        raise RuntimeError("the service has no webhook URL or secret")
    body = body_bytes(message)
    # The job's key is the receiver's idempotency key: a retry is the same referral.
    headers = sign_webhook(message.webhook_secret.encode(), body, notice_id=key)
    response = httpx.post(message.webhook_url, content=body, headers=headers, timeout=10)
    response.raise_for_status()


def _send_email(message: object, *, key: str) -> None:
    import json
    from email.message import EmailMessage
    from email.utils import make_msgid

    from opschub import mail
    from opschub.cases.referrals import Outgoing
    from opschub.config import get_settings

    assert isinstance(message, Outgoing)
    settings = get_settings()
    relay = mail.Relay.from_settings(settings)
    if not settings.cases_mail_from:
        raise mail.MailFailed(
            "OPSCHUB_CASES_MAIL_FROM is not set: referrals by email cannot go out"
        )
    if not message.email:
        raise RuntimeError("the service has no email address")
    email = EmailMessage()
    email["From"] = settings.cases_mail_from
    email["To"] = message.email
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(idstring=key.replace(":", "."), domain="opschub.invalid")
    email["Auto-Submitted"] = "auto-generated"
    # The text in the service's language (referrals.message_language); the header moves to the
    # text part when the JSON attachment makes the message multipart.
    email.set_content(message.text, charset="utf-8")
    email["Content-Language"] = message.language
    body = message.body
    email.add_attachment(
        json.dumps(body, ensure_ascii=False, sort_keys=True).encode(),
        maintype="application",
        subtype="json",
        filename=f"referral-{message.referral_id}.json",
    )
    email["Content-Language"] = message.language  # and the whole message's
    # The installation's relay: its login, STARTTLS (required if OPSCHUB_SMTP_REQUIRE_TLS), the
    # relay's certificate checked against OPSCHUB_SMTP_CA_FILE; a refusal raises MailFailed.
    mail.send(relay, email)


@task(REVIEW_KIND, max_attempts=3)
def stage_alarms(ctx: JobContext) -> None:
    """The daily review: one audit event listing what waits too long or is due."""
    from opschub.audit import service as audit
    from opschub.cases import informing, proceedings, referrals
    from opschub.clock import utcnow
    from opschub.config import get_settings

    settings = get_settings()
    today = utcnow().date()
    targets = settings.cases_stage_targets
    # A changed national rule moves the deadlines of the offences it covers (audited each);
    # a retry finds nothing left to do.
    with ctx.database.transaction() as session:
        recomputed = len(proceedings.recompute_for_rules(session))
    with ctx.database.read() as session:
        alarms = proceedings.stage_alarms(session, today=today, targets=targets, limit=MAX_LISTED)
        alarms_total = proceedings.count_stage_alarms(
            session, today=today, targets=targets, cap=COUNT_CAP
        )
        warnings = proceedings.limitation_warnings(
            session, today=today, warn_days=settings.cases_limitation_warn_days
        )
        reminders = informing.reminders(
            session, today=today, within_days=settings.cases_inform_within_days, limit=MAX_LISTED
        )
        reminders_total = informing.count_reminders(session, cap=COUNT_CAP)
        overdue = referrals.overdue(session, today=today)
    with ctx.transaction() as session:
        audit.record(
            session,
            action="cases.followup.reviewed",
            actor_label="daily case review",
            target_type="case",
            details={
                # how many in all (counted up to COUNT_CAP + 1); the lists name the first ones
                "alarms_total": alarms_total,
                "reminders_total": reminders_total,
                "recomputed": recomputed,
                "alarms": [
                    {"case": a.case_id, "stage": a.stage, "days": a.days, "target": a.target}
                    for a in alarms[:MAX_LISTED]
                ],
                "warnings": [
                    {"case": w.case_id, "falls_on": w.falls_on.isoformat() if w.falls_on else None}
                    for w in warnings[:MAX_LISTED]
                ],
                "reminders": [
                    {"case": r.case_id, "step": r.kind, "days": r.days}
                    for r in reminders[:MAX_LISTED]
                ],
                "overdue_referrals": [
                    {"case": r.case_id, "due_on": r.due_on.isoformat() if r.due_on else None}
                    for r in overdue[:MAX_LISTED]
                ],
            },
        )
