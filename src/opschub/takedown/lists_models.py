"""Tables of the lists served to online services. Written only by
:mod:`opschub.takedown.lists_service`.

A served list (the URL block list ``urls``, the hash list ``hashes`` of confirmed items) is a
numbered sequence of versions. Its entries carry the version that added them and, once gone, the
version that removed them, so any version and the changes between two versions are one query,
the same on SQLite and PostgreSQL, shared by every web worker. A *source* says which confirmed URL
put an entry on a list: an entry is removed only when no confirmed URL still carries it (and only
if the list's rule, setting ``OPSCHUB_LISTS_REMOVE_WHEN_GONE``, says that gone content leaves it).

The tables hold URLs and hashes of confirmed material, never the material itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from opschub.clock import utcnow
from opschub.db import Base, IdMixin

SERVED_KINDS = ("urls", "hashes")
# The lists the system keeps, by name, and what each holds.
SERVED_LISTS = {"urls": "urls", "hashes": "hashes"}


class ServedList(Base):
    __tablename__ = "takedown_lists"
    __table_args__ = (
        CheckConstraint("kind IN ('urls', 'hashes')", name="kind"),
        CheckConstraint("version >= 0", name="version"),
    )

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(Integer, default=0)  # 0: nothing published yet
    entries: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ServedListVersion(IdMixin, Base):
    __tablename__ = "takedown_list_versions"
    __table_args__ = (UniqueConstraint("list_name", "version"),)

    list_name: Mapped[str] = mapped_column(String(64), ForeignKey("takedown_lists.name"))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    entries: Mapped[int] = mapped_column(Integer)
    added: Mapped[int] = mapped_column(Integer)
    removed: Mapped[int] = mapped_column(Integer)


class ServedListEntry(IdMixin, Base):
    """One stay of an entry on a list: added in ``added_version``, removed in
    ``removed_version`` (NULL while it is on the list). An entry added again later is a new row."""

    __tablename__ = "takedown_list_entries"
    __table_args__ = (
        Index("ix_takedown_list_entries_key", "list_name", "key_sha256"),
        Index("ix_takedown_list_entries_added", "list_name", "added_version"),
        Index("ix_takedown_list_entries_removed", "list_name", "removed_version"),
        CheckConstraint(
            "removed_version IS NULL OR removed_version > added_version", name="versions"
        ),
    )

    list_name: Mapped[str] = mapped_column(String(64), ForeignKey("takedown_lists.name"))
    # SHA-256 of the entry's identity (the normalised URL, or "<hash type>:<hash>")
    key_sha256: Mapped[str] = mapped_column(String(64))
    # what the list carries: {"url": ...} or {"hash_type": ..., "hash": ...}
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    added_version: Mapped[int] = mapped_column(Integer)
    removed_version: Mapped[int | None] = mapped_column(Integer, default=None)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(default=None)


class ServedListSource(IdMixin, Base):
    """A confirmed URL that carries an entry (a hash can be confirmed at several URLs)."""

    __tablename__ = "takedown_list_sources"
    __table_args__ = (
        UniqueConstraint("list_name", "key_sha256", "url_sha256"),
        Index("ix_takedown_list_sources_url", "url_sha256"),
    )

    list_name: Mapped[str] = mapped_column(String(64), ForeignKey("takedown_lists.name"))
    key_sha256: Mapped[str] = mapped_column(String(64))
    url_sha256: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    target_id: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
