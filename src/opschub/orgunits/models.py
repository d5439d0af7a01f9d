"""Organisation-unit tables. Written only by :mod:`opschub.orgunits.service`.

A unit is a country (level 1), a province (2) or a district (3); each unit below a country names its
parent. Codes are stable (``XA``, ``XA-01``, ``XA-01-02``); names are given in English and
Simplified Chinese. Units are never deleted once cases or statistics use them: they are deactivated.
Nothing here names a person.
"""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from opschub.db import Base, IdMixin, TimestampMixin

LEVELS = (1, 2, 3)  # country, province, district
MAX_CODE = 32
MAX_NAME = 200


class OrgUnit(IdMixin, TimestampMixin, Base):
    __tablename__ = "org_units"
    __table_args__ = (
        CheckConstraint("level IN (1, 2, 3)", name="level"),
        CheckConstraint("(level = 1) = (parent_id IS NULL)", name="parent_for_level"),
    )

    code: Mapped[str] = mapped_column(String(MAX_CODE), nullable=False, unique=True)
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("org_units.id", ondelete="RESTRICT"), index=True
    )
    level: Mapped[int] = mapped_column(Integer, nullable=False)
    name_en: Mapped[str] = mapped_column(String(MAX_NAME), nullable=False)
    name_zh: Mapped[str] = mapped_column(String(MAX_NAME), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
