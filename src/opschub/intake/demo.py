"""Synthetic, benign demo data so that a new user can explore every page.

Everything here is generated: URLs under example.org / example.net (reserved for documentation),
fingerprints of generated pattern images, three hash lists (``demo``, ``demo-exchange``,
``demo-platform``) and two people to log in as (an analyst and a senior analyst, with one-time
passwords). Reports arrive spread over the last 30 days. Demo reports are marked ``is_demo`` and
:func:`remove` deletes them and the lists again and disables the demo people.
"""

from __future__ import annotations

import io
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opschub import taxonomy
from opschub.accounts import service as accounts
from opschub.accounts.permissions import Role
from opschub.clock import frozen, utcnow
from opschub.intake import service
from opschub.intake.models import STATUSES, Report
from opschub.matching.formats import Entry
from opschub.matching.store import HashListStore

DEMO_LIST = "demo"
# Lists as a partner hotline's exchange file and an online service's would arrive: imported from
# files, so that the hash-list pages show a version and an import history.
EXCHANGE_LIST = "demo-exchange"
PLATFORM_LIST = "demo-platform"
DEMO_LISTS = (DEMO_LIST, EXCHANGE_LIST, PLATFORM_LIST)
# (username, role, display name): one of each role that works the queue.
DEMO_PEOPLE = (
    ("demo-analyst", Role.ANALYST, "Demo Analyst"),
    ("demo-senior", Role.SENIOR_ANALYST, "Demo Senior Analyst"),
)
SEED = 20260131
SPREAD_DAYS = 30


class DemoError(Exception):
    """Demo data cannot be loaded or removed; the message says why."""


@dataclass(frozen=True)
class DemoPerson:
    username: str
    role: str
    one_time_password: str


@dataclass(frozen=True)
class DemoSummary:
    reports: int
    list_entries: int
    lists: tuple[str, ...] = DEMO_LISTS
    people: list[DemoPerson] = field(default_factory=list)


def loaded_reports(session: Session) -> int:
    """How many demo reports the system holds (0: the demo is not loaded)."""
    return session.scalar(select(func.count()).where(Report.is_demo.is_(True))) or 0


