"""`tracktion query ...`: read-model queries. Each command parses options and hands over to
the read layer (projections/reads/); new query kinds (mixes, playlists) add a command here.
"""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from infra.settings import get_settings
from projections.postgres.duplicates import DuplicateReport
from projections.postgres.fingerprints import DEFAULT_THRESHOLD
from projections.postgres.queries import RESULT_COLUMNS, TrackQuery
from projections.reads import TrackReads, track_query
from schemas.status import TrackStatus
from streams.cli.errors import usage_errors
from streams.cli.root import DeprecatedSchemaOpt, namespace_of

app = typer.Typer(no_args_is_help=True)


@app.callback()
def query() -> None:
    """Query the read models (tracks; more kinds register here as commands)."""


async def fetch_tracks(query: TrackQuery, schema: str) -> list[dict[str, Any]]:
    async with TrackReads.open(get_settings(), schema) as reads:
        return await reads.tracks(query)


# The table keeps to ~80 columns: key and scale in one cell (Am), confidence and tuning
# (cents sharp or flat of A = 440 Hz) in short cells; JSON and CSV carry every column.
_TABLE = (("artist", "artist"), ("title", "title"), ("album", "album"), ("bpm", "bpm"),
          ("bpm_confidence", "conf"), ("key", "key"), ("camelot", "cam"),
          ("tuning_cents", "cents"), ("energy", "energy"), ("status", "status"))
_NUMBERS = {"bpm": "{:.1f}", "bpm_confidence": "{:.2f}", "tuning_cents": "{:+.0f}",
            "energy": "{:.2f}"}


def _cell(column: str, row: dict[str, Any]) -> str:
    value = row[column]
    if value is None:
        return ""
    if column == "key":
        return f"{value}{'m' if row.get('scale') == 'minor' else ''}"
    if column in _NUMBERS:
        return _NUMBERS[column].format(value)
    return str(value)


# `--status failed`: why each failed instead of the (empty) musical columns.
_FAILED_TABLE = (("artist", "artist"), ("title", "title"), ("failure_reason", "reason"),
                 ("failure_message", "message"))


def _print_table(rows: list[dict[str, Any]], failed: bool = False) -> None:
    table = Table(title=f"{len(rows)} track(s)", box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True)
    layout = _FAILED_TABLE if failed else _TABLE
    for column, header in layout:
        number = column in _NUMBERS or column in ("key", "camelot", "status")
        table.add_column(header, justify="right" if column in _NUMBERS else "left",
                         no_wrap=number)
    for row in rows:
        if not row.get("title") and row.get("path"):
            # Untagged files are common; the file name is what the user recognises them by.
            row = {**row, "title": Path(row["path"]).name}
        table.add_row(*(_cell(column, row) for column, _ in layout))
    Console().print(table)


@app.command("tracks")
def tracks(
    ctx: typer.Context,
    key: Annotated[str | None, typer.Option(help="Key: 8A, Am, 'A minor', F#m, Bb.")] = None,
    compatible_with: Annotated[str | None, typer.Option(
        help="Harmonically compatible with this key: same number, or +-1 same letter.")] = None,
    bpm: Annotated[str | None, typer.Option(help="BPM range: 120..128, 124, 120..")] = None,
    search: Annotated[str | None, typer.Option(help="Fuzzy text in title/artist/album/path.")]
    = None,
    status: Annotated[str | None, typer.Option(
        help="queued|analysing|analysed|failed|deleted|all (default: all but deleted).")] = None,
    min_confidence: Annotated[float | None, typer.Option(
        "--min-confidence", min=0.0, max=1.0,
        help="Only tracks whose tempo confidence (bpm_confidence, 0-1: how sure the analyser "
             "is of the BPM) is at least this, e.g. 0.6. Tracks not analysed yet drop out.")]
    = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON array on stdout.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV with a header on stdout.")] = False,
    schema: DeprecatedSchemaOpt = None,
) -> None:
    """Find tracks by key, compatible key, tempo, tempo confidence, text and status.

    Each row shows the current analysis: BPM and its confidence, key and its strength,
    and the tuning in cents from A = 440 Hz (empty for analyses that did not measure it).
    """
    with usage_errors():
        query = track_query(key, compatible_with, bpm, search, status, limit, min_confidence)
    rows = asyncio.run(fetch_tracks(query, schema or namespace_of(ctx).pg_schema))
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    elif as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(RESULT_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        _print_table(rows, failed=status == TrackStatus.FAILED)


async def fetch_duplicates(schema: str, threshold: float) -> DuplicateReport:
    async with TrackReads.open(get_settings(), schema) as reads:
        return await reads.duplicates(threshold)


@app.command("duplicates")
def duplicates(
    ctx: typer.Context,
    threshold: Annotated[float, typer.Option(
        min=0.5, max=1.0, help="Fingerprint similarity (1 - bit error rate) at or above "
                               "which two files hold the same recording.")] = DEFAULT_THRESHOLD,
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
    schema: DeprecatedSchemaOpt = None,
) -> None:
    """Groups of files holding the same recording (Chromaprint), the copy to keep first:
    lossless, then the higher bit rate, then the longer one."""
    report = asyncio.run(fetch_duplicates(schema or namespace_of(ctx).pg_schema, threshold))
    if as_json:
        sys.stdout.write(json.dumps({
            "threshold": threshold, "tracks_with_fingerprint": report.tracks_with_fingerprint,
            "candidate_pairs": report.candidate_pairs, "confirmed_pairs": report.confirmed_pairs,
            "groups": [g.as_dict() for g in report.groups]}, indent=2) + "\n")
        return
    table = Table(title=f"{len(report.groups)} group(s) of duplicates among "
                        f"{report.tracks_with_fingerprint} fingerprinted track(s)",
                  box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for header in ("#", "", "path", "codec", "kbit/s", "s", "sim"):
        table.add_column(header, justify="right" if header in ("#", "kbit/s", "s", "sim")
                         else "left")
    for n, group in enumerate(report.groups, 1):
        for i, (copy, sim) in enumerate(zip(group.copies, group.similarity, strict=True)):
            table.add_row(str(n) if i == 0 else "", "keep" if i == 0 else "", copy.path,
                          copy.codec or copy.format or "",
                          "" if copy.bit_rate is None else f"{copy.bit_rate // 1000}",
                          "" if copy.duration_s is None else f"{copy.duration_s:.1f}",
                          f"{sim:.3f}")
    Console().print(table)
