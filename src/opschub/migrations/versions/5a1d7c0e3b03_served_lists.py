"""takedown: lists served to online services (versions, entries, sources)

Revision ID: 5a1d7c0e3b03
Revises: 5a1d7c0e3b02
Create Date: 2026-12-02 13:30:00

Follows td-notify's 5a1d7c0e3b02 (merged into this branch).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a1d7c0e3b03"
down_revision: str | None = "5a1d7c0e3b02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "takedown_lists",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('urls', 'hashes')", name=op.f("ck_takedown_lists_kind")),
        sa.CheckConstraint("version >= 0", name=op.f("ck_takedown_lists_version")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_takedown_lists")),
    )
    op.create_table(
        "takedown_list_versions",
        sa.Column("list_name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_name"],
            ["takedown_lists.name"],
            name=op.f("fk_takedown_list_versions_list_name_takedown_lists"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_takedown_list_versions")),
        sa.UniqueConstraint(
            "list_name", "version", name=op.f("uq_takedown_list_versions_list_name_version")
        ),
    )
    op.create_table(
        "takedown_list_entries",
        sa.Column("list_name", sa.String(length=64), nullable=False),
        sa.Column("key_sha256", sa.String(length=64), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("added_version", sa.Integer(), nullable=False),
        sa.Column("removed_version", sa.Integer(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.CheckConstraint(
            "removed_version IS NULL OR removed_version > added_version",
            name=op.f("ck_takedown_list_entries_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["list_name"],
            ["takedown_lists.name"],
            name=op.f("fk_takedown_list_entries_list_name_takedown_lists"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_takedown_list_entries")),
    )
    with op.batch_alter_table("takedown_list_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_takedown_list_entries_added", ["list_name", "added_version"], unique=False
        )
        batch_op.create_index(
            "ix_takedown_list_entries_key", ["list_name", "key_sha256"], unique=False
        )
        batch_op.create_index(
            "ix_takedown_list_entries_removed", ["list_name", "removed_version"], unique=False
        )
    op.create_table(
        "takedown_list_sources",
        sa.Column("list_name", sa.String(length=64), nullable=False),
        sa.Column("key_sha256", sa.String(length=64), nullable=False),
        sa.Column("url_sha256", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("target_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_name"],
            ["takedown_lists.name"],
            name=op.f("fk_takedown_list_sources_list_name_takedown_lists"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_takedown_list_sources")),
        sa.UniqueConstraint(
            "list_name",
            "key_sha256",
            "url_sha256",
            name=op.f("uq_takedown_list_sources_list_name_key_sha256_url_sha256"),
        ),
    )
    with op.batch_alter_table("takedown_list_sources", schema=None) as batch_op:
        batch_op.create_index("ix_takedown_list_sources_url", ["url_sha256"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("takedown_list_sources", schema=None) as batch_op:
        batch_op.drop_index("ix_takedown_list_sources_url")
    op.drop_table("takedown_list_sources")
    with op.batch_alter_table("takedown_list_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_takedown_list_entries_removed")
        batch_op.drop_index("ix_takedown_list_entries_key")
        batch_op.drop_index("ix_takedown_list_entries_added")
    op.drop_table("takedown_list_entries")
    op.drop_table("takedown_list_versions")
    op.drop_table("takedown_lists")
