"""Takedown use cases: the only writer of ``takedown_targets``, ``takedown_items``,
``takedown_assessments``, ``takedown_categories`` and ``takedown_exposures``.

The path of a reported URL (docs/takedown.md, "For analysts")::

    start_takedown(session, actor, report_id)        # one Target per URL, a capture job each
    record_capture(session, target_id, captured)     # the job: items into the vault, hashed,
                                                     # matched; known material decided again
    assess(session, actor, item_id, Decision(...))   # first analyst, second (four eyes), senior
    -> confirmed: hashes join the confirmed list, ``takedown.notify`` is scheduled

Other capabilities read through :func:`get_target` and :func:`target_facts`; the notice services
move a target on with :func:`mark_notified` and :func:`mark_removed`. Every state change writes
an audit event in the same transaction. Nothing here imports the web layer.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import Select, event, func, select
from sqlalchemy.orm import Session

from opschub import taxonomy
from opschub.audit import service as audit
from opschub.audit.service import Actor
from opschub.clock import utcnow
from opschub.takedown.models import (
    ASSESSMENT_ROLES,
    DECISIONS,
    Assessment,
    Category,
    Exposure,
    Item,
    Target,
)

TARGET = "takedown_target"
ITEM = "takedown_item"
CATEGORY = "takedown_category"
DECIDE_PERMISSION = "takedown.decide"  # a senior analyst settles disputes
CONFIGURE_PERMISSION = "takedown.configure"  # national categories
CLOSED_TARGET_STATES = ("not_illegal", "notified", "removed")
_PENDING_LIST = "opschub.takedown.pending_list_entries"
_LISTENING = "opschub.takedown.listening"


class TakedownError(ValueError):
    """A request that cannot be done; ``field`` names what was wrong (a form field or input)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


class NotFound(LookupError):
    pass


class Refused(TakedownError):
    """Allowed input, but not by this person or not in this state."""


# -- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetView:
    id: str
    report_id: str | None
    url: str
    host: str
    state: str
    reported_at: datetime
    confirmed_at: datetime | None
    first_notice_at: datetime | None
    removed_at: datetime | None
    country: str | None
    asn: int | None
    provider: str | None
    hosting: dict[str, Any]
    classification: dict[str, Any]
    sha256s: list[str]
    pdqs: list[str]
    # Beyond the contract: what the pages show.
    capture_outcome: str | None = None
    capture_error: str | None = None
    capture: dict[str, Any] = field(default_factory=dict)
    captured_at: datetime | None = None
    media_found: int = 0
    media_skipped: int = 0


def _target(session: Session, target_id: str, *, lock: bool = False) -> Target:
    query = select(Target).where(Target.id == target_id)
    if lock:
        query = query.with_for_update()
    target = session.scalar(query)
    if target is None:
        raise NotFound(f"no takedown target {target_id!r}")
    return target


def _classification(items: Sequence[Item]) -> dict[str, Any]:
    """What the confirmed items of a target are, for notices and figures."""
    confirmed = [i for i in items if i.state == "confirmed"]
    return {
        "items": len(items),
        "confirmed": len(confirmed),
        "not_illegal": sum(1 for i in items if i.state == "not_illegal"),
        "pending": sum(1 for i in items if i.state not in ("confirmed", "not_illegal")),
        "baseline": any(bool(i.baseline) for i in confirmed),
        "categories": sorted({i.category_code for i in confirmed if i.category_code}),
        "forms": sorted({i.form for i in confirmed if i.form}),
        "age_bands": sorted({i.age_band for i in confirmed if i.age_band}),
        "sexes": sorted({i.sex for i in confirmed if i.sex}),
        "recidivism": sorted({i.seen_before_target_id for i in items if i.seen_before_target_id}),
    }


def items_of(session: Session, target_id: str) -> list[Item]:
    return list(
        session.scalars(
            select(Item).where(Item.target_id == target_id).order_by(Item.created_at, Item.id)
        )
    )