def _pattern_image(index: int) -> bytes:
    """A PNG of coloured stripes and circles, different for each index (benign, generated)."""
    from PIL import Image, ImageDraw

    rng = random.Random(SEED + index)
    image = Image.new("RGB", (256, 256), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randrange(256), rng.randrange(256)
        r = rng.randrange(10, 80)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        else:
            draw.rectangle((x, 0, x + r // 2, 255), fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _fingerprints(index: int) -> list[service.FingerprintIn]:
    from opschub.matching.hashing import hash_image_bytes

    hashes = hash_image_bytes(_pattern_image(index), f"demo-{index}.png")
    if hashes.error or not hashes.pdq or not hashes.sha256 or not hashes.md5:
        raise DemoError(f"could not hash generated demo image {index}: {hashes.error}")
    return [
        service.FingerprintIn("pdq", hashes.pdq, hashes.quality),
        service.FingerprintIn("sha256", hashes.sha256),
        service.FingerprintIn("md5", hashes.md5),
    ]


def _reports(fingerprints: Callable[[int], list[service.FingerprintIn]]) -> list[service.ReportIn]:
    rng = random.Random(SEED)
    forms = list(taxonomy.FORM_OF_EXPLOITATION.values)
    out: list[service.ReportIn] = []
    for i in range(8):
        out.append(
            service.ReportIn(
                channel="public",
                incident_types=[forms[i % len(forms)]],
                urls=[f"https://example.org/demo/page-{i}", f"http://www.example.net/demo/{i}"],
                setting="online",
                where_seen="a demo website",
                description=f"Demo report {i}: synthetic text for trying out opschub.",
                contact="demo-reporter@example.org" if i % 3 == 0 else None,
                is_demo=True,
            )
        )
    for i in range(6):
        out.append(
            service.ReportIn(
                channel="self_report",
                fingerprints=fingerprints(i),
                media_kind="image",
                stated_age_band=["0-9", "10-12", "13-14", "15-17", None, "13-14"][i],
                is_demo=True,
            )
        )
    for i in range(10):
        out.append(
            service.ReportIn(
                channel="partner",
                incident_types=[rng.choice(["csam", "live_streaming", "grooming"])],
                urls=[f"https://example.net/demo/item-{i}", "https://example.org/demo/page-1"],
                fingerprints=fingerprints(10 + i)[:2],
                partner_reference=f"DEMO-{1000 + i}",
                is_demo=True,
            )
        )
    return out


def _import_list(
    store: HashListStore,
    name: str,
    lines: list[str],
    *,
    version: str,
    source: str,
    sharing: str,
    description: str,
) -> int:
    """Import ``lines`` as a file would arrive (so the list has a version and a history)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{name}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        summary = store.import_file(
            name,
            path,
            format="csv",
            version=version,
            source=source,
            sharing=sharing,
            description=description,
        )
    return summary.added


def _lists(store: HashListStore, fingerprints: Callable[[int], list[service.FingerprintIn]]) -> int:
    for name in DEMO_LISTS:
        if store.exists(name):
            store.remove_list(name)
    # The demo list knows some of the images: self-reports 0-2 and partner items 10-13.
    known = [fp for i in (0, 1, 2, 10, 11, 12, 13) for fp in fingerprints(i)[:2]]
    store.create_list(
        DEMO_LIST,
        source="opschub demo",
        sharing="demo only",
        description="Synthetic demo list: fingerprints of generated pattern images.",
    )
    store.add_entries(
        DEMO_LIST,
        [Entry(fp.hash_type, fp.value, "demo entry") for fp in known],  # type: ignore[arg-type]
    )
    total = len(known)
    exchange = [
        f"{fp.hash_type},{fp.value},exchange item {i}"
        for i in (3, 4, 14, 15)
        for fp in fingerprints(i)[1:3]
    ]
    total += _import_list(
        store,
        EXCHANGE_LIST,
        ["hash_type,hash,label", *exchange],
        version="2026.11",
        source="Demo partner hotline (fictional)",
        sharing="hotlines only, not to be passed on",
        description="Synthetic exchange list in the partner format (SHA-256 and MD5).",
    )
    platform = [f"pdq,{fingerprints(i)[0].value},platform item {i}" for i in (5, 16, 17, 18)]
    total += _import_list(
        store,
        PLATFORM_LIST,
        ["hash_type,hash,label", *platform],
        version="v3",
        source="Demo online service (fictional)",
        sharing="may be shared with online services",
        description="Synthetic PDQ list as an online service would send it.",
    )
    return total


def _people(session: Session) -> list[DemoPerson]:
    """The demo analyst and senior analyst, each with a new one-time password."""
    out = []
    for username, role, display_name in DEMO_PEOPLE:
        user = accounts.find_user(session, username)
        if user is None:
            user, one_time = accounts.create_user(
                session, username=username, role=role, display_name=display_name
            )
        else:  # loaded before and removed: enabled again with a new password
            accounts.set_disabled(session, user.id, False, None)
            one_time = accounts.reset_password(session, user.id, None)
        assert one_time is not None  # created without a password: a one-time one
        out.append(DemoPerson(user.username, user.role.value, one_time))
    return out


def load(session: Session, store: HashListStore, *, force: bool = False) -> DemoSummary:
    """Load the demo data (refused if loaded already, or if real reports exist unless ``force``)."""
    if loaded_reports(session):
        raise DemoError("demo data is already loaded; run `opschub demo remove` first")
    real = session.scalar(select(func.count()).select_from(Report)) or 0
    if real and not force:
        raise DemoError(
            f"the system already holds {real} real reports; demo data is meant for an empty "
            "system (use --force to add it anyway)"
        )
    cache: dict[int, list[service.FingerprintIn]] = {}

    def fingerprints(i: int) -> list[service.FingerprintIn]:
        if i not in cache:
            cache[i] = _fingerprints(i)
        return cache[i]

    reports = _reports(fingerprints)
    entries = _lists(store, fingerprints)
    # Reports arrive spread over the last 30 days, oldest first, each handled some hours later
    # (never after now), so that the queue shows waiting times and the statistics a trend.
    now = utcnow()
    rng = random.Random(SEED)
    offsets = sorted((timedelta(days=rng.uniform(0, SPREAD_DAYS)) for _ in reports), reverse=True)
    statuses = [STATUSES[index % len(STATUSES)] for index in range(len(reports))]
    submitted = []
    for report, offset, status in zip(reports, offsets, statuses, strict=True):
        received = now - offset
        with frozen(received):
            item = service.submit_reports(session, [report])[0]
        submitted.append(item)
        if status != "received":
            handled = min(now, received + timedelta(hours=rng.uniform(1, 48)))
            with frozen(handled):
                service.change_status(session, item.id, status, None)
    people = _people(session)
    return DemoSummary(reports=len(submitted), list_entries=entries, people=people)


def remove(session: Session, store: HashListStore) -> int:
    """Delete every demo report and the demo lists and disable the demo people; returns the
    number of reports removed."""
    removed = service.remove_reports(
        session, service.demo_report_ids(session), reason="demo data removed"
    )
    for name in DEMO_LISTS:
        if store.exists(name):
            store.remove_list(name)
    for username, _role, _name in DEMO_PEOPLE:
        user = accounts.find_user(session, username)
        if user is not None:
            accounts.set_disabled(session, user.id, True, None)
    return removed
