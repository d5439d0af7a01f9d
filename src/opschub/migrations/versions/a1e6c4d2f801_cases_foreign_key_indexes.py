"""cases: an index for every foreign key to cases / case_people without one, and lower(alias)

Revision ID: a1e6c4d2f801
Revises: 8d4a1f3b6e01
Create Date: 2026-12-03 07:30:00

Deleting a case or a person makes the database find the rows that refer to it (ON DELETE
CASCADE / SET NULL); PostgreSQL indexes the referenced key, never the referencing column, so
without these it reads the whole referencing table once per deleted row (``opschub demo remove``
at a million cases did not finish). Every other such column already leads an index or a unique
constraint. ``ix_case_people_alias_lower`` serves the case-blind duplicate-person hints
(``lower(alias) = lower(:alias)``) for aliases of any length. ``ix_cases_creator`` lets the
record-level scope find the cases a person opened without reading every case (a case worker
whose scope is narrow: :func:`opschub.cases.service.visible_ids_if_few`). The plain
``ix_case_people_alias`` goes: it served the hints' former list of spellings, no query uses it
now, and it cost every person written (the alias lookups within a case use the unique
constraint on case and alias).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1e6c4d2f801"
down_revision: str | None = "8d4a1f3b6e01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (index, table, column)
FOREIGN_KEY_INDEXES = (
    ("ix_case_people_victim_person_id", "case_people", "victim_person_id"),
    ("ix_case_referrals_person_id", "case_referrals", "person_id"),
    ("ix_case_proceedings_suspect_id", "case_proceedings", "suspect_id"),
    ("ix_case_offences_victim_id", "case_offences", "victim_id"),
    ("ix_case_offences_suspect_id", "case_offences", "suspect_id"),
    ("ix_cases_creator", "cases", "created_by_id"),
)


def upgrade() -> None:
    op.drop_index("ix_case_people_alias", table_name="case_people")
    for name, table, column in FOREIGN_KEY_INDEXES:
        op.create_index(name, table, [column], unique=False)
    op.create_index(
        "ix_case_people_alias_lower", "case_people", [sa.text("lower(alias)")], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_case_people_alias_lower", table_name="case_people")
    for name, table, _column in reversed(FOREIGN_KEY_INDEXES):
        op.drop_index(name, table_name=table)
    op.create_index("ix_case_people_alias", "case_people", ["alias"], unique=False)
