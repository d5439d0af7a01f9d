"""Notices for confirmed targets: who is told, every try to tell them, re-checks and escalation.

The only writer of ``takedown_notices``, ``takedown_notice_attempts`` and ``takedown_rechecks``.
Every change of a notice's state writes an audit event in the same transaction. The target itself
is read and moved through :mod:`opschub.takedown.service` (``get_target``, ``items_of``,
``mark_notified``, ``mark_removed``), never through its table.

Sending is idempotent by notice and try: :func:`begin_attempt` commits a ``sending`` row before
the message leaves; :func:`finish_attempt` records the answer. A try still ``sending`` when the
next run starts was cut off by a dead worker: an email is then recorded ``unconfirmed`` and not
sent again (SMTP cannot be asked whether it arrived; the next re-send round comes with the
re-check), a webhook is posted again with the same ``Idempotency-Key``, which the receiver
de-duplicates.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from opschub.audit import service as audit
from opschub.audit.service import Actor
from opschub.clock import as_utc, utcnow
from opschub.takedown import notices as messages
from opschub.takedown import partners as partner_service
from opschub.takedown.notice_models import (
    OPEN_NOTICE_STATES,
    Notice,
    NoticeAttempt,
    Partner,
    Recheck,
)

TARGET_TYPE = "takedown_notice"
SYSTEM_LABEL = "takedown notices"
SEND_KIND = "takedown.notice_send"
RECHECK_KIND = "takedown.recheck"
XARF_CLASSES = ("A1", "A2", "B1", "B2")
# States from which a notice is still being pursued (re-sent, escalated, closed by removal).
PURSUED = ("sent", "delivered", "acknowledged", "escalated")
LANGS = ("en", "zh-Hans")


class NoticeError(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


class NoticeNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Recipient:
    kind: str  # host, cdn, origin, police, hotline
    name: str
    channel: str
    address: str
    language: str = "en"
    partner_id: str | None = None


def _settings() -> Any:
    from opschub.config import get_settings

    return get_settings()


def _takedown() -> Any:
    from opschub.takedown import service

    return service


# -- who is told ------------------------------------------------------------------------------


def recipients_for(session: Session, target: Any, settings: Any) -> list[Recipient]:
    """The hosting provider (the CDN and the origin for content behind a CDN), the police unit
    and, when the content is hosted abroad, the partner hotlines of the hosting country."""
    found: list[Recipient] = []
    hosting = dict(target.hosting or {})
    notify = [n for n in hosting.get("notify") or [] if isinstance(n, dict)]
    if not notify and hosting.get("abuse"):
        notify = [{"role": "host", "contact": {"email": hosting["abuse"]}}]
    for entry in notify:
        contact = entry.get("contact") or {}
        email = contact.get("email") or entry.get("abuse")
        role = str(entry["role"]) if entry.get("role") in ("host", "cdn", "origin") else "host"
        name = contact.get("name") or hosting.get("as_name") or target.provider or target.host
        language = str(contact.get("language")) if contact.get("language") in LANGS else "en"
        webhook = contact.get("webhook")
        if webhook and settings.notice_webhook_secret:
            found.append(Recipient(role, str(name), "webhook", str(webhook), language))
        elif email:
            found.append(Recipient(role, str(name), "email", str(email), language))
    found.extend(escalation_recipients(session, target, settings))
    unique: dict[tuple[str, str], Recipient] = {}
    for recipient in found:
        unique.setdefault((recipient.kind, recipient.address), recipient)
    return list(unique.values())


def escalation_recipients(session: Session, target: Any, settings: Any) -> list[Recipient]:
    """The police unit (a setting) and the partner hotlines of a foreign hosting country."""
    found: list[Recipient] = []
    if settings.notice_police_address:
        found.append(
            Recipient(
                "police",
                settings.notice_police_name or "police",
                settings.notice_police_channel,
                settings.notice_police_address,
                settings.notice_police_language,
            )
        )
    country = (target.country or "").upper()
    home = settings.notice_home_country.upper()
    if country and home and country != home:
        for partner in partner_service.for_country(session, country):
            found.append(
                Recipient(
                    "hotline",
                    partner.name,
                    partner.channel,
                    partner.address,
                    partner.language,
                    partner.id,
                )
            )
    return found


def ack_token(notice_id: str) -> str:
    """The recipient's acknowledgement token: derived from the master secret, so it can be put
    into every re-sent notice while only its hash is stored."""
    secret = _settings().resolved_secret_key().encode()
    mac = hmac.new(secret, b"opschub notice ack:" + notice_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:24]).decode().rstrip("=")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(notice: Notice, token: str) -> bool:
    return bool(token) and hmac.compare_digest(notice.ack_token_hash, _token_hash(token))


def ack_url(notice_id: str) -> str:
    return f"{_settings().base_url}/notices/ack/{notice_id}/{ack_token(notice_id)}"


def create_notices(
    session: Session,
    target_id: str,
    *,
    actor: Actor | None = None,
    reason: str = "initial",
    recipients: Sequence[Recipient] | None = None,
) -> list[Notice]:
    """Create the notices of a confirmed target (once per recipient) and schedule their sending.
    The new notices; running it again creates none."""
    settings = _settings()
    target = _takedown().get_target(session, target_id)
    if target.state not in ("confirmed", "notified"):
        raise NoticeError({"target": f"a {target.state} target is not notified"})
    wanted = recipients_for(session, target, settings) if recipients is None else recipients
    existing = {
        (n.recipient_kind, n.address)
        for n in session.scalars(select(Notice).where(Notice.target_id == target_id))
    }
    now = utcnow()
    created: list[Notice] = []
    for recipient in wanted:
        if (recipient.kind, recipient.address) in existing:
            continue
        notice = Notice(
            target_id=target_id,
            recipient_kind=recipient.kind,
            recipient_name=recipient.name[:200],
            channel=recipient.channel,
            address=recipient.address,
            language=recipient.language,
            partner_id=recipient.partner_id,
            reason=reason,
            state="queued",
            created_at=now,
            updated_at=now,
            ack_token_hash="",
        )
        session.add(notice)
        session.flush()
        notice.ack_token_hash = _token_hash(ack_token(notice.id))
        created.append(notice)
    session.flush()
    audit.record_many(
        session,
        [
            audit.EventIn(
                action="takedown.notice.created",
                actor=actor,
                actor_label=None if actor else SYSTEM_LABEL,
                target_type=TARGET_TYPE,
                target_id=n.id,
                details={"target": target_id, "recipient": n.recipient_kind, "purpose": reason},
            )
            for n in created
        ],
    )
    for notice in created:
        schedule_send(session, notice.id, 1)
    return created


def schedule_send(session: Session, notice_id: str, round_: int) -> None:
    from opschub.jobs import service as jobs

    jobs.schedule(
        session,
        kind=SEND_KIND,
        key=f"{SEND_KIND}:{notice_id}:{round_}",
        payload={"notice_id": notice_id, "round": round_},
    )


# -- building the message ---------------------------------------------------------------------


def _sender(settings: Any) -> messages.Party:
    return messages.Party(
        org=settings.notice_sender_org,
        email=settings.notice_sender_email,
        domain=settings.notice_sender_domain,
        address=settings.notice_sender_address or None,
    )


def _items(session: Session, target: Any) -> tuple[messages.NoticeItem, ...]:
    takedown = _takedown()
    ip = (target.hosting or {}).get("ip")
    items = []
    for item in takedown.items_of(session, target.id):
        if item.state != "confirmed":
            continue
        classification: messages.Classification
        if item.baseline:
            classification = "baseline"
        elif item.category_code in XARF_CLASSES:
            classification = cast("messages.Classification", item.category_code)
        else:
            classification = "B1"
        legal = None
        if item.category_code:
            legal = next(
                (
                    c.legal_reference
                    for c in takedown.categories(session)
                    if c.code == item.category_code
                ),
                None,
            )
        items.append(
            messages.NoticeItem(
                url=item.url,
                classification=classification,
                media_type="video" if item.kind == "video" else "image",
                sha256=item.sha256,
                md5=item.md5,
                pdq=item.pdq,
                ip=ip if isinstance(ip, str) else None,
                national_category=item.category_code,
                legal_reference=legal,
                first_seen=item.created_at and as_utc(item.created_at),
            )
        )
    if not items and target.sha256s:
        items = [
            messages.NoticeItem(url=target.url, classification="baseline", sha256=s)
            for s in target.sha256s[:1]
        ]
    return tuple(items)


def message_for(session: Session, notice_id: str) -> messages.Notice:
    """The notice as :mod:`opschub.takedown.notices` builds it: X-ARF and a body in the
    recipient's language, with the acknowledgement link."""
    notice = _notice(session, notice_id)
    settings = _settings()
    target = _takedown().get_target(session, notice.target_id)
    role = {"police": "police", "hotline": "hotline"}.get(notice.recipient_kind, "host")
    domain = notice.address.rsplit("@", 1)[-1] if notice.channel == "email" else "webhook.invalid"
    return messages.Notice(
        notice_id=notice.id,
        sender=_sender(settings),
        recipient=messages.Party(
            org=notice.recipient_name,
            email=notice.address if notice.channel == "email" else settings.notice_sender_email,
            domain=domain,
            language=notice.language,
        ),
        items=_items(session, target),
        created_at=as_utc(notice.created_at),
        role=role,  # type: ignore[arg-type]
        detection_method="manual_review",
        reference=target.id,
        acknowledge_url=ack_url(notice.id),
        hosting_country=target.country,
    )