def get_target(session: Session, target_id: str) -> TargetView:
    """A target as other capabilities see it (notices: the hashes and the classification)."""
    target = _target(session, target_id)
    items = items_of(session, target_id)
    confirmed = [i for i in items if i.state == "confirmed"]
    return TargetView(
        id=target.id,
        report_id=target.report_id,
        url=target.url,
        host=target.host,
        state=target.state,
        reported_at=target.reported_at,
        confirmed_at=target.confirmed_at,
        first_notice_at=target.first_notice_at,
        removed_at=target.removed_at,
        country=target.country,
        asn=target.asn,
        provider=target.provider,
        hosting=dict(target.hosting or {}),
        classification=_classification(items),
        sha256s=[i.sha256 for i in confirmed],
        pdqs=[i.pdq for i in confirmed if i.pdq],
        capture_outcome=target.capture_outcome,
        capture_error=target.capture_error,
        capture=dict(target.capture or {}),
        captured_at=target.captured_at,
        media_found=target.media_found,
        media_skipped=target.media_skipped,
    )


def targets_of_report(session: Session, report_id: str) -> list[Target]:
    return list(
        session.scalars(
            select(Target).where(Target.report_id == report_id).order_by(Target.url, Target.id)
        )
    )


def target_facts() -> Select[Any]:
    """Read-only facts for removal figures: one row per target."""
    query = select(
        Target.id.label("id"),
        Target.reported_at.label("reported_at"),
        Target.confirmed_at.label("confirmed_at"),
        Target.first_notice_at.label("first_notice_at"),
        Target.removed_at.label("removed_at"),
        Target.country.label("country"),
        Target.provider.label("provider"),
        Target.state.label("state"),
    )
    return cast("Select[Any]", query)


# -- state changes shared by everything ---------------------------------------------------------


def _move(
    session: Session,
    target: Target,
    state: str,
    *,
    actor: Actor | None,
    action: str,
    details: dict[str, object] | None = None,
    actor_label: str | None = None,
) -> None:
    previous = target.state
    target.state = state
    target.updated_at = utcnow()
    audit.record(
        session,
        action=action,
        actor=actor,
        actor_label=None if actor is not None else (actor_label or "takedown"),
        target_type=TARGET,
        target_id=target.id,
        details={"state_from": previous, "state_to": state, **(details or {})},
    )


def mark_notified(session: Session, actor: Actor | None, target_id: str, at: datetime) -> None:
    """The first notice went out at ``at`` (later notices keep the first time)."""
    target = _target(session, target_id, lock=True)
    if target.state == "removed":
        return
    if target.first_notice_at is None:
        target.first_notice_at = at
    if target.state != "notified":
        _move(
            session,
            target,
            "notified",
            actor=actor,
            action="takedown.target.notified",
            details={"at": at.isoformat(timespec="seconds")},
        )


def mark_removed(session: Session, actor: Actor | None, target_id: str, at: datetime) -> None:
    """The content was observed gone at ``at``."""
    target = _target(session, target_id, lock=True)
    if target.state == "removed":
        return
    target.removed_at = at
    _move(
        session,
        target,
        "removed",
        actor=actor,
        action="takedown.target.removed",
        details={"at": at.isoformat(timespec="seconds")},
    )


# -- 1. claiming a report ------------------------------------------------------------------------


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def start_takedown(session: Session, actor: Actor, report_id: str) -> list[Target]:
    """Claim ``report_id`` for takedown: one target per reported URL and a capture job each.

    Starting again adds nothing (each URL has one target per report)."""
    from opschub.intake import service as intake

    try:
        report = intake.get_report(session, report_id)
    except intake.UnknownReport:
        raise NotFound(f"no report {report_id!r}") from None
    urls = [u.normalised for u in report.urls]
    if not urls:
        raise TakedownError("report", f"report {report.reference} names no URL to take down")
    existing = {t.url_hash: t for t in targets_of_report(session, report_id)}
    now = utcnow()
    made: list[Target] = []
    for url in dict.fromkeys(urls):
        key = url_hash(url)
        if key in existing:
            made.append(existing[key])
            continue
        target = Target(
            report_id=report.id,
            url=url,
            url_hash=key,
            host=(urlsplit(url).hostname or "")[:255],
            state="new",
            reported_at=report.created_at,
            claimed_by=actor.id[:32],
            claimed_at=now,
            capture={},
            hosting={},
            updated_at=now,
        )
        session.add(target)
        session.flush()
        audit.record(
            session,
            action="takedown.target.created",
            actor=actor,
            target_type=TARGET,
            target_id=target.id,
            details={"report_id": report.id, "url": url[:500]},
        )
        schedule_capture(session, target.id)
        made.append(target)
    return made


