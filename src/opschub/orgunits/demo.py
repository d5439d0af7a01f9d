"""Demo organisation units: one invented country, three provinces, three districts each.

The names are benign inventions (``XA`` is a user-assigned ISO 3166 code, never a real country).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from opschub.orgunits import service

_PROVINCES = (
    (
        "XA-01",
        "North Province",
        "北方省",
        (("Riverside", "河滨区"), ("Hillview", "山景区"), ("Lakeshore", "湖岸区")),
    ),
    (
        "XA-02",
        "East Province",
        "东方省",
        (("Harbour", "港湾区"), ("Pinewood", "松林区"), ("Meadow", "草原区")),
    ),
    (
        "XA-03",
        "South Province",
        "南方省",
        (("Orchard", "果园区"), ("Stonebridge", "石桥区"), ("Bayside", "海湾区")),
    ),
)

DEMO_UNITS: tuple[dict[str, str], ...] = (
    {"code": "XA", "parent": "", "level": "1", "name_en": "Example Country", "name_zh": "示例国"},
    *(
        {"code": code, "parent": "XA", "level": "2", "name_en": en, "name_zh": zh}
        for code, en, zh, _ in _PROVINCES
    ),
    *(
        {
            "code": f"{code}-{i:02d}",
            "parent": code,
            "level": "3",
            "name_en": f"{d_en} District",
            "name_zh": d_zh,
        }
        for code, _en, _zh, districts in _PROVINCES
        for i, (d_en, d_zh) in enumerate(districts, start=1)
    ),
)
DISTRICTS: tuple[str, ...] = tuple(u["code"] for u in DEMO_UNITS if u["level"] == "3")


def load(session: Session) -> service.LoadResult:
    """Add the demo units (again: updates nothing that is unchanged)."""
    return service.load_rows(session, None, DEMO_UNITS, actor_label="demo data")
