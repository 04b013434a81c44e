"""`tracktion replay` and `tracktion reanalyse`: rebuild read models, re-run analysis."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from infra.settings import get_settings
from infra.telemetry import init_tracing, shutdown_tracing
from streams.cli.root import DeprecatedPrefixOpt, namespace_of
from streams.ops.reanalyse import Selection, request_reanalysis, select_tracks
from streams.ops.replay import ReplayRefusedError, replay_store
from streams.worker.projections_role import STORES

console = Console(stderr=True)
replay_app = typer.Typer(help="Rebuild read models from the retained topics.",
                         no_args_is_help=True)


@replay_app.command("projections")
def replay_projections(
    ctx: typer.Context,
    only: Annotated[list[str] | None, typer.Option(
        help="postgres | neo4j | redis | tags (repeatable; default the first three).",
    )] = None,
    to_offset: Annotated[int | None, typer.Option(
        help="Rebuild only records below this offset in every partition.")] = None,
    prefix: DeprecatedPrefixOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
) -> None:
    """Reset the chosen projections and rebuild them from offset 0 (stop their worker first)."""
    stores = only or list(STORES)
    # tags only when named: it rewrites files (only those whose tags differ, though)
    bad = [s for s in stores if s not in (*STORES, "tags")]
    if bad:
        raise typer.BadParameter(f"unknown projection(s) {bad}; choose from {STORES} or tags")
    settings, ns = get_settings(), namespace_of(ctx, prefix)
    results = []
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, disable=json_out or not sys.stderr.isatty()) as bar:
        tasks = {s: bar.add_task(f"{s}: waiting", total=None) for s in stores}

        def show(store: str, applied: int) -> None:
            bar.update(tasks[store], description=f"{store}: {applied} events applied")

        for store in stores:
            try:
                result = asyncio.run(replay_store(settings, ns, store, to_offset, show))
            except ReplayRefusedError as exc:
                console.print(f"[red]refused:[/red] {exc}")
                raise typer.Exit(1) from exc
            results.append(result)
            show(store, result.events)
    summary = [{"projection": r.store, "events": r.events, "seconds": r.seconds,
                "events_per_s": round(r.events_per_s)} for r in results]
    if json_out:
        typer.echo(json.dumps(summary))
    else:
        for row in summary:
            console.print(f"{row['projection']}: {row['events']} events in {row['seconds']} s "
                          f"({row['events_per_s']}/s)")


def reanalyse(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Every known (not deleted) track.")] = False,
    file: Annotated[list[Path] | None, typer.Option(help="A file path (repeatable).")] = None,
    where: Annotated[str | None, typer.Option(
        help='Filter such as "analyzer_version < 2".')] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Tracks whose analysis failed.")]
        = False,
    dry_run: Annotated[bool, typer.Option(help="Only say how many would be re-analysed.")]
        = False,
    prefix: DeprecatedPrefixOpt = None,
) -> None:
    """Emit analysis requests (reason re-analyse, new correlation id) for the chosen tracks."""
    settings, ns = get_settings(), namespace_of(ctx, prefix)
    selection = Selection(all=all_, files=tuple(str(f) for f in file or ()), where=where,
                          failed=failed)
    try:
        rows = asyncio.run(select_tracks(settings, ns.pg_schema, selection))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if dry_run:
        typer.echo(f"{len(rows)} file(s) would be re-analysed")
        return
    if not rows:
        typer.echo("nothing to re-analyse")
        return
    init_tracing("tracktion-publish", settings.otel_exporter_otlp_endpoint,
                 settings.otel_traces_sampler)
    cid = asyncio.run(request_reanalysis(settings, rows, ns=ns))
    shutdown_tracing()
    typer.echo(f"requested re-analysis of {len(rows)} file(s); correlation id {cid} "
               f"(follow with `tracktion progress {cid} --follow`)")
