"""Chromaprint fingerprints in the read model (AnalysisCompleted v4).

`analyses.fingerprint` (bytea: the raw uint32 little-endian sub-fingerprints) and
`tracks.fingerprint_signature`, `fingerprint_mask` (bigints: the 64-bit majority signature
of the current analysis' fingerprint and its clear bits, projections/postgres/
fingerprints.py), which `query duplicates` scans first. NULL for analyses without a
fingerprint (events before v4).

Revision ID: 0004_fingerprints
Revises: 0003_beat_grid
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_fingerprints"
down_revision = "0003_beat_grid"
branch_labels = None
depends_on = None


def upgrade(schema: str) -> None:
    op.add_column("analyses", sa.Column("fingerprint", sa.LargeBinary), schema=schema)
    for name in ("fingerprint_signature", "fingerprint_mask"):
        op.add_column("tracks", sa.Column(name, sa.BigInteger), schema=schema)


def downgrade(schema: str) -> None:
    for name in ("fingerprint_mask", "fingerprint_signature"):
        op.drop_column("tracks", name, schema=schema)
    op.drop_column("analyses", "fingerprint", schema=schema)
