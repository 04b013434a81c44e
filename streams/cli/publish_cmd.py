"""`tracktion publish`: scan files and folders and publish one event per audio file."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from infra.settings import get_settings
from infra.telemetry import init_tracing, shutdown_tracing
from schemas.namespace import Namespace
from streams.cli.root import DeprecatedPrefixOpt, namespace_of
from streams.publishing.priority import PriorityChoice
from streams.publishing.publisher import PublishResult, Via, publish_paths

console = Console(stderr=True)


def publish(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Audio files or folders (recursive).",
                                                exists=True)],
    priority: Annotated[str, typer.Option(
        help="high | normal | low | auto (auto: small files first; see docs/events.md)")] = "auto",
    via: Annotated[str, typer.Option(help="rabbitmq (through the bridge) or kafka (direct).")]
        = "rabbitmq",
    correlation_id: Annotated[str | None, typer.Option(
        help="Batch id to use (default: a new one).")] = None,
    force: Annotated[bool, typer.Option(
        help="Re-analyse even if the same content was analysed before.")] = False,
    wait: Annotated[bool, typer.Option(
        help="Follow progress until the batch is processed; non-zero exit if any failed.")]
        = False,
    timeout: Annotated[float, typer.Option(help="Seconds --wait waits at most.")] = 3600.0,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    prefix: DeprecatedPrefixOpt = None,
) -> None:
    """Publish file events for PATHS; prints the correlation id and a summary."""
    if priority not in ("high", "normal", "low", "auto"):
        raise typer.BadParameter("priority must be high, normal, low or auto")
    if via not in ("rabbitmq", "kafka"):
        raise typer.BadParameter("via must be rabbitmq or kafka")
    settings, ns = get_settings(), namespace_of(ctx, prefix)
    init_tracing("tracktion-publish", settings.otel_exporter_otlp_endpoint,
                 settings.otel_traces_sampler)
    prio: PriorityChoice = priority  # type: ignore[assignment]
    transport: Via = via  # type: ignore[assignment]
    result = _publish_with_progress(paths, prio, transport, correlation_id, force,
                                    ns, quiet=json_out)
    shutdown_tracing()
    summary: dict[str, object] = {"correlation_id": result.correlation_id, "files": result.files,
                                  "published": result.published, "seconds": result.seconds}
    failed = len(result.errors)
    if wait:
        from streams.cli.wait import wait_for_batch_cli

        try:
            done = wait_for_batch_cli(settings, result.correlation_id, result.published,
                                      timeout, quiet=json_out, ns=ns)
        except TimeoutError as exc:  # was a traceback
            console.print(f"[red]timeout:[/red] {escape(str(exc))}")
            console.print("The events are published and stay queued. Is a worker running "
                          "(`tracktion worker`)? Follow on with `tracktion progress "
                          f"{result.correlation_id} --follow`.")
            if json_out:
                typer.echo(json.dumps({**summary, "timed_out": True}))
            raise typer.Exit(3) from None
        summary.update(succeeded=done["succeeded"], failed=done["failed"],
                       seconds=round(result.seconds + float(done["seconds"]), 2))  # type: ignore[arg-type]
        failed += int(done["failed"])  # type: ignore[call-overload]
    for path, error in result.errors:
        console.print(f"[red]not published[/red] {path}: {error}")
    if json_out:
        typer.echo(json.dumps(summary))
    else:
        console.print(f"correlation id: [bold]{result.correlation_id}[/bold]")
        console.print(" ".join(f"{k}={v}" for k, v in summary.items() if k != "correlation_id"))
    if failed:
        raise typer.Exit(1)


def _publish_with_progress(paths: list[Path], priority: PriorityChoice, via: Via,
                           correlation_id: str | None, force: bool, ns: Namespace,
                           quiet: bool) -> PublishResult:
    settings = get_settings()
    progress = Progress(TextColumn("publishing"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=console,
                        disable=quiet or not sys.stderr.isatty())
    with progress:
        task = progress.add_task("publish", total=None)
        try:
            return asyncio.run(publish_paths(
                paths, settings, priority=priority, via=via, correlation_id=correlation_id,
                force=force, ns=ns,
                on_total=lambda n: progress.update(task, total=n),
                on_file=lambda _: progress.advance(task)))
        except OSError as exc:
            console.print(f"[red]cannot publish:[/red] {exc}. Is the stack up? "
                          "Run `tracktion stack up`.")
            raise typer.Exit(2) from exc
