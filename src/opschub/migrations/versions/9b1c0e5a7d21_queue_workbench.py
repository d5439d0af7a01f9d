"""queue workbench: report references, claims, the new states, status history and notes

Revision ID: 9b1c0e5a7d21
Revises: a7c3e91f0d52
Create Date: 2026-12-02 04:20:41
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9b1c0e5a7d21"
down_revision: str | None = "a7c3e91f0d52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = "status IN ('received', 'assessing', 'action_taken', 'closed')"
NEW_STATUSES = (
    "status IN ('received', 'assessing', 'action_taken', 'not_illegal', 'duplicate', "
    "'out_of_jurisdiction', 'closed')"
)
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _reference(report_id: str) -> str:
    # Written out (not imported) so that this migration keeps meaning what it meant.
    value = int.from_bytes(hashlib.sha256(report_id.encode("ascii")).digest()[:5], "big")
    symbols = "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(35, -1, -5))
    return f"R-{symbols[:4]}-{symbols[4:]}"


def upgrade() -> None:
    op.create_table(
        "intake_report_notes",
        sa.Column("report_id", sa.String(length=32), nullable=False),
        sa.Column("author_id", sa.String(length=32), nullable=True),
        sa.Column("author_name", sa.String(length=200), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["intake_reports.id"],
            name=op.f("fk_intake_report_notes_report_id_intake_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_report_notes")),
    )
    op.create_index(
        "ix_intake_report_notes_report", "intake_report_notes", ["report_id", "created_at"]
    )
    op.create_table(
        "intake_report_status_changes",
        sa.Column("report_id", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=24), nullable=False),
        sa.Column("to_status", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.LargeBinary(), nullable=True),
        sa.Column("actor_id", sa.String(length=32), nullable=True),
        sa.Column("actor_name", sa.String(length=200), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["intake_reports.id"],
            name=op.f("fk_intake_report_status_changes_report_id_intake_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_report_status_changes")),
    )
    op.create_index(
        "ix_intake_report_status_changes_report",
        "intake_report_status_changes",
        ["report_id", "created_at"],
    )
    op.create_index("ix_intake_report_matches_hash", "intake_report_matches", ["hash"])
    op.create_index("ix_intake_report_urls_host", "intake_report_urls", ["host"])

    with op.batch_alter_table("intake_reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reference", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("assigned_to_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True))
    reports = sa.table("intake_reports", sa.column("id", sa.String), sa.column("reference"))
    connection = op.get_bind()
    ids = [row[0] for row in connection.execute(sa.select(reports.c.id))]
    if ids:
        connection.execute(
            reports.update()
            .where(reports.c.id == sa.bindparam("rid"))
            .values(reference=sa.bindparam("ref")),
            [{"rid": rid, "ref": _reference(rid)} for rid in ids],
        )
    with op.batch_alter_table("intake_reports", schema=None) as batch_op:
        batch_op.alter_column("reference", existing_type=sa.String(length=12), nullable=False)
        batch_op.alter_column(
            "status",
            existing_type=sa.VARCHAR(length=16),
            type_=sa.String(length=24),
            existing_nullable=False,
        )
        batch_op.drop_constraint(op.f("ck_intake_reports_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_intake_reports_status"), NEW_STATUSES)
        batch_op.create_index(
            "ix_intake_reports_assignee", ["assigned_to_id", "priority", "created_at", "id"]
        )
        batch_op.create_index(
            batch_op.f("ix_intake_reports_partner_reference"), ["partner_reference"]
        )
        batch_op.create_index("ix_intake_reports_queue_age", ["status", "created_at"])
        batch_op.create_index("ix_intake_reports_created", ["created_at", "id"])
        batch_op.create_index(
            "ix_intake_reports_channel", ["channel", "priority", "created_at", "id"]
        )
        batch_op.create_index(batch_op.f("ix_intake_reports_reference"), ["reference"])
    op.create_index("ix_intake_reports_order", "intake_reports", ["priority", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_intake_reports_order", table_name="intake_reports")
    with op.batch_alter_table("intake_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_reports_reference"))
        batch_op.drop_index("ix_intake_reports_channel")
        batch_op.drop_index("ix_intake_reports_created")
        batch_op.drop_index("ix_intake_reports_queue_age")
        batch_op.drop_index(batch_op.f("ix_intake_reports_partner_reference"))
        batch_op.drop_index("ix_intake_reports_assignee")
        batch_op.drop_constraint(op.f("ck_intake_reports_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_intake_reports_status"), OLD_STATUSES)
        batch_op.alter_column(
            "status",
            existing_type=sa.String(length=24),
            type_=sa.VARCHAR(length=16),
            existing_nullable=False,
        )
        batch_op.drop_column("assigned_at")
        batch_op.drop_column("assigned_to_id")
        batch_op.drop_column("reference")
    op.drop_index("ix_intake_report_urls_host", table_name="intake_report_urls")
    op.drop_index("ix_intake_report_matches_hash", table_name="intake_report_matches")
    op.drop_index(
        "ix_intake_report_status_changes_report", table_name="intake_report_status_changes"
    )
    op.drop_table("intake_report_status_changes")
    op.drop_index("ix_intake_report_notes_report", table_name="intake_report_notes")
    op.drop_table("intake_report_notes")
