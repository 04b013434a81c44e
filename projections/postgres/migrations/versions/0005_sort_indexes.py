"""Indexes for the library page's orderings: BPM, and artist then title (the default).

The page orders ids by the sort column, then file_id, and pages with OFFSET; without an
index Postgres scanned and top-N sorted the whole table for every page (67 ms at 100,000
tracks for page 20 by BPM, 6 ms with the index; benchmarks/pages_library.py).

Revision ID: 0005_sort_indexes
Revises: 0004_fingerprints
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0005_sort_indexes"
down_revision = "0004_fingerprints"
branch_labels = None
depends_on = None

INDEXES = {"ix_tracks_bpm_file_id": ["bpm", "file_id"],
           "ix_tracks_artist_title_file_id": ["artist", "title", "file_id"]}


def upgrade(schema: str) -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "tracks", columns, schema=schema)


def downgrade(schema: str) -> None:
    for name in INDEXES:
        op.drop_index(name, "tracks", schema=schema)
