"""Initial read model: tracks, analyses, failures, track_moves, projection_checkpoints.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

STATUS_SQL = "CASE WHEN present IS FALSE THEN 'deleted' ELSE COALESCE(progress, 'queued') END"
TRGM_COLUMNS = ("title", "artist", "album", "path")


def _version(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.Text(collation="C"), nullable=False, server_default="")


def _ts(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _texts(*names: str) -> list[sa.Column[str]]:
    return [sa.Column(n, sa.Text) for n in names]


def _floats(*names: str) -> list[sa.Column[float]]:
    return [sa.Column(n, sa.Float) for n in names]


def _trgm_schema() -> str:
    """pg_trgm is one per database; index opclasses must name the schema it lives in."""
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
    found = op.get_bind().exec_driver_sql(
        "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
    ).scalar_one()
    return str(found)


def _create_tracks(schema: str) -> None:
    op.create_table(
        "tracks",
        sa.Column("file_id", sa.Text, primary_key=True),
        *_texts("path", "library_root", "relative_path"), sa.Column("size", sa.BigInteger),
        *_texts("content_hash", "format", "artist", "title", "album", "genre"),
        sa.Column("year", sa.Integer), sa.Column("track_number", sa.Integer),
        sa.Column("present", sa.Boolean), sa.Column("progress", sa.Text),
        sa.Column("status", sa.Text, sa.Computed(STATUS_SQL, persisted=True), nullable=False),
        _ts("created_at", nullable=False), _ts("updated_at"),
        sa.Column("current_analysis_id", sa.Text), sa.Column("bpm", sa.Float),
        *_texts("key", "scale", "camelot"), *_floats("energy", "danceability", "loudness_lufs"),
        _ts("last_event_at"), sa.Column("last_event_id", sa.Text),
        *(_version(f"{g}_version") for g in ("last", "info", "presence", "progress", "analysis")),
        schema=schema,
    )
    for name, cols in (("camelot_bpm", ["camelot", "bpm"]),
                       ("key_scale_bpm", ["key", "scale", "bpm"]), ("status", ["status"]),
                       ("path", ["path"]), ("updated_at", ["updated_at"])):
        op.create_index(f"ix_tracks_{name}", "tracks", cols, schema=schema)
    trgm = _trgm_schema()
    for col in TRGM_COLUMNS:
        op.create_index(f"ix_tracks_{col}_trgm", "tracks", [col], schema=schema,
                        postgresql_using="gin", postgresql_ops={col: f"{trgm}.gin_trgm_ops"})


def _create_analyses(schema: str) -> None:
    op.create_table(
        "analyses",
        sa.Column("analysis_id", sa.Text, primary_key=True),
        sa.Column("file_id", sa.Text, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False), _ts("occurred_at", nullable=False),
        *_texts("path", "content_hash"),
        sa.Column("duration_s", sa.Float), sa.Column("sample_rate", sa.Integer),
        sa.Column("channels", sa.Integer), sa.Column("codec", sa.Text),
        sa.Column("bit_rate", sa.Integer), *_floats("bpm", "bpm_confidence"),
        sa.Column("beats_count", sa.Integer), *_texts("key", "scale"),
        sa.Column("key_strength", sa.Float), *_texts("camelot", "open_key"),
        *_floats("loudness_lufs", "loudness_range_lu", "peak_dbfs", "replay_gain_db",
                 "danceability", "energy", "arousal", "valence"),
        sa.Column("mood", sa.Text), sa.Column("analyzer_version", sa.Integer),
        sa.Column("processing_ms", sa.Float), sa.Column("cached", sa.Boolean),
        sa.Column("worker", sa.Text), _version("version"),
        schema=schema,
    )
    op.create_index("ix_analyses_file_id_occurred_at", "analyses", ["file_id", "occurred_at"],
                    schema=schema)


def _create_small_tables(schema: str) -> None:
    op.create_table(
        "failures",
        sa.Column("file_id", sa.Text, primary_key=True), *_texts("path", "content_hash"),
        sa.Column("reason", sa.Text, nullable=False), sa.Column("message", sa.Text),
        sa.Column("attempts", sa.Integer), sa.Column("transient", sa.Boolean),
        _ts("last_error_at", nullable=False), sa.Column("event_id", sa.Text, nullable=False),
        _version("version"), schema=schema,
    )
    op.create_table(
        "track_moves",
        sa.Column("from_id", sa.Text, primary_key=True),
        sa.Column("to_id", sa.Text, primary_key=True),
        _ts("moved_at", nullable=False), sa.Column("event_id", sa.Text, nullable=False),
        _version("version"), schema=schema,
    )
    op.create_index("ix_track_moves_to_id", "track_moves", ["to_id"], schema=schema)
    op.create_table(
        "projection_checkpoints",
        sa.Column("projection", sa.Text, primary_key=True),
        sa.Column("topic", sa.Text, primary_key=True),
        sa.Column("partition", sa.Integer, primary_key=True),
        sa.Column("offset", sa.BigInteger, nullable=False), schema=schema,
    )


def upgrade(schema: str) -> None:
    _create_tracks(schema)
    _create_analyses(schema)
    _create_small_tables(schema)


def downgrade(schema: str) -> None:
    for table in ("projection_checkpoints", "track_moves", "failures", "analyses", "tracks"):
        op.drop_table(table, schema=schema)