def schedule_capture(session: Session, target_id: str) -> None:
    from opschub.jobs import service as jobs

    jobs.schedule(
        session,
        kind="takedown.capture",
        key=f"takedown.capture:{target_id}",
        payload={"target_id": target_id},
    )


def begin_capture(session: Session, target_id: str) -> str | None:
    """Mark the target as being captured; None when there is nothing to do (already captured),
    else its URL."""
    target = _target(session, target_id, lock=True)
    if target.state not in ("new", "capturing"):
        return None
    if target.state == "new":
        _move(session, target, "capturing", actor=None, action="takedown.capture.started")
    return target.url


# -- 1b. recording a capture -------------------------------------------------------------------


@dataclass
class CapturedMedium:
    """One medium fetched at a target, with its hashes (computed outside the transaction)."""

    url: str
    fetch: dict[str, Any]  # FetchResult.to_json()
    body: bytes | None  # None: not stored (an error, cut off, not a medium)
    media_type: str | None = None
    kind: str = "other"
    pdq: str | None = None
    pdq_quality: int | None = None
    matches: list[dict[str, Any]] = field(default_factory=list)  # hash-list matches


@dataclass
class Captured:
    page: dict[str, Any]  # FetchResult.to_json() of the page
    outcome: str
    error: str | None
    page_body: bytes | None
    page_media_type: str | None
    media: list[CapturedMedium]
    media_found: int
    hosting: dict[str, Any]


def failed_capture(url: str, error: str) -> Captured:
    """The record of a capture that could not be made at all (our side failed)."""
    return Captured(
        page={"url": url, "final_url": url, "outcome": "error", "error": error[:500]},
        outcome="error",
        error=error[:2000],
        page_body=None,
        page_media_type=None,
        media=[],
        media_found=0,
        hosting={},
    )


class _System:
    """The capture job acting for the hotline: it stores captures in the vault."""

    kind = "system"
    id = "takedown.capture"
    name = "takedown capture"

    def can(self, permission: str) -> bool:
        return permission in ("evidence.manage", "evidence.view")


@dataclass(frozen=True)
class _OnBehalf:
    """An analyst working on takedown items: the takedown service has checked
    ``reports.assess``; the vault records the analyst as the one who viewed."""

    actor: Actor

    @property
    def kind(self) -> str:
        return self.actor.kind

    @property
    def id(self) -> str:
        return self.actor.id

    @property
    def name(self) -> str:
        return self.actor.name

    def can(self, permission: str) -> bool:
        return permission in ("evidence.view", "evidence.manage")


SYSTEM = _System()


def _store(session: Session, vault: Any, data: bytes, **kwargs: Any) -> Any:
    import io

    from opschub.evidence import service as evidence

    return evidence.put(
        session,
        vault,
        io.BytesIO(data),
        source_kind="url_capture",
        actor=SYSTEM,
        purpose="assessment",
        method="takedown capture (opschub.takedown.fetcher)",
        **kwargs,
    )


