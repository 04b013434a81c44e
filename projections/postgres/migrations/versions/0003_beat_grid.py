"""Beat grid in the read model (AnalysisCompleted v3).

`analyses` and `tracks` (the current analysis' values, for exports without a join) get
`first_beat_s`, `grid_confidence`, `downbeat_s`, `beats_per_bar`. All NULL for analyses
that predate the grid (events of v1/v2 did not carry one); a replay fills nothing else in.

Revision ID: 0003_beat_grid
Revises: 0002_tuning_and_confidence
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_beat_grid"
down_revision = "0002_tuning_and_confidence"
branch_labels = None
depends_on = None

GRID_COLUMNS: tuple[tuple[str, type[sa.Float[float] | sa.Integer]], ...] = (
    ("first_beat_s", sa.Float), ("grid_confidence", sa.Float), ("downbeat_s", sa.Float),
    ("beats_per_bar", sa.Integer),
)


def upgrade(schema: str) -> None:
    for table in ("analyses", "tracks"):
        for name, type_ in GRID_COLUMNS:
            op.add_column(table, sa.Column(name, type_), schema=schema)


def downgrade(schema: str) -> None:
    for table in ("tracks", "analyses"):
        for name, _ in reversed(GRID_COLUMNS):
            op.drop_column(table, name, schema=schema)
