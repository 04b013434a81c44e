"""`tracktion tags diff`: what writing the analysis tags into the files would change."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from collections.abc import Sequence
from typing import Annotated

import typer
from redis.exceptions import RedisError
from rich import box
from rich.console import Console
from rich.table import Table

from infra.logging import get_logger
from infra.settings import get_settings
from projections.postgres.schema import build_tables
from projections.postgres.writer import make_engine
from projections.reads import track_query
from projections.redis.writer import connect
from schemas.status import TrackStatus
from streams.cli.root import DeprecatedPrefixOpt, DeprecatedSchemaOpt, namespace_of
from streams.tags import ours
from streams.tags.diff import STATUSES, FileDiff, tag_diffs
from streams.tags.ours import FileRecord
from streams.tags.values import NOTATIONS, KeyNotation

app = typer.Typer(no_args_is_help=True)
log = get_logger("tags")


@app.callback()
def tags() -> None:
    """Analysis results in the files' own tags (BPM, initial key, ReplayGain)."""


async def _diffs(schema: str, key_prefix: str, notation: KeyNotation, key: str | None,
                 bpm: str | None, search: str | None) -> list[FileDiff]:
    query = track_query(key, None, bpm, search, TrackStatus.ANALYSED, 1)
    settings = get_settings()
    engine = make_engine(settings)
    redis = connect(settings.redis_url)

    async def records(file_ids: Sequence[str]) -> dict[str, FileRecord]:
        try:
            return await ours.load(redis, key_prefix, file_ids)
        except RedisError as exc:
            # Without the record, files tagged by us show as content_changed: say why.
            log.warning("tags_records_unavailable", error=repr(exc))
            return {}

    try:
        async with engine.connect() as conn, conn.begin():
            return [d async for d in tag_diffs(conn, build_tables(schema), query, notation,
                                               records)]
    finally:
        await engine.dispose()
        await redis.aclose()


@app.command("diff")
def diff(
    ctx: typer.Context,
    notation: Annotated[str, typer.Option(
        envvar="TAGS_KEY_NOTATION",
        help="Key notation: standard (Am), camelot (8A) or open_key (1m); the tags role "
             "writes the one TAGS_KEY_NOTATION names.")] = "standard",
    key: Annotated[str | None, typer.Option(help="Only tracks in this key.")] = None,
    bpm: Annotated[str | None, typer.Option(help="Only this BPM range: 120..128.")] = None,
    search: Annotated[str | None, typer.Option(help="Text in title/artist/album/path.")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="List unchanged files too.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
    schema: DeprecatedSchemaOpt = None,
    prefix: DeprecatedPrefixOpt = None,
) -> None:
    """Show, without writing, which tags of which analysed files would change (the
    namespace's tags role's own writes count as the analysed audio)."""
    if notation not in NOTATIONS:
        raise typer.BadParameter(f"--notation must be one of {', '.join(NOTATIONS)}")
    try:
        ns = namespace_of(ctx, prefix)
        diffs = asyncio.run(_diffs(schema or ns.pg_schema, ns.redis_prefix, notation, key, bpm,
                                   search))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    counts = Counter(d.status for d in diffs)
    if as_json:
        sys.stdout.write(json.dumps({
            "counts": {s: counts.get(s, 0) for s in STATUSES},
            "files": [{"path": d.path, "status": d.status, "detail": d.detail,
                       "changes": {k: {"from": old, "to": new}
                                   for k, (old, new) in d.changes.items()}}
                      for d in diffs if show_all or d.status != "up_to_date"]},
            indent=2) + "\n")
        return
    table = Table("path", "status", "tag", "now", "would be", box=box.SIMPLE_HEAD,
                  title=", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s]))
    for d in diffs:
        if d.status == "up_to_date" and not show_all:
            continue
        if not d.changes:
            table.add_row(d.path, d.status, "", "", d.detail)
        for i, (name, (old, new)) in enumerate(d.changes.items()):
            table.add_row(d.path if i == 0 else "", d.status if i == 0 else "", name,
                          old or "", new)
    Console().print(table)