def record_capture(
    session: Session,
    target_id: str,
    captured: Captured,
    *,
    vault: Any = None,
) -> Target:
    """Store what the capture job fetched: page and media into the vault, one item per medium,
    the hosting answer on the target; known material is decided again at once."""
    from opschub.evidence.vault import vault_from_settings

    vault = vault or vault_from_settings()
    target = _target(session, target_id, lock=True)
    if target.state not in ("new", "capturing"):
        return target
    now = utcnow()
    target.capture = {
        "page": captured.page,
        "media": [m.fetch for m in captured.media],
    }
    target.capture_outcome = captured.outcome
    target.capture_error = (captured.error or None) and captured.error[:2000]
    target.media_found = captured.media_found
    target.media_skipped = max(0, captured.media_found - len(captured.media))
    target.captured_at = now
    hosting = captured.hosting or {}
    target.hosting = hosting
    target.country = (hosting.get("country") or None) and str(hosting["country"])[:2].upper()
    asn = hosting.get("asn")
    target.asn = int(asn) if isinstance(asn, int) else None
    provider = hosting.get("as_name") or hosting.get("provider")
    target.provider = str(provider)[:200] if provider else None

    if captured.page_body is not None and captured.outcome == "ok":
        _store(
            session,
            vault,
            captured.page_body,
            source_ref=f"takedown:{target.id}",
            media_type=captured.page_media_type,
            original_name=captured.page.get("final_url") or target.url,
        )
    stored = 0
    for medium in captured.media:
        if medium.body is None:
            continue
        put = _store(
            session,
            vault,
            medium.body,
            source_ref=f"takedown:{target.id}",
            media_type=medium.media_type,
            original_name=medium.url,
        )
        ev = put.item
        if session.scalar(
            select(Item.id).where(Item.target_id == target.id, Item.sha256 == ev.sha256)
        ):
            continue  # the same bytes twice on one page: one item
        item = Item(
            target_id=target.id,
            evidence_item_id=ev.id,
            url=medium.url,
            kind=medium.kind,
            media_type=ev.media_type[:200],
            size=len(medium.body),
            sha256=ev.sha256,
            md5=ev.md5,
            pdq=medium.pdq,
            pdq_quality=medium.pdq_quality,
            fetch=medium.fetch,
            matches=list(medium.matches),
            state="pending",
        )
        session.add(item)
        session.flush()
        stored += 1
        _decide_known(session, target, item)
    ok = captured.outcome == "ok" or stored > 0
    _move(
        session,
        target,
        "captured" if ok else "capture_failed",
        actor=None,
        action="takedown.capture.recorded" if ok else "takedown.capture.failed",
        details={
            "outcome": captured.outcome,
            "status": captured.page.get("status"),
            "final_url": str(captured.page.get("final_url") or "")[:500],
            "redirects": len(captured.page.get("redirects") or []),
            "items": stored,
            "media_found": captured.media_found,
            "error": (captured.error or "")[:300] or None,
        },
    )
    if ok:
        _refresh_target(session, target, actor=None)
    return target


def _earlier_decision(session: Session, item: Item) -> Item | None:
    """An item decided before with the same bytes, or (PDQ) matched in the confirmed list."""
    found = session.scalar(
        select(Item)
        .where(
            Item.sha256 == item.sha256,
            Item.id != item.id,
            Item.state.in_(("confirmed", "not_illegal")),
            Item.auto_from_item_id.is_(None),
        )
        .order_by(Item.decided_at)
        .limit(1)
    )
    if found is not None:
        return found
    list_name = confirmed_list_name()
    for match in item.matches or []:
        if match.get("list") != list_name or not match.get("label"):
            continue
        earlier = session.get(Item, str(match["label"]))
        if earlier is not None and earlier.state == "confirmed" and earlier.id != item.id:
            return earlier
    return None


def _decide_known(session: Session, target: Target, item: Item) -> None:
    """Assessed once: material decided before is decided again, never shown to anyone."""
    earlier = _earlier_decision(session, item)
    if earlier is None:
        return
    item.auto_from_item_id = earlier.id
    if earlier.state == "confirmed":
        earlier_target = session.get(Target, earlier.target_id)
        if earlier_target is not None and earlier_target.url != target.url:
            item.seen_before_target_id = earlier_target.id
    _copy_classification(item, earlier)
    item.state = earlier.state
    item.decided_at = utcnow()
    session.add(
        Assessment(
            item_id=item.id,
            analyst_id=None,
            analyst_name=None,
            role="auto",
            decision=earlier.decision or "illegal",
            category_code=earlier.category_code,
            form=earlier.form,
            age_band=earlier.age_band,
            sex=earlier.sex,
        )
    )
    audit.record(
        session,
        action="takedown.item.auto_classified",
        actor_label="takedown capture",
        target_type=ITEM,
        target_id=item.id,
        details={
            "target_id": target.id,
            "from_item_id": earlier.id,
            "decision": item.decision,
            "seen_before_target_id": item.seen_before_target_id,
        },
    )
    if item.state == "confirmed":
        _join_hash_list(session, item)


def _copy_classification(item: Item, source: Item | Assessment) -> None:
    item.decision = source.decision
    if isinstance(source, Assessment):
        item.baseline = bool(source.real_child and source.under_13 and source.abuse_or_genitals)
    else:
        item.baseline = source.baseline
    item.category_code = source.category_code
    item.form = source.form
    item.age_band = source.age_band
    item.sex = source.sex


