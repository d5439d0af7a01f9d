"""accounts hardening: reset notices, session idle time and re-authentication time

Revision ID: a7c3e91f0d52
Revises: 32673af64046
Create Date: 2026-12-02 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a7c3e91f0d52"
down_revision: str | None = "32673af64046"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("reset_notice_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("reset_notice_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("user_sessions") as batch:
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("authenticated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user_sessions") as batch:
        batch.drop_column("authenticated_at")
        batch.drop_column("last_seen_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("reset_notice_at")
        batch.drop_column("reset_notice_by")
