"""Synthetic, benign demo data so that a new user can explore every page.

Everything here is generated: URLs under example.org / example.net (reserved for documentation),
fingerprints of generated pattern images, a hash list ``demo``. Demo reports are marked
``is_demo`` and :func:`remove` deletes them and the list again.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opschub import taxonomy
from opschub.intake import service
from opschub.intake.models import STATUSES, Report
from opschub.matching.formats import Entry
from opschub.matching.store import HashListStore

DEMO_LIST = "demo"
SEED = 20260131


class DemoError(Exception):
    """Demo data cannot be loaded or removed; the message says why."""


@dataclass(frozen=True)
class DemoSummary:
    reports: int
    list_entries: int


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


def load(session: Session, store: HashListStore, *, force: bool = False) -> DemoSummary:
    """Load the demo data (refused if loaded already, or if real reports exist unless ``force``)."""
    if session.scalar(select(func.count()).where(Report.is_demo.is_(True))):
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
    # The demo list knows some of the images: self-reports 0-2 and partner items 10-13.
    known = [fp for i in (0, 1, 2, 10, 11, 12, 13) for fp in fingerprints(i)[:2]]
    if store.exists(DEMO_LIST):
        store.remove_list(DEMO_LIST)
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
    submitted = service.submit_reports(session, reports)
    for index, item in enumerate(submitted):
        status = STATUSES[index % len(STATUSES)]
        if status != "received":
            service.change_status(session, item.id, status, None)
    return DemoSummary(reports=len(submitted), list_entries=len(known))


def remove(session: Session, store: HashListStore) -> int:
    """Delete every demo report and the demo list; returns the number of reports removed."""
    removed = service.remove_reports(
        session, service.demo_report_ids(session), reason="demo data removed"
    )
    if store.exists(DEMO_LIST):
        store.remove_list(DEMO_LIST)
    return removed
