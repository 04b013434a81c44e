"""`tracktion query mix|playlist`: harmonic-mixing answers from the Neo4j graph projection."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from infra.settings import Settings, get_settings
from projections.neo4j import queries
from projections.neo4j.writer import DEFAULT_NS, connect

TrackArg = Annotated[str, typer.Argument(metavar="FILE_OR_ID", help="A file_id or a file path.")]
ToleranceOpt = Annotated[str, typer.Option(
    "--bpm-tolerance", help="Tempo tolerance: '6%', '6' (percent) or '0.06' (fraction).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON on stdout.")]
NsOpt = Annotated[str, typer.Option("--namespace", envvar="TRACKTION_GRAPH_NAMESPACE",
                                    help="Graph namespace (tests and rebuilds use their own).")]


def parse_tolerance(text: str) -> float:
    """'6%' and '6' mean 6 %, '0.06' means 6 %: values of 1 or more are read as percent."""
    raw = text.strip()
    try:
        value = float(raw.rstrip("%"))
    except ValueError as exc:
        raise typer.BadParameter(f"--bpm-tolerance: not a number: {text!r}") from exc
    if raw.endswith("%") or value >= 1:
        value /= 100
    if not 0 <= value <= queries.MAX_TOLERANCE:
        raise typer.BadParameter(
            f"--bpm-tolerance must be between 0% and {queries.MAX_TOLERANCE:.0%}")
    return value


class UnknownTrack(typer.BadParameter):
    """No track with that file id or path in the namespace."""


class NotAnalysed(typer.BadParameter):
    """The track exists but has no key/tempo yet."""


async def _seed(ns: str, ref: str, settings: Settings | None = None) -> tuple[Any, queries.Track]:
    driver = connect(settings or get_settings())
    try:
        track = await queries.find_track(driver, ns, ref)
    except BaseException:
        await driver.close()
        raise
    if track is None:
        await driver.close()
        raise UnknownTrack(f"no track with file_id or path {ref!r} in namespace {ns!r}")
    if track.camelot is None or track.bpm is None:
        await driver.close()
        raise NotAnalysed(f"{ref!r} has no key/tempo yet (not analysed)")
    return driver, track


async def _mix(ns: str, ref: str, tolerance: float, limit: int,
               settings: Settings | None = None) -> dict[str, Any]:
    driver, seed = await _seed(ns, ref, settings)
    try:
        found = await queries.mix(driver, ns, seed.file_id, tolerance, limit)
    finally:
        await driver.close()
    return {"seed": asdict(seed), "bpm_tolerance": tolerance,
            "candidates": [asdict(c) for c in found]}


async def _playlist(ns: str, ref: str, tolerance: float, length: int,
                    settings: Settings | None = None) -> dict[str, Any]:
    driver, seed = await _seed(ns, ref, settings)
    try:
        path = await queries.playlist(driver, ns, seed.file_id, length, tolerance)
    finally:
        await driver.close()
    steps = [{"track": asdict(seed), "relation": None, "ratio": None, "tempo_diff": None,
              "score": None}] + [asdict(s) for s in path.steps]
    return {"seed": asdict(seed), "bpm_tolerance": tolerance, "length_requested": length,
            "score": path.score, "tracks": steps}


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


def mix(track: TrackArg, bpm_tolerance: ToleranceOpt = "6%",
        limit: Annotated[int, typer.Option(min=1, help="At most this many tracks.")] = 20,
        as_json: JsonOpt = False, namespace: NsOpt = DEFAULT_NS) -> None:
    """Tracks that mix harmonically with FILE_OR_ID: compatible key, close (half/double) tempo."""
    result = asyncio.run(_mix(namespace, track, parse_tolerance(bpm_tolerance), limit))
    seed = result["seed"]
    title = f"mixes with {_label(seed)} ({seed['camelot']}, {seed['bpm']:.1f} BPM)"
    _emit(result, result["candidates"], as_json, title)


def playlist(track: TrackArg,
             length: Annotated[int, typer.Option(min=1, help="Number of tracks, seed included.")],
             bpm_tolerance: ToleranceOpt = "6%", as_json: JsonOpt = False,
             namespace: NsOpt = DEFAULT_NS) -> None:
    """A harmonic-mixing path from FILE_OR_ID: every step key-compatible and tempo-close."""
    result = asyncio.run(_playlist(namespace, track, parse_tolerance(bpm_tolerance), length))
    rows = result["tracks"]
    _emit(result, rows, as_json, f"playlist of {len(rows)} (asked {length})")


def register(query_app: typer.Typer) -> None:
    """Add `mix` and `playlist` to the `tracktion query` group."""
    query_app.command("mix")(mix)
    query_app.command("playlist")(playlist)