# -- 2/3. assessment and classification ----------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    decision: str  # illegal | not_illegal
    real_child: bool | None = None
    under_13: bool | None = None
    abuse_or_genitals: bool | None = None
    category_code: str | None = None
    form: str | None = None
    age_band: str | None = None
    sex: str | None = None

    @property
    def baseline(self) -> bool:
        return bool(self.real_child and self.under_13 and self.abuse_or_genitals)

    def agrees_with(self, other: Assessment) -> bool:
        other_baseline = bool(other.real_child and other.under_13 and other.abuse_or_genitals)
        return (
            self.decision == other.decision
            and self.baseline == other_baseline
            and (self.category_code or None) == (other.category_code or None)
        )


def validate_decision(session: Session, decision: Decision) -> None:
    """Every field checked; the first bad one is named."""
    if decision.decision not in DECISIONS:
        raise TakedownError("decision", f"decision must be one of {', '.join(DECISIONS)}")
    if decision.form and decision.form not in taxonomy.FORM_OF_EXPLOITATION:
        raise TakedownError("form", f"unknown form of exploitation {decision.form!r}")
    if decision.age_band and decision.age_band not in taxonomy.AGE_BAND:
        raise TakedownError("age_band", f"unknown age band {decision.age_band!r}")
    if decision.sex and decision.sex not in taxonomy.SEX:
        raise TakedownError("sex", f"unknown sex {decision.sex!r}")
    if decision.category_code:
        category = session.scalar(select(Category).where(Category.code == decision.category_code))
        if category is None or not category.active:
            raise TakedownError("category", f"no active category {decision.category_code!r}")
    if decision.decision == "illegal" and not (decision.baseline or decision.category_code):
        raise TakedownError(
            "category",
            "illegal material meets the international baseline (all three answers yes) "
            "or falls in a national category: give one",
        )


def four_eyes() -> bool:
    from opschub.config import get_settings

    return bool(get_settings().takedown_four_eyes)


def confirmed_list_name() -> str:
    from opschub.config import get_settings

    return str(get_settings().takedown_hash_list)


def _item(session: Session, item_id: str, *, lock: bool = False) -> Item:
    query = select(Item).where(Item.id == item_id)
    if lock:
        query = query.with_for_update()
    item = session.scalar(query)
    if item is None:
        raise NotFound(f"no takedown item {item_id!r}")
    return item


def assessments(session: Session, item_id: str) -> list[Assessment]:
    return list(
        session.scalars(
            select(Assessment)
            .where(Assessment.item_id == item_id)
            .order_by(Assessment.created_at, Assessment.id)
        )
    )


def _require(actor: Any, permission: str, what: str) -> None:
    can = getattr(actor, "can", None)
    if can is None or not can(permission):
        raise Refused("permission", f"{what} needs the permission {permission}")


