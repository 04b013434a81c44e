"""Tuning and confidences in the read model (AnalysisCompleted v2).

`analyses.tuning_cents`; `tracks.bpm_confidence`, `key_strength`, `tuning_cents` (the current
analysis' values, so `query tracks --min-confidence` filters without a join). Existing tracks
take their confidences from their current analysis row; tuning stays NULL for analyses that
predate it (v1 events did not measure it).

Revision ID: 0002_tuning_and_confidence
Revises: 0001_initial
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_tuning_and_confidence"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

TRACK_COLUMNS = ("bpm_confidence", "key_strength", "tuning_cents")


def upgrade(schema: str) -> None:
    op.add_column("analyses", sa.Column("tuning_cents", sa.Float), schema=schema)
    for name in TRACK_COLUMNS:
        op.add_column("tracks", sa.Column(name, sa.Float), schema=schema)
    # Schema names are checked identifiers (schema.check_schema_name), safe to interpolate.
    op.execute(
        f'UPDATE "{schema}".tracks AS t '
        "SET bpm_confidence = a.bpm_confidence, key_strength = a.key_strength "
        f'FROM "{schema}".analyses AS a WHERE a.analysis_id = t.current_analysis_id')


def downgrade(schema: str) -> None:
    for name in TRACK_COLUMNS:
        op.drop_column("tracks", name, schema=schema)
    op.drop_column("analyses", "tuning_cents", schema=schema)