# -- sending: tries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What a send run does: ``send`` a new try, ``reconcile`` a try cut off, or ``nothing``."""

    action: str
    number: int = 0
    channel: str = "email"
    address: str = ""
    secret: str | None = None


def _notice(session: Session, notice_id: str, *, lock: bool = False) -> Notice:
    query = select(Notice).where(Notice.id == notice_id)
    if lock:
        query = query.with_for_update()
    notice = session.scalar(query)
    if notice is None:
        raise NoticeNotFound(notice_id)
    return notice


def _last_attempt(session: Session, notice_id: str) -> NoticeAttempt | None:
    return session.scalar(
        select(NoticeAttempt)
        .where(NoticeAttempt.notice_id == notice_id)
        .order_by(NoticeAttempt.number.desc())
        .limit(1)
    )


def _secret(session: Session, notice: Notice, settings: Any) -> str | None:
    if notice.channel != "webhook":
        return None
    if notice.partner_id:
        return partner_service.secret_of(session, notice.partner_id)
    if notice.recipient_kind == "police":
        return str(settings.notice_police_secret or "") or None
    return str(settings.notice_webhook_secret or "") or None


def begin_attempt(session: Session, notice_id: str, round_: int) -> Plan:
    """Decide and record the start of a try for send round ``round_`` (commit before sending)."""
    notice = _notice(session, notice_id, lock=True)
    settings = _settings()
    if notice.rounds >= round_ or notice.state in ("removed", "disputed"):
        return Plan("nothing")
    last = _last_attempt(session, notice_id)
    secret = _secret(session, notice, settings)
    if last is not None and last.state == "sending":
        return Plan("reconcile", last.number, notice.channel, notice.address, secret)
    number = notice.attempts + 1
    notice.attempts = number
    notice.updated_at = utcnow()
    session.add(
        NoticeAttempt(notice_id=notice_id, number=number, state="sending", started_at=utcnow())
    )
    return Plan("send", number, notice.channel, notice.address, secret)