def assess(session: Session, actor: Actor, item_id: str, decision: Decision) -> Item:
    """One analyst's decision on an item, under the four-eyes rule (a setting, default on):

    - pending: "not illegal" closes the item; "illegal" waits for a second analyst (or, with
      four eyes off, is confirmed);
    - awaiting confirmation: a *different* analyst agrees (confirmed) or not (disputed);
    - disputed: a senior analyst (``takedown.decide``) decides.
    """
    _require(actor, "reports.assess", "assessing material")
    validate_decision(session, decision)
    item = _item(session, item_id, lock=True)
    target = _target(session, item.target_id, lock=True)
    earlier = assessments(session, item.id)
    if item.state == "pending":
        role = "first"
        if decision.decision == "not_illegal":
            new_state = "not_illegal"
        else:
            new_state = "awaiting_confirmation" if four_eyes() else "confirmed"
    elif item.state == "awaiting_confirmation":
        first = next(a for a in reversed(earlier) if a.role == "first")
        if first.analyst_id == actor.id:
            raise Refused(
                "analyst",
                "four eyes: a different analyst must confirm; you made the first decision",
            )
        role = "second"
        new_state = (
            ("confirmed" if decision.decision == "illegal" else "not_illegal")
            if decision.agrees_with(first)
            else "disputed"
        )
    elif item.state == "disputed":
        _require(actor, DECIDE_PERMISSION, "settling a disagreement")
        role = "senior"
        new_state = "confirmed" if decision.decision == "illegal" else "not_illegal"
    else:
        raise Refused("item", f"item {item.id} is already decided ({item.state})")
    assert role in ASSESSMENT_ROLES
    row = Assessment(
        item_id=item.id,
        analyst_id=actor.id[:32],
        analyst_name=actor.name[:200],
        role=role,
        decision=decision.decision,
        real_child=decision.real_child,
        under_13=decision.under_13,
        abuse_or_genitals=decision.abuse_or_genitals,
        category_code=decision.category_code or None,
        form=decision.form or None,
        age_band=decision.age_band or None,
        sex=decision.sex or None,
    )
    session.add(row)
    session.flush()
    previous = item.state
    item.state = new_state
    if new_state in ("confirmed", "not_illegal"):
        _copy_classification(item, row)
        item.decided_at = utcnow()
    audit.record(
        session,
        action=f"takedown.item.{new_state}",
        actor=actor,
        target_type=ITEM,
        target_id=item.id,
        details={
            "state_from": previous,
            "state_to": new_state,
            "assessment_role": role,
            "decision": decision.decision,
            "baseline": decision.baseline,
            "category": decision.category_code,
            "target_id": target.id,
        },
    )
    if new_state == "confirmed":
        _join_hash_list(session, item)
    _classify_evidence(session, item)
    _refresh_target(session, target, actor=actor)
    return item


def close_not_illegal(session: Session, actor: Actor, target_id: str) -> Target:
    """The quick path: every undecided item of the target is not illegal, the target closes."""
    _require(actor, "reports.assess", "assessing material")
    target = _target(session, target_id, lock=True)
    if target.state in CLOSED_TARGET_STATES or target.state == "confirmed":
        raise Refused("target", f"target {target.id} is already decided ({target.state})")
    for item in items_of(session, target.id):
        if item.state == "pending":
            assess(session, actor, item.id, Decision("not_illegal"))
    target = _target(session, target_id)
    if target.state not in CLOSED_TARGET_STATES and not any(
        i.state in ("awaiting_confirmation", "disputed", "confirmed")
        for i in items_of(session, target.id)
    ):
        _move(session, target, "not_illegal", actor=actor, action="takedown.target.not_illegal")
    return target


def _classify_evidence(session: Session, item: Item) -> None:
    """Tell the vault what the material is (its retention counts from that)."""
    from opschub.evidence import service as evidence

    category = {"confirmed": "illegal", "not_illegal": "not_illegal"}.get(item.state)
    if category is None:
        return
    evidence.classify(session, item.evidence_item_id, actor=SYSTEM, category=category)


def _refresh_target(session: Session, target: Target, *, actor: Actor | None) -> None:
    """The target's state follows its items; confirming schedules the notice."""
    if target.state in ("notified", "removed", "capture_failed", "new", "capturing"):
        return
    states = [i.state for i in items_of(session, target.id)]
    if not states:
        return
    if "confirmed" in states:
        new = "confirmed"
    elif "disputed" in states:
        new = "disputed"
    elif "awaiting_confirmation" in states:
        new = "awaiting_confirmation"
    elif "pending" in states:
        new = "assessing" if any(s != "pending" for s in states) else "captured"
    else:
        new = "not_illegal"
    if new == target.state:
        return
    if new == "confirmed":
        target.confirmed_at = utcnow()
    _move(
        session,
        target,
        new,
        actor=actor,
        action=f"takedown.target.{new}",
        actor_label="takedown",
    )
    if new == "confirmed":
        _on_confirmed(session, target, actor)


def _on_confirmed(session: Session, target: Target, actor: Actor | None) -> None:
    from opschub.jobs import service as jobs

    jobs.schedule(
        session,
        kind="takedown.notify",
        key=f"takedown.notify:{target.id}",
        payload={"target_id": target.id},
    )
    try:  # the lists for online services (td-figures); absent on a branch without them
        lists_service = importlib.import_module("opschub.takedown.lists_service")
    except ModuleNotFoundError:
        return
    view = get_target(session, target.id)
    lists_service.add_confirmed(
        session, actor, url=target.url, sha256s=view.sha256s, pdqs=view.pdqs, target_id=target.id
    )


