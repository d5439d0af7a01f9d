"""Demo statistics: synthetic, benign regional figures for the demo hierarchy.

The South Province's three districts (``XA-03-0N``) send aggregate figures for the two calendar
years before last year's, when they did not use opschub yet (the demo cases of opschub.cases
cover the last twelve months), in the regional template; they are imported through the same
checks as a real file and approved. Counts are small and realistic (a few children a district
and year), so tables by district, sex and age band have cells below the threshold that need
protection.
Everything is marked ``is_demo`` and :func:`remove` deletes it.
"""

from __future__ import annotations

import random

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from opschub.clock import utcnow
from opschub.stats import service
from opschub.stats.models import Submission

SEED = 20261202
REGIONS = ("XA-03-01", "XA-03-02", "XA-03-03")


def _split(rng: random.Random, total: int, weights: tuple[float, ...]) -> list[int]:
    """``total`` people spread over categories with realistic weights."""
    counts = [0] * len(weights)
    for _ in range(total):
        counts[rng.choices(range(len(weights)), weights)[0]] += 1
    return counts


def figures_csv(year: int, seed: int = SEED) -> str:
    rng = random.Random(seed + year)
    lines = [",".join(service.TEMPLATE_COLUMNS)]

    def row(ind: str, org: str, dim: str, cat: str, value: int) -> None:
        lines.append(f"{ind},{year},{org},{dim},{cat},{value}")

    for org in REGIONS:
        victims = rng.randint(4, 25)
        row("victims", org, "total", "total", victims)
        for cat, v in zip(
            ("female", "male", "other", "unknown"),
            _split(rng, victims, (0.62, 0.33, 0.01, 0.04)),
            strict=True,
        ):
            row("victims", org, "sex", cat, v)
        for cat, v in zip(
            ("0-4", "5-9", "10-14", "15-17", "unknown"),
            _split(rng, victims, (0.04, 0.16, 0.45, 0.3, 0.05)),
            strict=True,
        ):
            row("victims", org, "age_band", cat, v)
        cases = rng.randint(max(1, victims // 2), victims)
        row("cases_opened", org, "total", "total", cases)
        suspects = rng.randint(1, cases + 2)
        row("suspects", org, "total", "total", suspects)
        for cat, v in zip(
            ("adult", "child", "legal_person", "unknown"),
            _split(rng, suspects, (0.8, 0.12, 0.03, 0.05)),
            strict=True,
        ):
            row("suspects", org, "offender_category", cat, v)
        investigations = rng.randint(1, cases)
        prosecutions = rng.randint(0, investigations)
        convictions = rng.randint(0, prosecutions)
        sanctions = rng.randint(0, convictions)
        for ind, value in (
            ("investigations", investigations),
            ("prosecutions", prosecutions),
            ("convictions", convictions),
            ("sanctions", sanctions),
        ):
            row(ind, org, "total", "total", value)
        referrals = rng.randint(victims, victims * 2)
        row("referrals", org, "total", "total", referrals)
        row("services_given", org, "total", "total", rng.randint(0, referrals))
    return "\n".join(lines) + "\n"


def loaded(session: Session) -> int:
    return len(session.scalars(select(Submission.id).where(Submission.is_demo.is_(True))).all())


def load(session: Session) -> int:
    """Load the demo units (if needed) and approved regional figures for the two years before
    last year's (a region that did not use opschub yet)."""
    try:
        from opschub.orgunits import demo as orgunits_demo
    except ModuleNotFoundError:
        return 0
    orgunits_demo.load(session)
    if loaded(session):
        return 0
    year = utcnow().year
    created = []
    for y in (year - 2, year - 1):
        created += service.import_figures(
            session, None, figures_csv(y).encode(), f"demo-south-{y}.csv", "csv", is_demo=True
        )
    for view in created:
        service.decide(session, None, view.id, approve=True)
    return len(created)


def remove(session: Session) -> int:
    ids = session.scalars(select(Submission.id).where(Submission.is_demo.is_(True))).all()
    session.execute(delete(Submission).where(Submission.id.in_(ids)))
    return len(ids)
