"""`tracktion export rekordbox|traktor|m3u OUT`: the read model into DJ software.

Selection is either the `query tracks` filters (default: every track but deleted ones) or
`--playlist SEED --length N`, the harmonic path `query playlist` gives, in its order.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from infra.settings import get_settings
from projections.postgres.queries import TrackQuery
from projections.reads import parse_tolerance, track_query
from streams.cli.errors import usage_errors
from streams.cli.graph_query_cmd import fetch_playlist
from streams.cli.root import DeprecatedGraphNsOpt, DeprecatedSchemaOpt, namespace_of
from streams.export.run import ExportOptions, ExportResult, export_tracks

app = typer.Typer(no_args_is_help=True)


@app.callback()
def export() -> None:
    """Export tracks with tempo, key and beat grid for Rekordbox, Traktor or any player."""


OutArg = Annotated[Path, typer.Argument(metavar="OUT", help="File to write (replaced whole).")]
KeyOpt = Annotated[str | None, typer.Option(help="Key: 8A, Am, 'A minor', F#m, Bb.")]
CompatOpt = Annotated[str | None, typer.Option(help="Harmonically compatible with this key.")]
BpmOpt = Annotated[str | None, typer.Option(help="BPM range: 120..128, 124, 120..")]
SearchOpt = Annotated[str | None, typer.Option(help="Text in title/artist/album/path.")]
StatusOpt = Annotated[str | None, typer.Option(
    help="queued|analysing|analysed|failed|deleted|all (default: all but deleted).")]
ConfOpt = Annotated[float | None, typer.Option("--min-confidence", min=0.0, max=1.0,
                                               help="Only tempo confidence >= this.")]
LimitOpt = Annotated[int | None, typer.Option(min=1, help="At most this many (default all).")]
SeedOpt = Annotated[str | None, typer.Option(
    "--playlist", metavar="FILE_OR_ID",
    help="Instead of filters: the `query playlist` path from this track, in order.")]
LengthOpt = Annotated[int, typer.Option(min=1, help="With --playlist: tracks, seed included.")]
TolOpt = Annotated[str, typer.Option("--bpm-tolerance", help="With --playlist: '6%'.")]
NameOpt = Annotated[str | None, typer.Option("--name", help="Playlist name in the file.")]
RelocateOpt = Annotated[str | None, typer.Option(
    metavar="FROM=TO", help="Rewrite the path prefix FROM to TO (the DJ machine's mount).")]
VolumeOpt = Annotated[str, typer.Option(help="Traktor VOLUME, e.g. 'Macintosh HD' or 'C:'.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def _relocation(text: str | None) -> tuple[str, str] | None:
    if text is None:
        return None
    old, sep, new = text.partition("=")
    if not sep or not old:
        raise typer.BadParameter(f"--relocate must be FROM=TO, not {text!r}")
    return old, new


def _filtered(key: str | None, compatible_with: str | None, bpm: str | None,
              search: str | None, status: str | None,
              min_confidence: float | None) -> TrackQuery:
    with usage_errors():  # the limit is the export's own (default none), not query tracks' 50
        return track_query(key, compatible_with, bpm, search, status, 1, min_confidence)


def _playlist_selection(seed: str, length: int, tolerance: str,
                        namespace: str) -> tuple[TrackQuery, tuple[str, ...], str]:
    """The playlist's tracks, their order and a playlist name."""
    with usage_errors():
        result = asyncio.run(fetch_playlist(namespace, seed, parse_tolerance(tolerance), length))
    ids = tuple(step["track"]["file_id"] for step in result["tracks"])
    first = result["seed"]
    label = first["title"] or Path(first["path"] or first["file_id"]).name
    return TrackQuery(file_ids=ids, status="all"), ids, f"Tracktion playlist from {label}"


def _run(fmt: str, out: Path, selection: tuple[TrackQuery, tuple[str, ...], str],
         name: str | None, relocate: str | None, volume: str, limit: int | None,
         schema: str, as_json: bool) -> None:
    query, order, default_name = selection
    options = ExportOptions(playlist_name=name or default_name, volume=volume,
                            relocate=_relocation(relocate), limit=limit, order=order)
    result: ExportResult = asyncio.run(
        export_tracks(get_settings(), schema, fmt, out, query, options))
    if as_json:
        sys.stdout.write(json.dumps(asdict(result)) + "\n")
        return
    skipped = f" ({result.skipped} skipped: line breaks in the path)" if result.skipped else ""
    Console().print(f"exported {result.tracks} track(s) to {result.path} ({fmt}) "
                    f"in {result.seconds:.1f} s{skipped}")


def _command(fmt: str, help_text: str) -> None:
    def command(ctx: typer.Context, out: OutArg, key: KeyOpt = None,
                compatible_with: CompatOpt = None, bpm: BpmOpt = None, search: SearchOpt = None,
                status: StatusOpt = None,
                min_confidence: ConfOpt = None, limit: LimitOpt = None, playlist: SeedOpt = None,
                length: LengthOpt = 10, bpm_tolerance: TolOpt = "6%", name: NameOpt = None,
                relocate: RelocateOpt = None, volume: VolumeOpt = "", as_json: JsonOpt = False,
                schema: DeprecatedSchemaOpt = None,
                namespace: DeprecatedGraphNsOpt = None) -> None:
        ns = namespace_of(ctx)
        filters = (key, compatible_with, bpm, search, status, min_confidence)
        selection: tuple[TrackQuery, tuple[str, ...], str]
        if playlist is None:
            selection = (_filtered(*filters), (), "Tracktion export")
        elif any(f is not None for f in filters):
            raise typer.BadParameter("--playlist takes no filters (--key, --bpm, ...)")
        else:
            selection = _playlist_selection(playlist, length, bpm_tolerance,
                                            namespace or ns.neo4j_ns)
        _run(fmt, out, selection, name, relocate, volume, limit, schema or ns.pg_schema,
             as_json)

    command.__doc__ = help_text
    app.command(fmt)(command)


_command("rekordbox", "Rekordbox XML: collection with BPM, key, TEMPO grid, and one playlist "
                      "(File > Import > rekordbox xml).")
_command("traktor", "Traktor NML: collection with BPM, MUSICAL_KEY and an AutoGrid marker, "
                    "and one playlist (import the .nml in Traktor's browser).")
_command("m3u", "Extended M3U (.m3u8): #EXTINF seconds and 'Artist - Title', then the path.")
