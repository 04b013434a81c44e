"""`tracktion demo`: the whole pipeline end to end on a generated library (what `make run` does).

It only strings together the same commands a user would type, so what it shows is what
they get: topics, a worker, a generated library, publish --wait, queries, the trace link.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from infra.settings import get_settings
from projections.neo4j.writer import DEFAULT_NS
from projections.reads import GraphReads, NotAnalysed, TrackNotFound
from streams.cli.root import namespace_of

console = Console(stderr=True)


def mix_seed(paths: list[Path], ns: str = DEFAULT_NS, tolerance: float = 0.06) -> Path | None:
    """The analysed track with the most mixable neighbours, so `query mix` shows some:
    the first file by name often has none within the tolerance."""
    async def most() -> Path | None:
        best, best_n = None, 0
        async with GraphReads.open(get_settings(), ns) as reads:
            for path in paths:
                try:
                    found = len((await reads.mix(str(path.resolve()), tolerance, 10))
                                ["candidates"])
                except (TrackNotFound, NotAnalysed):
                    continue
                if found > best_n:
                    best, best_n = path, found
        return best

    return asyncio.run(most())


def _tracktion(*args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "streams.cli.main", *args]
    console.print(f"[cyan]$ tracktion {' '.join(args)}[/cyan]")
    return subprocess.run(cmd, check=False, text=True,
                          stdout=subprocess.PIPE if capture else None)


def demo(
    ctx: typer.Context,
    library: Annotated[Path, typer.Option(help="Where the demo library is generated.")]
        = Path(".stack/demo-library"),
    count: Annotated[int, typer.Option(help="Number of generated tracks.")] = 24,
    seconds: Annotated[float, typer.Option(help="Length of each generated track.")] = 30.0,
    keep_worker: Annotated[bool, typer.Option(help="Leave the worker running afterwards.")]
        = False,
) -> None:
    """Generate a library, run the workers, publish it, wait, and show what came out."""
    settings, ns = get_settings(), namespace_of(ctx)
    # The commands and the worker below run as child processes: the namespace reaches them
    # as the setting, so `tracktion --prefix X demo` runs the whole demo under X.
    os.environ["TRACKTION_PREFIX"] = ns.prefix
    labels = library / "labels.json"
    if not labels.exists() or not json.loads(labels.read_text()).get("tagged"):
        # Libraries generated before tracks were tagged would show a column of file names.
        if _tracktion("corpus", "generate", str(library), "--count", str(count),
                      "--seconds", str(seconds)).returncode != 0:
            raise typer.Exit(1)
    _tracktion("topics", "create")
    _tracktion("db", "upgrade")
    log_path = Path(".stack/demo-worker.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    worker = subprocess.Popen(
        [sys.executable, "-m", "streams.cli.main", "worker", "--role", "all"],
        stdout=log_path.open("ab"), stderr=subprocess.STDOUT,
        env={**os.environ, "LOG_FORMAT": "json"})
    console.print(f"worker pid {worker.pid}, log {log_path}, "
                  f"health http://{settings.web_host}:{settings.web_port}/ready")
    try:
        time.sleep(3)
        published = _tracktion("publish", str(library), "--wait", "--json", "--timeout", "900",
                               capture=True)
        summary = json.loads(published.stdout.strip().splitlines()[-1])
        console.print_json(data=summary)
        _tracktion("query", "tracks", "--limit", "12")
        audio = sorted(p for p in library.rglob("*")
                       if p.suffix in (".mp3", ".flac", ".ogg", ".m4a", ".wav"))
        seed = mix_seed(audio, ns.neo4j_ns)
        if seed is not None:
            _tracktion("query", "mix", str(seed.resolve()), "--limit", "5")
        else:
            console.print("no analysed track has harmonic neighbours within 6 % yet")
        console.print(f"traces: `tracktion trace {summary['correlation_id']}` (span trees from "
                      f"Jaeger's API; this Jaeger build has no web UI)")
        pages = f"http://{settings.web_host}:{settings.web_port}/library"
        served = ("served by the worker left running" if keep_worker else
                  "served while a projections worker runs: `tracktion worker --role "
                  "projections`, or `tracktion demo --keep-worker`")
        console.print(f"[bold]library pages: {pages}[/bold] ({served})")
    finally:
        if not keep_worker:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
