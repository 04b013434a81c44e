"""`tracktion tags diff`: what writing the analysis tags would change, file by file,
without writing. Tracks come from the read model (the `query tracks` filters, through
export_query); a file whose bytes no longer match the analysed hash is reported, not
compared: its analysis describes other audio. Bytes that differ from the analysed ones
only by our own tag writes (the tags projection's record, streams/tags/ours.py) are the
analysed audio and are compared."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from projections.postgres.queries import TrackQuery, export_query
from projections.postgres.schema import Tables
from streams.publishing.fileinfo import content_hash
from streams.tags import files
from streams.tags.ours import EMPTY, FileRecord
from streams.tags.values import KeyNotation, tag_values

# file ids -> our write records of them (empty: no tags projection, or no Redis)
RecordLoader = Callable[[Sequence[str]], Awaitable[dict[str, FileRecord]]]
CHUNK_ROWS = 500
STATUSES = ("would_change", "up_to_date", "content_changed", "missing", "unsupported",
            "not_analysed")


@dataclass
class FileDiff:
    path: str
    status: str
    changes: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    detail: str = ""


def diff_row(row: Any, notation: KeyNotation, record: FileRecord = EMPTY) -> FileDiff:
    path = Path(row.path)
    needed = (row.bpm, row.key, row.scale, row.replay_gain_db, row.peak_dbfs,
              row.loudness_lufs)
    if any(v is None for v in needed):
        return FileDiff(row.path, "not_analysed")
    if not path.is_file():
        return FileDiff(row.path, "missing")
    try:
        actual = content_hash(path)
    except OSError as exc:
        return FileDiff(row.path, "missing", detail=str(exc))
    if not record.same_audio(actual, row.content_hash):
        return FileDiff(row.path, "content_changed",
                        detail=f"analysed {row.content_hash}, now {actual}")
    values = tag_values(row.bpm, row.key, row.scale, row.camelot or "", row.open_key or "",
                        row.replay_gain_db, row.peak_dbfs, row.loudness_lufs, notation)
    try:
        found = files.changes(path, values)
    except Exception as exc:  # UnsupportedFormat, or mutagen's own errors on a damaged file
        return FileDiff(row.path, "unsupported", detail=str(exc)[:200])
    return FileDiff(row.path, "would_change" if found else "up_to_date", found)


async def tag_diffs(conn: AsyncConnection, tables: Tables, query: TrackQuery,
                    notation: KeyNotation,
                    records: RecordLoader | None = None) -> AsyncIterator[FileDiff]:
    """One FileDiff per selected track, streamed (records looked up per chunk of rows)."""
    t, a = tables.tracks, tables.analyses
    statement = export_query(tables, query).add_columns(
        t.c.content_hash, a.c.replay_gain_db, a.c.peak_dbfs, a.c.loudness_lufs)
    result = await conn.stream(statement.execution_options(yield_per=CHUNK_ROWS))
    async for chunk in result.partitions(CHUNK_ROWS):
        found = await records([r.file_id for r in chunk]) if records is not None else {}
        for row in chunk:
            yield diff_row(row, notation, found.get(row.file_id, EMPTY))
