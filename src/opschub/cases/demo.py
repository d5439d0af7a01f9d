"""Synthetic, benign demo cases.

:func:`load` (``opschub demo load``) adds a few dozen cases across the demo districts with
realistic small counts (forms, victims by sex and age, adult and child suspects, relationships)
through the service, so that every rule applies and statistics have something to count.

:func:`load_large` (``opschub demo load --size large``) generates many cases quickly for
benchmarks: bulk inserts of pre-built rows in chunks (no per-case audit event, no real names),
one audit event for the batch. Everything is marked ``is_demo``; nothing names a real person.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from opschub import taxonomy
from opschub.audit import service as audit
from opschub.cases import service
from opschub.cases.models import (
    PRIORITIES,
    STATUSES,
    Case,
    CaseForm,
    CasePerson,
    case_reference,
)
from opschub.clock import utcnow
from opschub.db import Database
from opschub.ids import new_id
from opschub.orgunits import demo as orgunits_demo
from opschub.orgunits import service as orgunits

SEED = 20261202
SMALL_CASES = 36
LARGE_CASES = 1_000_000
PEOPLE_PER_CASE = 3
CHUNK = 20_000
_FORMS = (
    "grooming",
    "csam",
    "sexual_extortion",
    "live_streaming",
    "prostitution",
    "travel_tourism",
)
_TITLES = (
    "Contact through an online game",
    "Images shared in a class chat group",
    "Threats to share images unless paid",
    "Abuse streamed to paying viewers",
    "Child exploited in prostitution at a hotel",
    "Report from a school counsellor",
)


def loaded(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Case).where(Case.is_demo)) or 0)


def _ensure_units(session: Session) -> list[str]:
    if not orgunits.by_code(session, "XA"):
        orgunits_demo.load(session)
    return list(orgunits_demo.DISTRICTS)


def load(session: Session, *, seed: int = SEED) -> int:
    """Add the small demo: cases spread over the last year across the demo districts."""
    if loaded(session):
        return 0
    rng = random.Random(seed)
    districts = _ensure_units(session)
    actor = service.Importer(name="demo data", protected=True)
    now = utcnow()
    for number in range(SMALL_CASES):
        form = _FORMS[number % len(_FORMS)]
        opened = now - timedelta(days=rng.randint(1, 360), hours=rng.randint(0, 23))
        case = service.open_case(
            session,
            actor,
            service.CaseIn(
                title=_TITLES[number % len(_TITLES)],
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


def case_unit(session: Session, case: Case) -> str | None:
    unit = orgunits.by_id(session, case.org_unit_id)
    return unit.code if unit else None


@dataclass(frozen=True)
class LargeSummary:
    cases: int
    people: int
    seconds: float


def load_large(
    database: Database,
    *,
    cases: int = LARGE_CASES,
    people_per_case: int = PEOPLE_PER_CASE,
    seed: int = SEED,
    progress: Callable[[int], None] | None = None,
) -> LargeSummary:
    """Generate ``cases`` demo cases with ``people_per_case`` people each, in chunks (each chunk
    its own transaction: an interrupted load leaves whole chunks, all marked ``is_demo``)."""
    started = time.perf_counter()
    rng = random.Random(seed)
    from opschub.orgunits.models import OrgUnit

    with database.transaction() as session:
        _ensure_units(session)
        unit_ids = list(session.scalars(select(OrgUnit.id).where(OrgUnit.level == 3)))
    forms = taxonomy.FORM_OF_EXPLOITATION.values
    sexes = ("female", "female", "male", "unknown")
    teams = ("north-1", "east-1", "south-1", None)
    now = utcnow()
    span = 5 * 365 * 86400
    done = people = 0
    while done < cases:
        batch = min(CHUNK, cases - done)
        case_rows: list[dict[str, Any]] = []
        form_rows: list[dict[str, Any]] = []
        person_rows: list[dict[str, Any]] = []
        for _ in range(batch):
            case_id = new_id()
            opened = now - timedelta(seconds=rng.randrange(span))
            status = STATUSES[rng.randrange(4)]
            case_rows.append(
                {
                    "id": case_id,
                    "reference": case_reference(case_id),
                    "title": _TITLES[rng.randrange(len(_TITLES))],
                    "status": status,
                    "priority": PRIORITIES[rng.randrange(4)],
                    "setting": ("online", "offline", "both")[rng.randrange(3)],
                    "org_unit_id": unit_ids[rng.randrange(len(unit_ids))],
                    "team": teams[rng.randrange(4)],
                    "assigned_to_id": None,
                    "restricted": rng.random() < 0.02,
                    "opened_at": opened,
                    "opened_on": opened.astimezone(UTC).date(),
                    "closed_at": opened + timedelta(days=30) if status == "closed" else None,
                    "created_by_id": None,
                    "updated_at": opened,
                    "is_demo": True,
                    "version_id": 1,
                    "created_at": opened,
                }
            )
            form_rows.append(
                {
                    "id": new_id(),
                    "case_id": case_id,
                    "form": forms[rng.randrange(len(forms))],
                    "participation": "committed",
                }
            )
            for index in range(people_per_case):
                role = "victim" if index == 0 else ("suspect" if index == 1 else "guardian")
                age = rng.randint(3, 17) if role == "victim" else rng.randint(15, 60)
                child = age < 18
                person_rows.append(
                    {
                        "id": new_id(),
                        "case_id": case_id,
                        "role": role,
                        "alias": f"{role[0].upper()}1",
                        "real_name": None,
                        "sex": sexes[rng.randrange(4)],
                        "birth_date": None,
                        "birth_month": None,
                        "estimated_age": age,
                        "age_at_opening": age,
                        "age_band": taxonomy.age_band(age) if child else None,
                        "nationality": None,
                        "residence_unit_id": None,
                        "vulnerabilities": [],
                        "offender_category": ("child" if child else "adult")
                        if role == "suspect"
                        else None,
                        "protected_track": role == "suspect" and child,
                        "version_id": 1,
                        "created_at": opened,
                    }
                )
        with database.transaction() as session:
            session.execute(insert(cast(Table, Case.__table__)), case_rows)
            session.execute(insert(cast(Table, CaseForm.__table__)), form_rows)
            session.execute(insert(cast(Table, CasePerson.__table__)), person_rows)
        done += batch
        people += len(person_rows)
        if progress:
            progress(done)
    with database.transaction() as session:
        audit.record(
            session,
            action="cases.cases.imported",
            actor_label="demo data",
            target_type="case",
            details={"cases": done, "people": people, "is_demo": True},
        )
    return LargeSummary(done, people, time.perf_counter() - started)
