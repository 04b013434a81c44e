"""`tracktion analyze-file PATH...`: run the analyser on files or folders, print a table or JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

AUDIO_EXTENSIONS = frozenset({".mp3", ".flac", ".wav", ".m4a", ".aac", ".ogg", ".opus", ".aiff",
                              ".aif"})
JSON_KEYS = ("path", "bpm", "bpm_confidence", "key", "scale", "key_strength", "tuning_cents",
             "camelot", "open_key", "loudness_lufs", "loudness_range_lu", "peak_dbfs",
             "replay_gain_db", "danceability", "energy", "arousal", "valence", "mood",
             "duration_s", "sample_rate", "channels", "codec", "bit_rate", "beats_count",
             "first_beat_s", "grid_confidence", "downbeat_s", "beats_per_bar",
             "analyzer_version", "timings")

err_console = Console(stderr=True)


def expand(paths: Iterable[Path]) -> list[Path]:
    """Files as given, plus audio files found recursively under given directories (sorted)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*")
                              if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS))
        else:
            out.append(path)  # a missing file is reported by the analyser as not_found
    return out


def _results(files: list[Path]) -> Iterator[tuple[Path, dict[str, Any] | None, str | None]]:
    from infra.settings import get_settings
    from streams.analysis.core import analyse_file  # heavy import: only when used
    from streams.analysis.errors import AnalysisError

    # The same version the analysis workers of this deployment stamp (ANALYZER_VERSION).
    version = get_settings().analyzer_version
    for path in files:
        try:
            yield path, {**analyse_file(path).to_dict(), "analyzer_version": version}, None
        except AnalysisError as exc:
            yield path, None, f"{exc.reason}: {exc.message}"


def _json_line(path: Path, features: dict[str, Any] | None, error: str | None) -> str:
    if features is None:
        return json.dumps({"path": str(path), "error": error})
    return json.dumps({k: features[k] for k in JSON_KEYS})


# Width of every column but the file name (collapsed padding, moods of <= 5 letters, one
# spare for durations of 100 minutes and more).
_NUMBERS_WIDTH = 69


def _table() -> Table:
    table = Table(title="Analysis", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    # Only the file name shrinks (ellipsis) on narrow terminals; rich would not shrink a
    # no-wrap column by itself, and cropped the last columns at 80 characters instead.
    file_width = max(8, min(32, Console().width - _NUMBERS_WIDTH))
    table.add_column("file", no_wrap=True, overflow="ellipsis", min_width=8,
                     max_width=file_width)
    for name, width in (("time", 5), ("bpm", 5), ("conf", 4), ("key", 3), ("cam", 3),
                        ("cents", 5), ("LUFS", 5), ("dance", 5), ("energy", 6), ("mood", 5)):
        table.add_column(name, justify="left" if name in ("key", "cam", "mood") else "right",
                         no_wrap=True, min_width=width)
    return table


def _row(table: Table, path: Path, f: dict[str, Any]) -> None:
    minutes, seconds = divmod(round(f["duration_s"]), 60)
    key = f"{f['key']}{'m' if f['scale'] == 'minor' else ''}"
    table.add_row(path.name, f"{minutes}:{seconds:02d}", f"{f['bpm']:.1f}",
                  f"{f['bpm_confidence']:.2f}", key, f["camelot"], f"{f['tuning_cents']:+.0f}",
                  f"{f['loudness_lufs']:.1f}",
                  f"{f['danceability']:.2f}", f"{f['energy']:.2f}", f["mood"])


def analyze_file(
    paths: Annotated[list[Path], typer.Argument(help="Audio files or folders (searched "
                                                    "recursively for audio extensions).")],
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object per file per line.")]
    = False,
) -> None:
    """Analyse audio files: tempo, key, loudness, danceability, energy, mood."""
    files = expand(paths)
    if not files:
        err_console.print("[yellow]no audio files found[/yellow]")
        raise typer.Exit(1)
    failed = 0
    if json_out:
        for path, features, error in _results(files):
            failed += features is None
            typer.echo(_json_line(path, features, error))
    else:
        table, errors = _table(), []
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())
        with Progress(*columns, console=err_console, transient=True,
                      disable=len(files) < 2) as progress:
            task = progress.add_task("analysing", total=len(files))
            for path, features, error in _results(files):
                if features is None:
                    errors.append(f"[red]x[/red] {path}: {error}")
                else:
                    _row(table, path, features)
                progress.advance(task)
        failed = len(errors)
        if table.row_count:
            Console().print(table)
        for line in errors:
            err_console.print(line)
    if failed:
        err_console.print(f"[red]{failed} of {len(files)} file(s) failed[/red]")
        raise typer.Exit(1)
