"""`tracktion corpus`: generate labelled synthetic tracks and bad files for tests and benchmarks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

app = typer.Typer(help="Ground-truth corpus: MIDI-composed, FluidSynth-rendered, ffmpeg-encoded.",
                  no_args_is_help=True)
console = Console(stderr=True)


@app.command("generate")
def generate(
    out_dir: Annotated[Path, typer.Argument(help="Folder for the tracks and labels.json.")],
    count: Annotated[int, typer.Option(min=1, help="Number of tracks.")] = 120,
    seconds: Annotated[float, typer.Option(min=5.0, help="Length of each track (s).")] = 25.0,
    formats: Annotated[str, typer.Option(help="Comma-separated: mp3,flac,ogg,wav,m4a,opus,aiff"
                                         )] = "mp3,flac,ogg,wav,m4a",
    seed: Annotated[int, typer.Option(help="Same seed, same corpus.")] = 0,
    workers: Annotated[int | None, typer.Option(help="Parallel renders (default: cores).")]
    = None,
) -> None:
    """Compose, render and encode COUNT labelled tracks (all 24 keys, 60-180 BPM, 8 styles)."""
    from infra.corpus.generate import generate_corpus
    from infra.corpus.render import ToolMissingError

    chosen = tuple(f.strip().lower() for f in formats.split(",") if f.strip())
    columns = (TextColumn("rendering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("render", total=count)
            labels = generate_corpus(out_dir, count=count, seconds=seconds, formats=chosen,
                                     seed=seed, workers=workers,
                                     progress=lambda done, _: progress.update(task, completed=done))
    except (ToolMissingError, ValueError) as exc:
        console.print(f"[red]corpus generation failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(f"wrote {len(labels)} tracks and labels.json to {out_dir}")


@app.command("bad-files")
def bad_files(
    out_dir: Annotated[Path, typer.Argument(help="Folder for the broken/extreme files.")],
    long_seconds: Annotated[float, typer.Option(help="Length of the long file (s).")] = 7200.0,
) -> None:
    """Write zero-byte, truncated, random, text-as-flac, silent, short and very long files."""
    from infra.corpus.bad_files import generate_bad_files

    files = generate_bad_files(out_dir, long_seconds=long_seconds)
    typer.echo(json.dumps({kind: str(path) for kind, path in files.items()}, indent=1))
