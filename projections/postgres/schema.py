"""SQLAlchemy Core tables of the Postgres read model, built for a configurable schema name.

The Alembic migrations (migrations/versions/, 0001_initial then each later revision)
create exactly these; an integration test compares the two so they cannot drift apart.
Columns added by a later migration are declared last, where ALTER TABLE puts them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Computed,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
)

from schemas.namespace import LIVE
from schemas.status import TrackStatus

DEFAULT_SCHEMA = LIVE.pg_schema
SCHEMA_ENV = "TRACKTION_DB_SCHEMA"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Version keys compare bytewise: the database's default collation could reorder '|' or '.'.
VERSION = Text(collation="C")

STATUS_SQL = (f"CASE WHEN present IS FALSE THEN '{TrackStatus.DELETED}' "
              f"ELSE COALESCE(progress, '{TrackStatus.QUEUED}') END")
TRGM_COLUMNS = ("title", "artist", "album", "path")


def check_schema_name(schema: str) -> str:
    """Schema names are interpolated into DDL and raw SQL, so only plain identifiers pass."""
    if not _IDENTIFIER.match(schema):
        raise ValueError(f"invalid schema name {schema!r}: use [a-z_][a-z0-9_]*, max 63 chars")
    return schema


def _version(name: str) -> Column[str]:
    return Column(name, VERSION, nullable=False, server_default="")


def _grid_columns() -> list[Column[object]]:
    """The beat grid (migration 0003), on analyses and on tracks (the current analysis')."""
    return [Column("first_beat_s", Float), Column("grid_confidence", Float),
            Column("downbeat_s", Float), Column("beats_per_bar", Integer)]


@dataclass(frozen=True)
class Tables:
    metadata: MetaData
    tracks: Table
    analyses: Table
    failures: Table
    moves: Table
    checkpoints: Table


def _tracks(md: MetaData) -> Table:
    return Table(
        "tracks", md,
        Column("file_id", Text, primary_key=True),
        Column("path", Text), Column("library_root", Text), Column("relative_path", Text),
        Column("size", BigInteger), Column("content_hash", Text), Column("format", Text),
        Column("artist", Text), Column("title", Text), Column("album", Text),
        Column("genre", Text), Column("year", Integer), Column("track_number", Integer),
        Column("present", Boolean), Column("progress", Text),
        Column("status", Text, Computed(STATUS_SQL, persisted=True), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True)),
        Column("current_analysis_id", Text),
        Column("bpm", Float), Column("key", Text), Column("scale", Text), Column("camelot", Text),
        Column("energy", Float), Column("danceability", Float), Column("loudness_lufs", Float),
        Column("bpm_confidence", Float), Column("key_strength", Float),
        Column("tuning_cents", Float),
        *_grid_columns(), Column("fingerprint_signature", BigInteger),
        Column("fingerprint_mask", BigInteger),
        Column("last_event_at", DateTime(timezone=True)), Column("last_event_id", Text),
        _version("last_version"), _version("info_version"), _version("presence_version"),
        _version("progress_version"), _version("analysis_version"),
        Index("ix_tracks_camelot_bpm", "camelot", "bpm"),
        Index("ix_tracks_key_scale_bpm", "key", "scale", "bpm"),
        Index("ix_tracks_status", "status"),
        Index("ix_tracks_path", "path"),
        Index("ix_tracks_updated_at", "updated_at"),
        Index("ix_tracks_bpm_file_id", "bpm", "file_id"),  # library page orderings
        Index("ix_tracks_artist_title_file_id", "artist", "title", "file_id"),
        *(Index(f"ix_tracks_{col}_trgm", col, postgresql_using="gin",
                postgresql_ops={col: "gin_trgm_ops"}) for col in TRGM_COLUMNS),
    )


def _analyses(md: MetaData) -> Table:
    return Table(
        "analyses", md,
        Column("analysis_id", Text, primary_key=True),
        Column("file_id", Text, nullable=False), Column("event_id", Text, nullable=False),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("path", Text), Column("content_hash", Text),
        Column("duration_s", Float), Column("sample_rate", Integer), Column("channels", Integer),
        Column("codec", Text), Column("bit_rate", Integer), Column("bpm", Float),
        Column("bpm_confidence", Float), Column("beats_count", Integer), Column("key", Text),
        Column("scale", Text), Column("key_strength", Float), Column("camelot", Text),
        Column("open_key", Text), Column("loudness_lufs", Float),
        Column("loudness_range_lu", Float), Column("peak_dbfs", Float),
        Column("replay_gain_db", Float), Column("danceability", Float), Column("energy", Float),
        Column("arousal", Float), Column("valence", Float), Column("mood", Text),
        Column("analyzer_version", Integer),
        Column("processing_ms", Float), Column("cached", Boolean), Column("worker", Text),
        _version("version"), Column("tuning_cents", Float), *_grid_columns(),
        Column("fingerprint", LargeBinary),
        Index("ix_analyses_file_id_occurred_at", "file_id", "occurred_at"),
    )


def _failures(md: MetaData) -> Table:
    return Table(
        "failures", md,
        Column("file_id", Text, primary_key=True),
        Column("path", Text), Column("content_hash", Text),
        Column("reason", Text, nullable=False), Column("message", Text),
        Column("attempts", Integer), Column("transient", Boolean),
        Column("last_error_at", DateTime(timezone=True), nullable=False),
        Column("event_id", Text, nullable=False), _version("version"),
    )


def _moves(md: MetaData) -> Table:
    return Table(
        "track_moves", md,
        Column("from_id", Text, primary_key=True), Column("to_id", Text, primary_key=True),
        Column("moved_at", DateTime(timezone=True), nullable=False),
        Column("event_id", Text, nullable=False), _version("version"),
        Index("ix_track_moves_to_id", "to_id"),
    )


def _checkpoints(md: MetaData) -> Table:
    return Table(
        "projection_checkpoints", md,
        Column("projection", Text, primary_key=True), Column("topic", Text, primary_key=True),
        Column("partition", Integer, primary_key=True),
        Column("offset", BigInteger, nullable=False),
    )


def build_tables(schema: str = DEFAULT_SCHEMA) -> Tables:
    md = MetaData(schema=check_schema_name(schema))
    return Tables(md, _tracks(md), _analyses(md), _failures(md), _moves(md), _checkpoints(md))
