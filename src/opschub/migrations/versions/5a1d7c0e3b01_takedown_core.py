"""takedown core tables: targets, items, assessments, national categories, exposures

Revision ID: 5a1d7c0e3b01
Revises: f9e0b21e9c51
Create Date: 2026-12-02 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a1d7c0e3b01"
down_revision: str | None = "f9e0b21e9c51"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TARGET_STATES = (
    "'new', 'capturing', 'captured', 'capture_failed', 'assessing', 'awaiting_confirmation', "
    "'disputed', 'confirmed', 'not_illegal', 'notified', 'removed'"
)
ITEM_STATES = "'pending', 'awaiting_confirmation', 'disputed', 'confirmed', 'not_illegal'"


def upgrade() -> None:
    op.create_table(
        "takedown_categories",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("legal_reference", sa.String(length=500), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_takedown_categories")),
        sa.UniqueConstraint("code", name=op.f("uq_takedown_categories_code")),
    )
    op.create_table(
        "takedown_targets",
        sa.Column("report_id", sa.String(length=32), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("url_hash", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=32), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_notice_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("capture_outcome", sa.String(length=24), nullable=True),
        sa.Column("capture_error", sa.Text(), nullable=True),
        sa.Column("capture", sa.JSON(), nullable=False),
        sa.Column("media_found", sa.Integer(), nullable=False),
        sa.Column("media_skipped", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("asn", sa.Integer(), nullable=True),
        sa.Column("provider", sa.String(length=200), nullable=True),
        sa.Column("hosting", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.CheckConstraint(f"state IN ({TARGET_STATES})", name=op.f("ck_takedown_targets_state")),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["intake_reports.id"],
            name=op.f("fk_takedown_targets_report_id_intake_reports"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_takedown_targets")),
        sa.UniqueConstraint(
            "report_id", "url_hash", name=op.f("uq_takedown_targets_report_id_url_hash")
        ),
    )
    with op.batch_alter_table("takedown_targets", schema=None) as batch_op:
        batch_op.create_index("ix_takedown_targets_confirmed", ["confirmed_at"], unique=False)
        batch_op.create_index("ix_takedown_targets_host", ["host"], unique=False)
        batch_op.create_index("ix_takedown_targets_state", ["state", "reported_at"], unique=False)

    op.create_table(
        "takedown_items",
        sa.Column("target_id", sa.String(length=32), nullable=False),
        sa.Column("evidence_item_id", sa.String(length=32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("media_type", sa.String(length=200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("md5", sa.String(length=32), nullable=False),
        sa.Column("pdq", sa.String(length=64), nullable=True),
        sa.Column("pdq_quality", sa.Integer(), nullable=True),
        sa.Column("fetch", sa.JSON(), nullable=False),
        sa.Column("matches", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("auto_from_item_id", sa.String(length=32), nullable=True),
        sa.Column("seen_before_target_id", sa.String(length=32), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("baseline", sa.Boolean(), nullable=True),
        sa.Column("category_code", sa.String(length=32), nullable=True),
        sa.Column("form", sa.String(length=40), nullable=True),
        sa.Column("age_band", sa.String(length=8), nullable=True),
        sa.Column("sex", sa.String(length=8), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('image', 'video', 'other')", name=op.f("ck_takedown_items_kind")
        ),
        sa.CheckConstraint(f"state IN ({ITEM_STATES})", name=op.f("ck_takedown_items_state")),
        sa.ForeignKeyConstraint(
            ["evidence_item_id"],
            ["evidence_items.id"],
            name=op.f("fk_takedown_items_evidence_item_id_evidence_items"),
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["takedown_targets.id"],
            name=op.f("fk_takedown_items_target_id_takedown_targets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_takedown_items")),
        sa.UniqueConstraint("target_id", "sha256", name=op.f("uq_takedown_items_target_id_sha256")),
    )
    with op.batch_alter_table("takedown_items", schema=None) as batch_op:
        batch_op.create_index("ix_takedown_items_sha256", ["sha256", "state"], unique=False)
        batch_op.create_index("ix_takedown_items_state", ["state", "created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_takedown_items_target_id"), ["target_id"], unique=False
        )

    op.create_table(
        "takedown_assessments",
        sa.Column("item_id", sa.String(length=32), nullable=False),
        sa.Column("analyst_id", sa.String(length=32), nullable=True),
        sa.Column("analyst_name", sa.String(length=200), nullable=True),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("real_child", sa.Boolean(), nullable=True),
        sa.Column("under_13", sa.Boolean(), nullable=True),
        sa.Column("abuse_or_genitals", sa.Boolean(), nullable=True),
        sa.Column("category_code", sa.String(length=32), nullable=True),
        sa.Column("form", sa.String(length=40), nullable=True),
        sa.Column("age_band", sa.String(length=8), nullable=True),
        sa.Column("sex", sa.String(length=8), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "decision IN ('illegal', 'not_illegal')",
            name=op.f("ck_takedown_assessments_decision"),
        ),
        sa.CheckConstraint(
            "role IN ('first', 'second', 'senior', 'auto')",
            name=op.f("ck_takedown_assessments_role"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["takedown_items.id"],
            name=op.f("fk_takedown_assessments_item_id_takedown_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_takedown_assessments")),
    )
    with op.batch_alter_table("takedown_assessments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_takedown_assessments_item", ["item_id", "created_at"], unique=False
        )

    op.create_table(
        "takedown_exposures",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("item_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("revealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["takedown_items.id"],
            name=op.f("fk_takedown_exposures_item_id_takedown_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_takedown_exposures")),
    )
    with op.batch_alter_table("takedown_exposures", schema=None) as batch_op:
        batch_op.create_index("ix_takedown_exposures_user_day", ["user_id", "day"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("takedown_exposures", schema=None) as batch_op:
        batch_op.drop_index("ix_takedown_exposures_user_day")
    op.drop_table("takedown_exposures")
    with op.batch_alter_table("takedown_assessments", schema=None) as batch_op:
        batch_op.drop_index("ix_takedown_assessments_item")
    op.drop_table("takedown_assessments")
    with op.batch_alter_table("takedown_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_takedown_items_target_id"))
        batch_op.drop_index("ix_takedown_items_state")
        batch_op.drop_index("ix_takedown_items_sha256")
    op.drop_table("takedown_items")
    with op.batch_alter_table("takedown_targets", schema=None) as batch_op:
        batch_op.drop_index("ix_takedown_targets_state")
        batch_op.drop_index("ix_takedown_targets_host")
        batch_op.drop_index("ix_takedown_targets_confirmed")
    op.drop_table("takedown_targets")
    op.drop_table("takedown_categories")
