"""cases: stored follow-up state (stage waits per suspect, told mark per step), backfilled

Revision ID: 8d4a1f3b6e01
Revises: 7c3f9e2a5d01
Create Date: 2026-12-02 18:30:00

The backfill runs the rules of opschub.cases.stages_state.waits_of and
opschub.cases.informing_rules.is_told as they were at this revision (copied here: a migration
must not change when the application's code does).
"""

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "8d4a1f3b6e01"
down_revision: str | None = "7c3f9e2a5d01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STEPS = (
    "investigation_opened",
    "charged",
    "prosecution",
    "hearing",
    "conviction",
    "acquittal",
    "sentence",
    "appeal",
    "compensation_ordered",
    "compensation_paid",
    "offender_released",
)
WAITING_STAGES = (
    "opened",
    "investigation_opened",
    "charged",
    "prosecution",
    "hearing",
    "conviction",
    "appeal",
    "compensation_ordered",
)
MUST_TELL = ("charged", "hearing", "conviction", "acquittal", "sentence", "offender_released")
CHUNK = 1000


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _waits(steps: list[tuple[str, date]], opened_on: date) -> list[tuple[str, str, date]]:
    found = []
    main = [s for s in steps if s[0] not in ("compensation_ordered", "compensation_paid")]
    if main:
        kind, on = max(main, key=lambda s: (s[1], STEPS.index(s[0])))
    else:
        kind, on = "opened", opened_on
    if kind in WAITING_STAGES:
        found.append(("main", kind, on))
    ordered = [on for kind, on in steps if kind == "compensation_ordered"]
    paid = [on for kind, on in steps if kind == "compensation_paid"]
    if ordered and (not paid or max(paid) < max(ordered)):
        found.append(("compensation", "compensation_ordered", max(ordered)))
    return found


def _backfill() -> None:
    bind = op.get_bind()
    waits = sa.table(
        "case_stage_waits",
        sa.column("suspect_id", sa.String),
        sa.column("track", sa.String),
        sa.column("case_id", sa.String),
        sa.column("stage", sa.String),
        sa.column("since", sa.Date),
    )
    proceedings = sa.table(
        "case_proceedings", sa.column("id", sa.String), sa.column("told", sa.Boolean)
    )
    steps: dict[tuple[str, str], list[tuple[str, date]]] = defaultdict(list)
    must_tell: dict[str, list[tuple[str, date]]] = defaultdict(list)
    for row in bind.execute(
        sa.text("SELECT id, case_id, suspect_id, kind, occurred_on FROM case_proceedings")
    ):
        on = _date(row.occurred_on)
        steps[(row.case_id, row.suspect_id)].append((row.kind, on))
        if row.kind in MUST_TELL:
            must_tell[row.case_id].append((row.id, on))
    rows = []
    for row in bind.execute(
        sa.text(
            "SELECT c.id AS case_id, c.opened_on, p.id AS suspect_id FROM cases c "
            "JOIN case_people p ON p.case_id = c.id WHERE c.status != 'closed' "
            "AND p.role = 'suspect' AND p.protected_track = :no"
        ),
        {"no": False},
    ):
        for track, stage, since in _waits(
            steps.get((row.case_id, row.suspect_id), []), _date(row.opened_on)
        ):
            rows.append(
                {
                    "suspect_id": row.suspect_id,
                    "track": track,
                    "case_id": row.case_id,
                    "stage": stage,
                    "since": since,
                }
            )
    for start in range(0, len(rows), CHUNK):
        bind.execute(sa.insert(waits), rows[start : start + CHUNK])
    log: dict[str, list[tuple[date, tuple[str, ...]]]] = defaultdict(list)
    for row in bind.execute(sa.text("SELECT case_id, told_on, steps FROM case_informed_log")):
        named = row.steps if not isinstance(row.steps, str) else json.loads(row.steps)
        log[row.case_id].append((_date(row.told_on), tuple(named or ())))
    marks: dict[bool, list[str]] = {True: [], False: []}
    for case_id, happened in must_tell.items():
        entries = log.get(case_id, [])
        for step_id, on in happened:
            told = any((step_id in named) if named else told_on >= on for told_on, named in entries)
            marks[told].append(step_id)
    for value, ids in marks.items():
        for start in range(0, len(ids), CHUNK):
            bind.execute(
                sa.update(proceedings)
                .where(proceedings.c.id.in_(ids[start : start + CHUNK]))
                .values(told=value)
            )


def upgrade() -> None:
    op.create_table(
        "case_stage_waits",
        sa.Column("suspect_id", sa.String(length=32), nullable=False),
        sa.Column("track", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "track IN ('main', 'compensation')", name=op.f("ck_case_stage_waits_track")
        ),
        sa.CheckConstraint(
            "stage IN (" + ", ".join(repr(s) for s in WAITING_STAGES) + ")",
            name=op.f("ck_case_stage_waits_stage"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_stage_waits_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["suspect_id"],
            ["case_people.id"],
            name=op.f("fk_case_stage_waits_suspect_id_case_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("suspect_id", "track", name=op.f("pk_case_stage_waits")),
    )
    with op.batch_alter_table("case_stage_waits", schema=None) as batch_op:
        batch_op.create_index("ix_case_stage_waits_case", ["case_id"], unique=False)
        batch_op.create_index(
            "ix_case_stage_waits_stage", ["stage", "since", "case_id", "suspect_id"], unique=False
        )
    with op.batch_alter_table("case_proceedings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("told", sa.Boolean(), nullable=True))
        batch_op.create_index(
            "ix_case_proceedings_untold", ["told", "occurred_on", "case_id", "id"], unique=False
        )
    _backfill()


def downgrade() -> None:
    with op.batch_alter_table("case_proceedings", schema=None) as batch_op:
        batch_op.drop_index("ix_case_proceedings_untold")
        batch_op.drop_column("told")
    with op.batch_alter_table("case_stage_waits", schema=None) as batch_op:
        batch_op.drop_index("ix_case_stage_waits_stage")
        batch_op.drop_index("ix_case_stage_waits_case")
    op.drop_table("case_stage_waits")
