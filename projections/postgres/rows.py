"""Row shapes of the Postgres read model and their merge rules (pure; shared by apply and SQL).

Every mutable part of a row is a last-writer-wins register: a group of columns plus a version
key, the event's stamp as `"<occurred_at UTC, microseconds>|<event_id>"` (compared bytewise,
COLLATE "C"). Merging
two rows takes, per group, the side with the larger version; `created_at` takes the minimum.
That merge is associative, commutative and idempotent, so the final state depends only on
the set of events seen — not on their order, batching, topic interleaving or duplicates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from projections.base import Stamp

Row = dict[str, Any]

# Version column -> the columns it guards. Separate registers let an analysis that arrives
# before its file's discovery (another topic) keep its fields when the older event lands.
TRACK_GROUPS: dict[str, tuple[str, ...]] = {
    # Every event: where the file is and what last happened to it.
    "last_version": ("path", "last_event_at", "last_event_id", "updated_at"),
    # File facts, from events that carry a FileInfo.
    "info_version": ("library_root", "relative_path", "size", "content_hash", "format",
                     "artist", "title", "album", "genre", "year", "track_number"),
    # Whether the file exists under this id (deleted / moved away = false).
    "presence_version": ("present",),
    # Where the file is in the analysis pipeline: queued, analysing, analysed, failed.
    "progress_version": ("progress",),
    # The newest analysis by event time, denormalised for fast queries.
    "analysis_version": ("current_analysis_id", "bpm", "key", "scale", "camelot", "energy",
                         "danceability", "loudness_lufs", "bpm_confidence", "key_strength",
                         "tuning_cents", "first_beat_s", "grid_confidence", "downbeat_s",
                         "beats_per_bar", "fingerprint_signature", "fingerprint_mask"),
}
# Groups a move carries from the old id to the new one.
MOVED_GROUPS = ("progress_version", "analysis_version")

TRACK_COLUMNS: tuple[str, ...] = (
    "file_id", "created_at",
    *(col for version, cols in TRACK_GROUPS.items() for col in (*cols, version)),
)


def version_key(s: Stamp) -> str:
    """The stamp as text sorting as it does, bytewise: fixed-width UTC time, then the id."""
    return f"{s.at:%Y-%m-%dT%H:%M:%S.%fZ}|{s.event_id}"


def empty_track(file_id: str, created_at: datetime) -> Row:
    """A track row with no register set: every version is '' so any real version wins."""
    row: Row = dict.fromkeys(TRACK_COLUMNS)
    row["file_id"] = file_id
    row["created_at"] = created_at
    for version in TRACK_GROUPS:
        row[version] = ""
    return row


def merge_track(a: Row, b: Row) -> Row:
    """The register-wise merge of two rows of the same track (mirrors the SQL upsert)."""
    out = dict(a)
    for version, cols in TRACK_GROUPS.items():
        if b[version] > a[version]:
            out[version] = b[version]
            for col in cols:
                out[col] = b[col]
    out["created_at"] = min(a["created_at"], b["created_at"])
    return out


def merge_versioned(a: Row, b: Row) -> Row:
    """Whole-row last-writer-wins by the `version` column (analyses, failures, moves)."""
    return b if b["version"] > a["version"] else a