def _delivered(
    session: Session, notice: Notice, round_: int, state: str, detail: str, at: datetime
) -> None:
    first = notice.sent_at is None
    previous = notice.state
    notice.rounds = max(notice.rounds, round_)
    notice.last_sent_at = at
    notice.last_error = None
    notice.sent_at = notice.sent_at or at
    if notice.state in ("queued", "failed", "sent"):
        notice.state = state
    notice.updated_at = at
    audit.record(
        session,
        action="takedown.notice.delivered" if state == "delivered" else "takedown.notice.sent",
        actor_label=SYSTEM_LABEL,
        target_type=TARGET_TYPE,
        target_id=notice.id,
        details={
            "notice_from": previous,
            "notice_to": notice.state,
            "round": round_,
            "detail": detail[:200],
        },
    )
    if first:
        _takedown().mark_notified(session, None, notice.target_id, at)
        schedule_recheck(session, notice.target_id, at)


def finish_attempt(
    session: Session,
    notice_id: str,
    number: int,
    round_: int,
    *,
    ok: bool,
    detail: str,
    tls: bool | None = None,
    last_try: bool = False,
) -> None:
    """Record the answer to try ``number``."""
    notice = _notice(session, notice_id, lock=True)
    attempt = session.scalar(
        select(NoticeAttempt).where(
            NoticeAttempt.notice_id == notice_id, NoticeAttempt.number == number
        )
    )
    now = utcnow()
    if attempt is not None:
        attempt.state = "delivered" if ok else "refused"
        attempt.finished_at = now
        attempt.detail = detail[:2000]
        attempt.tls = tls
    if ok:
        _delivered(session, notice, round_, "delivered", detail, now)
        return
    notice.last_error = detail[:2000]
    notice.updated_at = now
    previous = notice.state
    if last_try and notice.state == "queued":
        notice.state = "failed"
    audit.record(
        session,
        action="takedown.notice.failed" if notice.state == "failed" else "takedown.notice.refused",
        actor_label=SYSTEM_LABEL,
        target_type=TARGET_TYPE,
        target_id=notice.id,
        outcome="failed",
        details={
            "notice_from": previous,
            "notice_to": notice.state,
            "attempt": number,
            "detail": detail[:200],
        },
    )