# -- the confirmed hash list ------------------------------------------------------------------


def _join_hash_list(session: Session, item: Item) -> None:
    """The item's hashes join the confirmed list once the transaction commits (the list is
    files, not rows); the audit event is written now, in the transaction."""
    from opschub.matching.formats import Entry

    entries = [Entry("sha256", item.sha256, item.id), Entry("md5", item.md5, item.id)]
    if item.pdq and (item.pdq_quality or 0) >= 50:
        entries.append(Entry("pdq", item.pdq, item.id))
    name = confirmed_list_name()
    audit.record(
        session,
        action="takedown.hashlist.joined",
        actor_label="takedown",
        target_type="hashlist",
        target_id=name,
        details={"item_id": item.id, "hashes": len(entries)},
    )
    if not session.info.get(_LISTENING):
        session.info[_LISTENING] = True
        event.listen(session, "after_commit", _flush_list_entries)
        event.listen(session, "after_soft_rollback", _drop_list_entries)
    session.info.setdefault(_PENDING_LIST, []).extend(entries)


def _flush_list_entries(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint committed; the transaction goes on
    entries = session.info.pop(_PENDING_LIST, None)
    if entries:
        add_to_confirmed_list(entries)


def _drop_list_entries(session: Session, previous: Any) -> None:
    if not previous.nested and previous.parent is None:
        session.info.pop(_PENDING_LIST, None)


def add_to_confirmed_list(entries: Sequence[Any]) -> None:
    from opschub.hashlists import service as hashlists
    from opschub.matching.store import StoreError

    store = hashlists.store()
    name = confirmed_list_name()
    if not store.exists(name):
        with contextlib.suppress(StoreError):  # created meanwhile by another worker
            store.create_list(
                name,
                source="opschub takedown",
                sharing="partners",
                description="Items confirmed by two analysts (opschub takedown)",
            )
    store.add_entries(name, entries)


# -- welfare: what an analyst has seen today ------------------------------------------------------


def exposure_today(session: Session, user_id: str, today: date | None = None) -> int:
    day = today or utcnow().date()
    return int(
        session.scalar(select(func.count()).where(Exposure.user_id == user_id, Exposure.day == day))
        or 0
    )


def revealed_today(session: Session, user_id: str, item_id: str) -> bool:
    return (
        session.scalar(
            select(Exposure.id).where(
                Exposure.user_id == user_id,
                Exposure.item_id == item_id,
                Exposure.day == utcnow().date(),
            )
        )
        is not None
    )


def _viewable(session: Session, actor: Actor, item_id: str) -> Item:
    _require(actor, "reports.assess", "viewing material for assessment")
    item = _item(session, item_id)
    if item.auto_from_item_id is not None:
        raise Refused("item", "assessed once: this material was decided before and is not shown")
    return item


def _item_bytes(
    session: Session, actor: Actor, item_id: str, vault: Any, rendition: str
) -> tuple[Item, bytes]:
    """A viewable item and its bytes from the vault, read for assessment (a custody event
    naming the ``rendition`` it is read for)."""
    from opschub.evidence import service as evidence
    from opschub.evidence.vault import vault_from_settings

    item = _viewable(session, actor, item_id)
    data = b"".join(
        evidence.open_for(
            session,
            vault or vault_from_settings(),
            item.evidence_item_id,
            actor=_OnBehalf(actor),
            purpose="assessment",
            details={"rendition": rendition, "takedown_item": item.id},
        )
    )
    return item, data


def preview(session: Session, actor: Actor, item_id: str, *, vault: Any = None) -> bytes:
    """The blurred greyscale rendition (a contact sheet for video)."""
    from opschub.evidence import rendition

    item, data = _item_bytes(session, actor, item_id, vault, "blurred")
    if item.kind == "video":
        return rendition.contact_sheet(data)
    return rendition.blurred(data)


def reveal(session: Session, actor: Actor, item_id: str, *, vault: Any = None) -> bytes:
    """The item shown as it is (a deliberate act): counted in the analyst's exposure today."""
    from opschub.evidence import rendition

    item, data = _item_bytes(session, actor, item_id, vault, "full")
    now = utcnow()
    session.add(Exposure(user_id=actor.id[:32], item_id=item.id, day=now.date(), revealed_at=now))
    audit.record(
        session,
        action="takedown.item.revealed",
        actor=actor,
        target_type=ITEM,
        target_id=item.id,
        details={"kind": item.kind},
    )
    if item.kind == "video":
        return data
    try:
        return rendition.full(data)
    except rendition.NoRendition:
        raise Refused("item", "this material cannot be decoded for viewing") from None


def reveal_bytes(session: Session, actor: Actor, item_id: str, *, vault: Any = None) -> bytes:
    """A revealed video's bytes for the player (a custody event; counted once, at reveal)."""
    return _item_bytes(session, actor, item_id, vault, "video")[1]


def recent_targets(session: Session, limit: int = 50) -> list[Target]:
    return list(
        session.scalars(
            select(Target).order_by(Target.claimed_at.desc(), Target.id.desc()).limit(limit)
        )
    )


# -- the assessment queue -----------------------------------------------------------------------


def queue(session: Session, actor: Actor, *, limit: int = 50) -> list[Item]:
    """Items waiting for this analyst: new ones, others' decisions to confirm, and (senior
    analysts) disputes. Material decided before never appears here."""
    mine_first = select(Assessment.item_id).where(
        Assessment.role == "first", Assessment.analyst_id == actor.id
    )
    wanted = [Item.state == "pending"]
    wanted.append((Item.state == "awaiting_confirmation") & Item.id.not_in(mine_first))
    if getattr(actor, "can", lambda _p: False)(DECIDE_PERMISSION):
        wanted.append(Item.state == "disputed")
    from sqlalchemy import or_

    query = (
        select(Item)
        .join(Target, Target.id == Item.target_id)
        .where(or_(*wanted), Item.auto_from_item_id.is_(None))
        .order_by(Target.reported_at, Item.created_at, Item.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def get_item(session: Session, item_id: str) -> Item:
    return _item(session, item_id)


# -- national categories ------------------------------------------------------------------------


def categories(session: Session, *, active_only: bool = False) -> list[Category]:
    query = select(Category).order_by(Category.position, Category.code)
    if active_only:
        query = query.where(Category.active.is_(True))
    return list(session.scalars(query))


def add_category(
    session: Session,
    actor: Actor,
    *,
    code: str,
    name: str,
    legal_reference: str,
    position: int | None = None,
) -> Category:
    """Add a national category; every field checked and named."""
    code = (code or "").strip()
    name = (name or "").strip()
    legal_reference = (legal_reference or "").strip()
    if not code or len(code) > 32 or not all(c.isalnum() or c in "-_." for c in code):
        raise TakedownError("code", "a code is 1 to 32 letters, digits, '-', '_' or '.'")
    if not name or len(name) > 200:
        raise TakedownError("name", "a name is 1 to 200 characters")
    if not legal_reference or len(legal_reference) > 500:
        raise TakedownError("legal_reference", "a legal reference is 1 to 500 characters")
    from opschub import terms

    try:
        terms.ensure_clean(f"{name}\n{legal_reference}")
    except terms.TerminologyError as exc:
        raise TakedownError("name", f"terminology: {exc}") from None
    if session.scalar(select(Category.id).where(Category.code == code)):
        raise TakedownError("code", f"a category {code!r} exists already")
    if position is None:
        position = int(session.scalar(select(func.count()).select_from(Category)) or 0)
    category = Category(code=code, name=name, legal_reference=legal_reference, position=position)
    session.add(category)
    session.flush()
    audit.record(
        session,
        action="takedown.category.added",
        actor=actor,
        target_type=CATEGORY,
        target_id=category.id,
        details={"code": code},
    )
    return category


def set_category_active(session: Session, actor: Actor, code: str, active: bool) -> Category:
    category = session.scalar(select(Category).where(Category.code == code))
    if category is None:
        raise NotFound(f"no category {code!r}")
    category.active = active
    audit.record(
        session,
        action="takedown.category.changed",
        actor=actor,
        target_type=CATEGORY,
        target_id=category.id,
        details={"code": code, "active": active},
    )
    return category
