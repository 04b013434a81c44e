"""`tracktion query mix|playlist`: harmonic-mixing answers from the Neo4j graph projection."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from infra.settings import get_settings
from projections.reads import GraphReads, parse_tolerance
from streams.cli.errors import usage_errors
from streams.cli.root import DeprecatedGraphNsOpt, namespace_of

TrackArg = Annotated[str, typer.Argument(metavar="FILE_OR_ID", help="A file_id or a file path.")]
ToleranceOpt = Annotated[str, typer.Option(
    "--bpm-tolerance", help="Tempo tolerance: '6%', '6' (percent) or '0.06' (fraction).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON on stdout.")]


async def fetch_mix(ns: str, ref: str, tolerance: float, limit: int) -> dict[str, Any]:
    async with GraphReads.open(get_settings(), ns) as reads:
        return await reads.mix(ref, tolerance, limit)


async def fetch_playlist(ns: str, ref: str, tolerance: float, length: int) -> dict[str, Any]:
    async with GraphReads.open(get_settings(), ns) as reads:
        return await reads.playlist(ref, tolerance, length)


def _label(track: dict[str, Any]) -> str:
    name = track["title"] or track["path"] or track["file_id"]
    return f"{track['artist']} - {name}" if track["artist"] else str(name)


def _print(title: str, rows: list[dict[str, Any]]) -> None:
    # "tempo" is the octave step (x0.5/x1/x2) and the distance from the previous tempo.
    table = Table("#", "track", "key", "bpm", "relation", "tempo", "score", title=title)
    for i, row in enumerate(rows, 1):
        t = row["track"]
        tempo = "" if row["ratio"] is None else f"x{row['ratio']:g} {row['tempo_diff']:.1%}"
        score = "" if row["score"] is None else f"{row['score']:.3f}"
        table.add_row(str(i), _label(t), t["camelot"] or "", f"{t['bpm']:.1f}",
                      row["relation"] or "seed", tempo, score)
    Console().print(table)


def _emit(result: dict[str, Any], rows: list[dict[str, Any]], as_json: bool, title: str) -> None:
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        _print(title, rows)


def mix(ctx: typer.Context, track: TrackArg, bpm_tolerance: ToleranceOpt = "6%",
        limit: Annotated[int, typer.Option(min=1, help="At most this many tracks.")] = 20,
        as_json: JsonOpt = False, namespace: DeprecatedGraphNsOpt = None) -> None:
    """Tracks that mix harmonically with FILE_OR_ID: compatible key, close (half/double) tempo."""
    ns = namespace or namespace_of(ctx).neo4j_ns
    with usage_errors():
        result = asyncio.run(fetch_mix(ns, track, parse_tolerance(bpm_tolerance), limit))
    seed = result["seed"]
    title = f"mixes with {_label(seed)} ({seed['camelot']}, {seed['bpm']:.1f} BPM)"
    _emit(result, result["candidates"], as_json, title)


def playlist(ctx: typer.Context, track: TrackArg,
             length: Annotated[int, typer.Option(min=1, help="Number of tracks, seed included.")],
             bpm_tolerance: ToleranceOpt = "6%", as_json: JsonOpt = False,
             namespace: DeprecatedGraphNsOpt = None) -> None:
    """A harmonic-mixing path from FILE_OR_ID: every step key-compatible and tempo-close."""
    ns = namespace or namespace_of(ctx).neo4j_ns
    with usage_errors():
        result = asyncio.run(fetch_playlist(ns, track, parse_tolerance(bpm_tolerance), length))
    rows = result["tracks"]
    _emit(result, rows, as_json, f"playlist of {len(rows)} (asked {length})")


def register(query_app: typer.Typer) -> None:
    """Add `mix` and `playlist` to the `tracktion query` group."""
    query_app.command("mix")(mix)
    query_app.command("playlist")(playlist)
