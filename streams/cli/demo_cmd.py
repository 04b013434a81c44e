"""`tracktion demo`: the whole pipeline end to end on a generated library (what `make run` does).

It only strings together the same commands a user would type, so what it shows is what
they get: topics, a worker, a generated library, publish --wait, queries, the trace link.
"""

from __future__ import annotations

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

console = Console(stderr=True)


def _tracktion(*args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "streams.cli.main", *args]
    console.print(f"[cyan]$ tracktion {' '.join(args)}[/cyan]")
    return subprocess.run(cmd, check=False, text=True,
                          stdout=subprocess.PIPE if capture else None)


def demo(
    library: Annotated[Path, typer.Option(help="Where the demo library is generated.")]
        = Path(".stack/demo-library"),
    count: Annotated[int, typer.Option(help="Number of generated tracks.")] = 24,
    seconds: Annotated[float, typer.Option(help="Length of each generated track.")] = 30.0,
    keep_worker: Annotated[bool, typer.Option(help="Leave the worker running afterwards.")]
        = False,
) -> None:
    """Generate a library, run the workers, publish it, wait, and show what came out."""
    settings = get_settings()
    if not (library / "labels.json").exists():
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
        first = sorted(library.rglob("*.mp3")) or sorted(p for p in library.rglob("*")
                                                         if p.suffix in (".flac", ".ogg"))
        if first:
            _tracktion("query", "mix", str(first[0].resolve()), "--limit", "5")
        console.print(f"traces: {settings.jaeger_query_url}/search?service=tracktion-publish "
                      f"(or `tracktion trace {summary['correlation_id']}`)")
    finally:
        if not keep_worker:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
