"""Stream a read-model query into an export file: count, then rows through a server-side
cursor into the format's writer, all in one REPEATABLE READ snapshot (so the count written
up front is the number of rows that follow), into a temporary file renamed at the end."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO

from sqlalchemy.ext.asyncio import AsyncConnection

from infra.settings import Settings
from projections.postgres.queries import TrackQuery, count_query, export_query
from projections.postgres.schema import build_tables
from projections.postgres.writer import make_engine
from streams.export.m3u import M3uWriter
from streams.export.rekordbox import RekordboxWriter
from streams.export.track import ExportTrack
from streams.export.traktor import TraktorWriter

FORMATS = ("rekordbox", "traktor", "m3u")
FETCH_ROWS = 2000  # rows per round trip of the server-side cursor


class FormatWriter(Protocol):
    def header(self, count: int) -> None: ...
    def track(self, track_id: int, t: ExportTrack) -> None: ...
    def footer(self, count: int) -> None: ...


@dataclass(frozen=True)
class ExportOptions:
    playlist_name: str = "Tracktion export"
    volume: str = ""  # Traktor's VOLUME
    relocate: tuple[str, str] | None = None  # path prefix (from, to): the DJ machine's mount
    limit: int | None = None
    order: tuple[str, ...] = ()  # file ids in playlist order: export exactly these, so ordered


@dataclass(frozen=True)
class ExportResult:
    format: str
    path: str
    tracks: int
    skipped: int
    seconds: float


def make_writer(fmt: str, out: TextIO, options: ExportOptions) -> FormatWriter:
    if fmt == "rekordbox":
        return RekordboxWriter(out, options.playlist_name)
    if fmt == "traktor":
        return TraktorWriter(out, options.playlist_name, options.volume)
    if fmt == "m3u":
        return M3uWriter(out, options.playlist_name)
    raise ValueError(f"unknown export format {fmt!r}: one of {', '.join(FORMATS)}")


async def _rows(conn: AsyncConnection, query: TrackQuery, schema: str,
                options: ExportOptions) -> tuple[int, AsyncIterator[Mapping[str, Any]]]:
    statement = export_query(build_tables(schema), query, options.limit)
    if options.order:
        # A playlist: a few rows, put in the playlist's order (a track may appear once).
        position = {fid: i for i, fid in enumerate(options.order)}
        found = [r._mapping for r in await conn.execute(statement)]
        found.sort(key=lambda r: position[r["file_id"]])

        async def listed() -> AsyncIterator[Mapping[str, Any]]:
            for row in found:
                yield row

        return len(found), listed()
    count = int((await conn.execute(count_query(statement))).scalar_one())
    result = await conn.stream(statement.execution_options(yield_per=FETCH_ROWS))

    async def streamed() -> AsyncIterator[Mapping[str, Any]]:
        async for row in result:
            yield row._mapping

    return count, streamed()


async def export_tracks(settings: Settings, schema: str, fmt: str, out_path: Path,
                        query: TrackQuery, options: ExportOptions | None = None) -> ExportResult:
    """Write the tracks `query` selects to `out_path` in `fmt`; the file appears complete
    or not at all."""
    options = options or ExportOptions()
    started = time.perf_counter()
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    engine = make_engine(settings)
    written = skipped = 0
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                count, rows = await _rows(conn, query, schema, options)
                with tmp.open("w", encoding="utf-8", newline="\n", buffering=1 << 20) as out:
                    writer = make_writer(fmt, out, options)
                    writer.header(count)
                    async for row in rows:
                        written += 1
                        writer.track(written, ExportTrack.from_row(row, options.relocate))
                    writer.footer(written)
                    skipped = getattr(writer, "skipped", 0)
        if written != count:  # the snapshot makes this impossible; never write a lie
            raise RuntimeError(f"counted {count} tracks but read {written}")
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
        await engine.dispose()
    return ExportResult(fmt, str(out_path), written - skipped, skipped,
                        round(time.perf_counter() - started, 3))