def reconcile_unconfirmed(session: Session, notice_id: str, number: int, round_: int) -> None:
    """An email try cut off between sending and recording: it may have arrived. It is not sent
    again; the notice counts as sent and the next re-send round follows the re-checks."""
    notice = _notice(session, notice_id, lock=True)
    attempt = session.scalar(
        select(NoticeAttempt).where(
            NoticeAttempt.notice_id == notice_id, NoticeAttempt.number == number
        )
    )
    now = utcnow()
    if attempt is not None and attempt.state == "sending":
        attempt.state = "unconfirmed"
        attempt.finished_at = now
        attempt.detail = "the worker stopped between sending and recording; not sent again"
    _delivered(session, notice, round_, "sent", "unconfirmed", now)


# -- people acting on notices -----------------------------------------------------------------


def _move(
    session: Session,
    notice: Notice,
    state: str,
    *,
    action: str,
    actor: Actor | None,
    actor_label: str | None = None,
    actor_kind: str | None = None,
    details: dict[str, object] | None = None,
) -> None:
    previous = notice.state
    notice.state = state
    notice.updated_at = utcnow()
    audit.record(
        session,
        action=action,
        actor=actor,
        actor_kind=actor_kind,
        actor_label=None if actor else (actor_label or SYSTEM_LABEL),
        target_type=TARGET_TYPE,
        target_id=notice.id,
        details={"notice_from": previous, "notice_to": state, **(details or {})},
    )


RECIPIENT_ANSWERS = ("acknowledged", "removed", "disputed")


def answer(session: Session, notice_id: str, token: str, what: str = "acknowledged") -> Notice:
    """The recipient's answer through the link or the API: received, removed, or disputed.
    The token proves the answer comes from someone the notice reached; nothing about the
    visitor is stored."""
    if what not in RECIPIENT_ANSWERS:
        raise NoticeError({"status": f"{what!r} is not one of {', '.join(RECIPIENT_ANSWERS)}"})
    try:
        notice = _notice(session, notice_id, lock=True)
    except NoticeNotFound:
        raise NoticeError({"token": "unknown notice or token"}) from None
    if not token_matches(notice, token):
        raise NoticeError({"token": "unknown notice or token"})
    if notice.state in ("removed", "disputed") or (
        what == "acknowledged" and notice.state == "acknowledged"
    ):
        return notice
    now = utcnow()
    if what == "acknowledged":
        notice.acknowledged_at = notice.acknowledged_at or now
    _move(
        session,
        notice,
        what,
        action=f"takedown.notice.{what}"
        if what != "acknowledged"
        else "takedown.notice.acknowledged",
        actor=None,
        actor_kind="public",
        actor_label="recipient",
        details={"by": "recipient"},
    )
    # A removal the recipient reports is confirmed by the next re-check, not taken on trust.
    if what == "removed":
        notice.removed_at = None
        schedule_recheck(session, notice.target_id, now, soon=True)
    return notice


