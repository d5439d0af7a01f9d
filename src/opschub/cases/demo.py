"""Synthetic, benign demo cases.

:func:`load` (``opschub demo load``) adds a few dozen cases across the demo districts with
realistic small counts (forms, victims by sex and age, adult and child suspects, relationships)
through the service, so that every rule applies and statistics have something to count.

The large generated demo (``opschub demo load --size large``) is :mod:`opschub.cases.demo_large`.
Everything is marked ``is_demo``; nothing names a real person. :func:`remove` takes both.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from opschub.audit import service as audit
from opschub.cases import referrals, service
from opschub.cases.models import PRIORITIES, Case, CasePerson
from opschub.clock import utcnow
from opschub.orgunits import demo as orgunits_demo
from opschub.orgunits import service as orgunits

SEED = 20261202
SMALL_CASES = 36
# The directory entry of each demo district (the large demo refers its children there).
SERVICE_NAME = "One-stop centre (demo)"
_FORMS = (
    "grooming",
    "csam",
    "sexual_extortion",
    "live_streaming",
    "prostitution",
    "travel_tourism",
)
TITLES = (
    "Contact through an online game",
    "Images shared in a class chat group",
    "Threats to share images unless paid",
    "Abuse streamed to paying viewers",
    "Child exploited in prostitution at a hotel",
    "Report from a school counsellor",
)


def loaded(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Case).where(Case.is_demo)) or 0)


def ensure_units(session: Session) -> list[str]:
    if not orgunits.by_code(session, "XA"):
        orgunits_demo.load(session)
    return list(orgunits_demo.DISTRICTS)


def load(session: Session, *, seed: int = SEED) -> int:
    """Add the small demo: cases spread over the last year across the demo districts."""
    if loaded(session):
        return 0
    rng = random.Random(seed)
    districts = ensure_units(session)
    actor = service.Importer(name="demo data", protected=True)
    now = utcnow()
    for number in range(SMALL_CASES):
        form = _FORMS[number % len(_FORMS)]
        opened = now - timedelta(days=rng.randint(1, 360), hours=rng.randint(0, 23))
        case = service.open_case(
            session,
            actor,
            service.CaseIn(
                title=TITLES[number % len(TITLES)],
                org_unit=rng.choice(districts),
                setting="offline" if form in ("prostitution", "travel_tourism") else "online",
                priority=rng.choice(PRIORITIES),
                status=rng.choice(("open", "in_progress", "in_progress", "on_hold")),
                team=rng.choice(("north-1", "east-1", "south-1")),
                forms=[(form, "committed" if rng.random() < 0.85 else "attempt")],
                opened_at=opened,
            ),
            is_demo=True,
        )
        victims = []
        for _ in range(1 if rng.random() < 0.8 else 2):
            victim = service.add_person(
                session,
                actor,
                case.id,
                service.PersonIn(
                    role="victim",
                    sex=rng.choice(("female", "female", "male", "unknown")),
                    estimated_age=rng.randint(6, 17),
                    residence=case_unit(session, case),
                    vulnerabilities=rng.sample(
                        ("migrant", "alternative_care", "disability"), k=rng.randint(0, 1)
                    ),
                ),
            )
            victims.append(victim)
        child_suspect = rng.random() < 0.15
        suspect = service.add_person(
            session,
            actor,
            case.id,
            service.PersonIn(
                role="suspect",
                sex="male" if rng.random() < 0.9 else "female",
                estimated_age=rng.randint(14, 17) if child_suspect else rng.randint(19, 60),
            ),
        )
        service.add_relationship(
            session,
            actor,
            case.id,
            suspect.id,
            victims[0].id,
            rng.choice(
                ("online_contact", "acquaintance", "family", "position_of_trust", "stranger")
            ),
        )
        if rng.random() < 0.5:
            service.add_person(session, actor, case.id, service.PersonIn(role="guardian"))
    return SMALL_CASES


@dataclass(frozen=True)
class Removed:
    cases: int
    people: int
    units: tuple[str, ...]


def remove(session: Session) -> Removed:
    """Delete every demo case (its people, forms, links and follow-up go with it: the foreign
    keys cascade), the demo one-stop centres no referral names any more, then the demo regions
    that nothing else refers to any more. Cases not marked
    ``is_demo`` and the regions they use stay."""
    demo_cases = select(Case.id).where(Case.is_demo.is_(True)).scalar_subquery()
    people = int(
        session.scalar(
            select(func.count()).select_from(CasePerson).where(CasePerson.case_id.in_(demo_cases))
        )
        or 0
    )
    removed = session.execute(delete(Case).where(Case.is_demo.is_(True)))
    count = int(getattr(removed, "rowcount", 0) or 0)
    referrals.remove_unused_services(session, name=SERVICE_NAME, actor_label="demo data")
    units = orgunits.remove_unused(
        session, [u["code"] for u in orgunits_demo.DEMO_UNITS], actor_label="demo data"
    )
    if count:
        audit.record(
            session,
            action="cases.demo.removed",
            actor_label="demo data",
            target_type="case",
            details={"cases": count, "people": people, "is_demo": True},
        )
    return Removed(count, people, tuple(units))


def case_unit(session: Session, case: Case) -> str | None:
    unit = orgunits.by_id(session, case.org_unit_id)
    return unit.code if unit else None
