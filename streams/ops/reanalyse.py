"""Ask the agents to analyse files again: after a better analyser ships, or for failures.

Targets are chosen from the PostgreSQL read model; each gets an AnalysisRequested event
(reason "reanalyse", force, one new correlation id) on its file's lane. New results
supersede old ones in every projection; Postgres keeps the history of analyses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import msgspec

from infra.settings import Settings
from schemas.envelope import new_id
from schemas.file_events import AnalysisRequested, AnalysisRequestedPayload, FileInfo, Tags
from schemas.namespace import LIVE, Namespace
from schemas.status import TrackStatus
from streams.publishing.fileinfo import read_file_info
from streams.publishing.priority import priority_for
from streams.publishing.publisher import Via, open_sink, send_traced

# `--where` accepts only comparisons of analyzer_version, so no SQL reaches the database
_WHERE = re.compile(r"^\s*analyzer_version\s*(<=|>=|<|>|=|!=)\s*(\d+)\s*$")


@dataclass(frozen=True)
class Selection:
    all: bool = False
    files: tuple[str, ...] = ()
    where: str | None = None
    failed: bool = False


def selection_sql(schema: str, sel: Selection) -> tuple[str, list[object]]:
    """The query for the chosen tracks (pure, so it is unit-tested without a database)."""
    base = (f"SELECT t.file_id, t.path, t.library_root, t.relative_path, t.size, "
            f"t.content_hash, t.format, t.artist, t.title, t.album, t.genre, t.year, "
            f"t.track_number FROM {schema}.tracks t")
    conditions = [f"t.status <> '{TrackStatus.DELETED}'"]
    args: list[object] = []
    if sel.files:
        args.append([str(Path(f).resolve()) for f in sel.files])
        conditions.append(f"t.path = ANY(${len(args)})")
    if sel.failed:
        conditions.append(f"t.status = '{TrackStatus.FAILED}'")
    if sel.where:
        match = _WHERE.match(sel.where)
        if not match:
            raise ValueError("--where supports only 'analyzer_version <op> <int>'")
        args.append(int(match.group(2)))
        conditions.append(f"coalesce(a.analyzer_version, 0) {match.group(1)} ${len(args)}")
        base += f" LEFT JOIN {schema}.analyses a ON a.analysis_id = t.current_analysis_id"
    if not (sel.all or sel.files or sel.failed or sel.where):
        raise ValueError("choose --all, --file, --where or --failed")
    return f"{base} WHERE {' AND '.join(conditions)} ORDER BY t.path", args


async def select_tracks(settings: Settings, schema: str, sel: Selection) -> list[asyncpg.Record]:
    sql, args = selection_sql(schema, sel)
    conn = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def request_reanalysis(settings: Settings, rows: list[asyncpg.Record], *,
                             via: Via = "kafka", ns: Namespace = LIVE) -> str:
    correlation_id = new_id()
    sink = await open_sink(settings, via, ns)
    try:
        for row in rows:
            # Facts as the read model knows them (tags included), so the request does not
            # blank them in the projections that take file facts from every file event.
            tags = Tags(artist=row["artist"], title=row["title"], album=row["album"],
                        genre=row["genre"], year=row["year"], track_number=row["track_number"])
            info = FileInfo(path=row["path"], library_root=row["library_root"],
                            relative_path=row["relative_path"], size=row["size"] or 0,
                            mtime=0.0, content_hash=row["content_hash"] or "",
                            format=row["format"] or "", tags=tags)
            on_disk = Path(row["path"])
            if on_disk.is_file():  # fresh size and hash: the file may have changed
                info = msgspec.structs.replace(
                    read_file_info(Path(row["library_root"]), on_disk), tags=tags)
            event = AnalysisRequested.create(
                file_id=row["file_id"], correlation_id=correlation_id,
                priority=priority_for(info.size),
                payload=AnalysisRequestedPayload(file=info, reason="reanalyse", force=True))
            await send_traced(sink, event)
        await sink.flush()
    finally:
        await sink.close()
    return correlation_id