def send_again(session: Session, actor: Actor, notice_id: str) -> None:
    """An analyst sends a notice again now (a new round; a failed notice is queued again)."""
    notice = _notice(session, notice_id, lock=True)
    if notice.state in ("removed", "disputed"):
        raise NoticeError({"state": f"a {notice.state} notice is not sent again"})
    if notice.state == "failed":
        _move(session, notice, "queued", action="takedown.notice.requeued", actor=actor)
    else:
        audit.record(
            session,
            action="takedown.notice.resend",
            actor=actor,
            target_type=TARGET_TYPE,
            target_id=notice.id,
            details={"round": notice.rounds + 1},
        )
    schedule_send(session, notice.id, notice.rounds + 1)


# -- re-checks --------------------------------------------------------------------------------


def schedule_recheck(session: Session, target_id: str, at: datetime, *, soon: bool = False) -> None:
    from opschub.jobs import service as jobs

    settings = _settings()
    n = session.scalar(select(func.count()).where(Recheck.target_id == target_id)) or 0
    due = at if soon else at + timedelta(minutes=settings.recheck_interval_minutes)
    jobs.schedule(
        session,
        kind=RECHECK_KIND,
        key=f"{RECHECK_KIND}:{target_id}:{n + 1}{':soon' if soon else ''}",
        payload={"target_id": target_id},
        due_at=due,
    )


def last_validators(session: Session, target_id: str) -> dict[str, Any]:
    """What the last successful re-check saw (ETag, Last-Modified, SHA-256 of page and media)."""
    row = session.scalar(
        select(Recheck)
        .where(Recheck.target_id == target_id, Recheck.outcome != "error")
        .order_by(Recheck.checked_at.desc(), Recheck.id.desc())
        .limit(1)
    )
    return dict(row.validators) if row else {}


@dataclass(frozen=True)
class RecheckRecorded:
    outcome: str
    removed: bool
    resent: list[str]
    escalated: list[str]


def record_recheck(session: Session, target_id: str, result: Any) -> RecheckRecorded:
    """Store a re-check (:class:`opschub.takedown.recheck.RecheckResult`); on ``gone`` record
    the removal at the observed time; while it is there, re-send notices whose last round is
    older than the re-send interval and escalate once the escalation time has passed."""
    takedown = _takedown()
    settings = _settings()
    now = utcnow()
    session.add(
        Recheck(
            target_id=target_id,
            checked_at=result.checked_at,
            outcome=result.outcome,
            status=result.status,
            fetch_outcome=result.fetch_outcome,
            validators=result.validators,
            downloaded=result.downloaded,
            detail=(result.detail or None) and result.detail[:2000],
        )
    )
    session.flush()
    target = takedown.get_target(session, target_id)
    if target.state == "removed":
        return RecheckRecorded(result.outcome, True, [], [])
    open_notices = list(
        session.scalars(
            select(Notice)
            .where(Notice.target_id == target_id, Notice.state.in_(OPEN_NOTICE_STATES))
            .order_by(Notice.created_at, Notice.id)
        )
    )
    if result.outcome == "gone":
        takedown.mark_removed(session, None, target_id, result.checked_at)
        for notice in open_notices:
            notice.removed_at = result.checked_at
            _move(
                session,
                notice,
                "removed",
                action="takedown.notice.removed",
                actor=None,
                details={"observed_at": as_utc(result.checked_at).isoformat(timespec="seconds")},
            )
        _remove_from_lists(session, target.url)
        return RecheckRecorded("gone", True, [], [])
    if result.outcome != "error":
        # The recipient said "removed", but it is still there: pursue the notice again.
        for notice in session.scalars(
            select(Notice).where(Notice.target_id == target_id, Notice.state == "removed")
        ):
            _move(
                session,
                notice,
                "acknowledged",
                action="takedown.notice.not_removed",
                actor=None,
                details={"observed_at": as_utc(result.checked_at).isoformat(timespec="seconds")},
            )
            open_notices.append(notice)
    resent: list[str] = []
    if result.outcome != "error":
        due = now - timedelta(hours=settings.notice_resend_hours)
        for notice in open_notices:
            if (
                notice.state in PURSUED
                and notice.last_sent_at
                and as_utc(notice.last_sent_at) <= due
            ):
                schedule_send(session, notice.id, notice.rounds + 1)
                resent.append(notice.id)
    escalated = escalate_if_due(session, target, open_notices, now, settings)
    schedule_recheck(session, target_id, now)
    return RecheckRecorded(result.outcome, False, resent, escalated)


