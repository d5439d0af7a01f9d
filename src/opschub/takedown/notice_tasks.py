"""Notice jobs: create the notices of a confirmed target, send each (with retries), re-check.

- ``takedown.notify`` (key ``takedown.notify:TARGET``, scheduled when a target is confirmed):
  creates the target's notices and a send job for each.
- ``takedown.notice_send`` (key ``takedown.notice_send:NOTICE:ROUND``): one round of one notice.
  A refusal fails the run, and the job worker tries again after a doubling wait; each try is
  a new attempt number. A permanent mail refusal (``mail.MailFailed.permanent``) fails the
  notice at once. See :mod:`opschub.takedown.notifying` for what happens after a crash.
- ``takedown.recheck`` (key ``takedown.recheck:TARGET:N``): one look at a notified URL; it
  records the outcome, re-sends and escalates when due, and schedules the next look.
"""

from __future__ import annotations

from opschub.jobs.registry import task
from opschub.jobs.runner import JobContext

SEND_MAX_ATTEMPTS = 8


@task("takedown.notify", max_attempts=5, backoff_seconds=30.0)
def notify(ctx: JobContext) -> None:
    from opschub.takedown import notifying

    with ctx.transaction() as session:
        notifying.create_notices(session, str(ctx.payload["target_id"]))


@task(
    "takedown.notice_send",
    max_attempts=SEND_MAX_ATTEMPTS,
    backoff_seconds=60.0,
    backoff_cap_seconds=3600.0,
)
def send(ctx: JobContext) -> None:
    from opschub import mail
    from opschub.config import get_settings
    from opschub.takedown import notifying, sending

    notice_id = str(ctx.payload["notice_id"])
    round_ = int(ctx.payload.get("round", 1))
    last_try = ctx.attempt >= SEND_MAX_ATTEMPTS
    with ctx.database.transaction() as session:
        plan = notifying.begin_attempt(session, notice_id, round_)
    if plan.action == "nothing":
        with ctx.transaction():
            return
    if plan.action == "reconcile" and plan.channel == "email":
        with ctx.transaction() as session:
            notifying.reconcile_unconfirmed(session, notice_id, plan.number, round_)
        return
    key = sending.attempt_key(notice_id, plan.number)
    with ctx.database.read() as session:
        message = notifying.message_for(session, notice_id)
    try:
        if plan.channel == "email":
            relay = mail.Relay.from_settings(get_settings())
            sent = sending.send_email(relay, sending.email_for(message, plan.number), key)
        else:
            body = sending.webhook_body(message, plan.number)
            sent = sending.send_webhook(
                plan.address, plan.secret or "", body, notice_id=notice_id, key=key
            )
    except (sending.SendFailed, mail.MailFailed) as exc:
        # A refusal no retry can change (a 5xx answer, a relay without the STARTTLS it must
        # offer, a certificate the CA does not vouch for) fails the notice now, as the last
        # try would, instead of after seven more tries over hours.
        permanent = exc.permanent
        with ctx.database.transaction() as session:
            notifying.finish_attempt(
                session,
                notice_id,
                plan.number,
                round_,
                ok=False,
                detail=str(exc),
                last_try=last_try or permanent,
            )
        if permanent:
            from opschub.jobs.runner import GiveUp

            raise GiveUp(str(exc)) from exc
        raise
    with ctx.transaction() as session:
        notifying.finish_attempt(
            session, notice_id, plan.number, round_, ok=True, detail=sent.detail, tls=sent.tls
        )


@task("takedown.recheck", max_attempts=3, backoff_seconds=300.0)
def recheck(ctx: JobContext) -> None:
    from opschub.config import get_settings
    from opschub.takedown import notifying
    from opschub.takedown import recheck as rechecking
    from opschub.takedown import service as takedown

    target_id = str(ctx.payload["target_id"])
    with ctx.database.read() as session:
        target = takedown.get_target(session, target_id)
        previous = notifying.last_validators(session, target_id)
    if target.state != "notified":
        with ctx.transaction():
            return
    with rechecking.fetcher_from_settings(get_settings()) as fetcher:
        result = rechecking.recheck_url(fetcher, target.url, target.sha256s, previous)
    with ctx.transaction() as session:
        notifying.record_recheck(session, target_id, result)
