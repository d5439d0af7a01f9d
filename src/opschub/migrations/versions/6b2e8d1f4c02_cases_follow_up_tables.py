"""cases follow-up tables

Services directory, referrals and follow-ups, proceedings, offences, the informed log.

Revision ID: 6b2e8d1f4c02
Revises: 6b2e8d1f4c01
Create Date: 2026-12-02 13:21:16.126431
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6b2e8d1f4c02"
down_revision: str | None = "6b2e8d1f4c01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "referral_services",
        sa.Column("org_unit_code", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("contact", sa.LargeBinary(), nullable=True),
        sa.Column("delivery", sa.String(length=16), nullable=False),
        sa.Column("email", sa.LargeBinary(), nullable=True),
        sa.Column("webhook_url", sa.Text(), nullable=True),
        sa.Column("webhook_secret", sa.LargeBinary(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "delivery IN ('none', 'email', 'webhook')", name=op.f("ck_referral_services_delivery")
        ),
        sa.CheckConstraint(
            "kind IN ('one_stop_centre', 'medical', 'psychosocial', 'legal_aid', 'shelter', "
            "'family_tracing', 'compensation_scheme')",
            name=op.f("ck_referral_services_kind"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_services")),
    )
    with op.batch_alter_table("referral_services", schema=None) as batch_op:
        batch_op.create_index("ix_referral_services_unit", ["org_unit_code", "kind"], unique=False)

    op.create_table(
        "case_informed_log",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("told_on", sa.Date(), nullable=False),
        sa.Column("who", sa.String(length=24), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("form", sa.String(length=16), nullable=False),
        sa.Column("what", sa.LargeBinary(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("told_by_id", sa.String(length=32), nullable=True),
        sa.Column("told_by_name", sa.String(length=200), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "form IN ('in_person', 'phone', 'video', 'letter', 'message')",
            name=op.f("ck_case_informed_log_form"),
        ),
        sa.CheckConstraint(
            "who IN ('child', 'guardian', 'child_and_guardian')",
            name=op.f("ck_case_informed_log_who"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_informed_log_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_informed_log")),
    )
    with op.batch_alter_table("case_informed_log", schema=None) as batch_op:
        batch_op.create_index("ix_case_informed_log_case", ["case_id", "told_on"], unique=False)

    op.create_table(
        "case_offences",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("victim_id", sa.String(length=32), nullable=True),
        sa.Column("suspect_id", sa.String(length=32), nullable=True),
        sa.Column("offence_code", sa.String(length=40), nullable=False),
        sa.Column("committed_on", sa.Date(), nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("falls_on", sa.Date(), nullable=True),
        sa.Column("exact", sa.Boolean(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_offences_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["suspect_id"],
            ["case_people.id"],
            name=op.f("fk_case_offences_suspect_id_case_people"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["victim_id"],
            ["case_people.id"],
            name=op.f("fk_case_offences_victim_id_case_people"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_offences")),
    )
    with op.batch_alter_table("case_offences", schema=None) as batch_op:
        batch_op.create_index("ix_case_offences_case", ["case_id"], unique=False)
        batch_op.create_index("ix_case_offences_falls", ["falls_on"], unique=False)

    op.create_table(
        "case_proceedings",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("suspect_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.LargeBinary(), nullable=True),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("created_by_id", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('investigation_opened', 'charged', 'prosecution', 'hearing', 'conviction', "
            "'acquittal', 'sentence', 'appeal', 'compensation_ordered', 'compensation_paid', "
            "'offender_released')",
            name=op.f("ck_case_proceedings_kind"),
        ),
        sa.CheckConstraint(
            "amount IS NULL OR amount >= 0", name=op.f("ck_case_proceedings_amount")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_proceedings_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["suspect_id"],
            ["case_people.id"],
            name=op.f("fk_case_proceedings_suspect_id_case_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_proceedings")),
    )
    with op.batch_alter_table("case_proceedings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_case_proceedings_case", ["case_id", "suspect_id", "occurred_on"], unique=False
        )
        batch_op.create_index("ix_case_proceedings_on", ["occurred_on"], unique=False)

    op.create_table(
        "case_referrals",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=True),
        sa.Column("service_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("consent_by", sa.String(length=16), nullable=False),
        sa.Column("override_reason", sa.LargeBinary(), nullable=True),
        sa.Column("note", sa.LargeBinary(), nullable=True),
        sa.Column("delivery_state", sa.String(length=16), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.String(length=32), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "consent_by <> 'override' OR override_reason IS NOT NULL",
            name=op.f("ck_case_referrals_override_reason"),
        ),
        sa.CheckConstraint(
            "consent_by IN ('child', 'guardian', 'override')",
            name=op.f("ck_case_referrals_consent_by"),
        ),
        sa.CheckConstraint(
            "delivery_state IN ('not_sent', 'queued', 'delivered', 'failed')",
            name=op.f("ck_case_referrals_delivery_state"),
        ),
        sa.CheckConstraint(
            "status IN ('sent', 'accepted', 'declined', 'service_given', 'closed')",
            name=op.f("ck_case_referrals_status"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_referrals_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["case_people.id"],
            name=op.f("fk_case_referrals_person_id_case_people"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["referral_services.id"],
            name=op.f("fk_case_referrals_service_id_referral_services"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_referrals")),
    )
    with op.batch_alter_table("case_referrals", schema=None) as batch_op:
        batch_op.create_index("ix_case_referrals_case", ["case_id", "created_at"], unique=False)
        batch_op.create_index("ix_case_referrals_due", ["status", "due_on"], unique=False)

    op.create_table(
        "case_referral_followups",
        sa.Column("referral_id", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.LargeBinary(), nullable=True),
        sa.Column("next_due_on", sa.Date(), nullable=True),
        sa.Column("actor_id", sa.String(length=32), nullable=True),
        sa.Column("actor_name", sa.String(length=200), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["case_referrals.id"],
            name=op.f("fk_case_referral_followups_referral_id_case_referrals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_referral_followups")),
    )
    with op.batch_alter_table("case_referral_followups", schema=None) as batch_op:
        batch_op.create_index(
            "ix_case_referral_followups_referral", ["referral_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("case_referral_followups", schema=None) as batch_op:
        batch_op.drop_index("ix_case_referral_followups_referral")

    op.drop_table("case_referral_followups")
    with op.batch_alter_table("case_referrals", schema=None) as batch_op:
        batch_op.drop_index("ix_case_referrals_due")
        batch_op.drop_index("ix_case_referrals_case")

    op.drop_table("case_referrals")
    with op.batch_alter_table("case_proceedings", schema=None) as batch_op:
        batch_op.drop_index("ix_case_proceedings_on")
        batch_op.drop_index("ix_case_proceedings_case")

    op.drop_table("case_proceedings")
    with op.batch_alter_table("case_offences", schema=None) as batch_op:
        batch_op.drop_index("ix_case_offences_falls")
        batch_op.drop_index("ix_case_offences_case")

    op.drop_table("case_offences")
    with op.batch_alter_table("case_informed_log", schema=None) as batch_op:
        batch_op.drop_index("ix_case_informed_log_case")

    op.drop_table("case_informed_log")
    with op.batch_alter_table("referral_services", schema=None) as batch_op:
        batch_op.drop_index("ix_referral_services_unit")

    op.drop_table("referral_services")