def escalate_if_due(
    session: Session, target: Any, open_notices: Sequence[Notice], now: datetime, settings: Any
) -> list[str]:
    """After the escalation time without removal: the provider's notices are marked escalated
    and the police unit and the partner hotline are told (new notices, or a new round)."""
    if target.first_notice_at is None:
        return []
    if as_utc(target.first_notice_at) + timedelta(hours=settings.notice_escalate_hours) > now:
        return []
    providers = [n for n in open_notices if n.recipient_kind in ("host", "cdn", "origin")]
    if not providers or all(n.state == "escalated" for n in providers):
        return []
    for notice in providers:
        if notice.state != "escalated":
            _move(
                session,
                notice,
                "escalated",
                action="takedown.notice.escalated",
                actor=None,
                details={"hours": settings.notice_escalate_hours},
            )
    wanted = escalation_recipients(session, target, settings)
    created = create_notices(session, target.id, reason="escalation", recipients=wanted)
    told = [n.id for n in created]
    fresh = {n.id for n in created}
    for notice in open_notices:
        if notice.recipient_kind in ("police", "hotline") and notice.id not in fresh:
            schedule_send(session, notice.id, notice.rounds + 1)
            told.append(notice.id)
    return told


def _remove_from_lists(session: Session, url: str) -> None:
    try:  # td-figures provides it; absent on a branch without the lists capability
        from opschub.takedown import lists_service
    except ImportError:
        return
    lists_service.remove_gone(session, None, url=url)


# -- reading ---------------------------------------------------------------------------------


def notices_of(session: Session, target_id: str) -> list[Notice]:
    return list(
        session.scalars(
            select(Notice)
            .where(Notice.target_id == target_id)
            .order_by(Notice.created_at, Notice.id)
        )
    )


def attempts_of(session: Session, notice_ids: Sequence[str]) -> dict[str, list[NoticeAttempt]]:
    found: dict[str, list[NoticeAttempt]] = {i: [] for i in notice_ids}
    if notice_ids:
        for attempt in session.scalars(
            select(NoticeAttempt)
            .where(NoticeAttempt.notice_id.in_(list(notice_ids)))
            .order_by(NoticeAttempt.number)
        ):
            found[attempt.notice_id].append(attempt)
    return found


def rechecks_of(session: Session, target_id: str, limit: int = 50) -> list[Recheck]:
    return list(
        session.scalars(
            select(Recheck)
            .where(Recheck.target_id == target_id)
            .order_by(Recheck.checked_at.desc(), Recheck.id.desc())
            .limit(limit)
        )
    )


def get_notice(session: Session, notice_id: str) -> Notice:
    return _notice(session, notice_id)


def list_notices(
    session: Session,
    *,
    states: Sequence[str] = (),
    kinds: Sequence[str] = (),
    channel: str | None = None,
    limit: int = 200,
) -> list[Notice]:
    query = select(Notice).order_by(Notice.updated_at.desc(), Notice.id.desc()).limit(limit)
    if states:
        query = query.where(Notice.state.in_(list(states)))
    if kinds:
        query = query.where(Notice.recipient_kind.in_(list(kinds)))
    if channel:
        query = query.where(Notice.channel == channel)
    return list(session.scalars(query))


def notice_facts() -> Select[Any]:
    """Read-only facts for removal figures: one row per notice, with the target's hosting
    country and provider (``opschub.takedown.service.target_facts`` is joined by id)."""
    from opschub.takedown.models import Target

    query: Select[Any] = select(  # type: ignore[assignment]
        Notice.target_id.label("target_id"),
        Notice.recipient_kind.label("recipient_kind"),
        Notice.state.label("state"),
        Notice.sent_at.label("sent_at"),
        Target.country.label("country"),
        Target.provider.label("provider"),
    ).join(Target, Target.id == Notice.target_id)
    return query


def partner_of(session: Session, partner_id: str | None) -> Partner | None:
    return session.get(Partner, partner_id) if partner_id else None
