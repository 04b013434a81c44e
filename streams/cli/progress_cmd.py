"""`tracktion progress`: recent publish batches, or one batch's progress, live with --follow."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table

from infra.settings import Settings, get_settings
from projections.reads import ProgressReads
from projections.redis.progress import BatchProgress
from streams.cli.root import namespace_of

console = Console(stderr=True)
out = Console()


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def render_batch(p: BatchProgress) -> Group:
    """Bars for finished / succeeded / failed / in progress / queued, then rate and ETA."""
    total = max(p.total, 1)
    bars = Table.grid(padding=(0, 1))
    for label, count, style in (("finished", p.finished, "cyan"),
                                ("succeeded", p.succeeded, "green"),
                                ("failed", p.failed, "red"),
                                ("in progress", p.in_progress, "yellow"),
                                ("queued", p.queued, "blue")):
        bars.add_row(label, ProgressBar(total=total, completed=count, width=40,
                                        complete_style=style, finished_style=style),
                     f"{count} / {p.total}", f"{100 * count / total:5.1f}%")
    state = "[green]done[/green]" if p.done else "[yellow]running[/yellow]"
    rate = "-" if p.throughput_per_s is None else f"{p.throughput_per_s:.1f} files/s"
    started = "-" if p.started_at is None else p.started_at.isoformat(timespec="seconds")
    footer = (f"throughput {rate}   ETA {_duration(p.eta_s)}   started {started}"
              + (f"   removed {p.removed}" if p.removed else ""))
    return Group(f"batch [bold]{p.correlation_id}[/bold] {state}", bars, footer)


def render_list(batches: list[BatchProgress]) -> Table:
    table = Table("correlation id", "started", "total", "succeeded", "failed", "in progress",
                  "queued", "state", title="recent batches")
    for p in batches:
        started = "-" if p.started_at is None else p.started_at.isoformat(timespec="seconds")
        table.add_row(p.correlation_id, started, str(p.total), str(p.succeeded), str(p.failed),
                      str(p.in_progress), str(p.queued), "done" if p.done else "running")
    return table


async def _show(settings: Settings, prefix: str, cid: str | None, limit: int,
                json_out: bool) -> int:
    async with ProgressReads.open(settings, prefix) as reads:
        if cid is None:
            batches = await reads.batches(limit)
            if json_out:
                typer.echo(json.dumps([b.to_json() for b in batches]))
            elif not batches:
                console.print(f"no batches under key prefix {prefix!r}")
            else:
                out.print(render_list(batches))
            return 0
        found = await reads.batch(cid)
    if found is None:
        console.print(f"[red]no batch[/red] {cid} (not published, or not projected yet)")
        return 2
    if json_out:
        typer.echo(json.dumps(found.to_json()))
    else:
        out.print(render_batch(found))
    return 0


async def _follow(settings: Settings, prefix: str, cid: str, timeout: float | None,
                  on_update: Callable[[BatchProgress], object]) -> BatchProgress:
    async with ProgressReads.open(settings, prefix) as reads:
        return await reads.wait(cid, timeout, on_update)


def _follow_cli(settings: Settings, prefix: str, cid: str, timeout: float | None,
                json_out: bool) -> int:
    """Follow to completion: 0 if all succeeded, 1 if any failed, 3 on timeout."""
    try:
        if json_out:
            # One JSON object per change (NDJSON), so scripts can stream it.
            def emit(p: BatchProgress) -> None:
                typer.echo(json.dumps(p.to_json()))

            final = asyncio.run(_follow(settings, prefix, cid, timeout, emit))
        else:
            with Live(f"waiting for batch {cid}...", console=out,
                      refresh_per_second=4) as live:
                final = asyncio.run(_follow(
                    settings, prefix, cid, timeout, lambda p: live.update(render_batch(p))))
    except TimeoutError as exc:
        console.print(f"[red]timeout:[/red] {exc}")
        return 3
    return 1 if final.failed else 0


def progress(
    ctx: typer.Context,
    correlation_id: Annotated[str | None, typer.Argument(
        help="Batch to show; without it, list recent batches.")] = None,
    follow: Annotated[bool, typer.Option(
        "--follow", "-f", help="Update live until the batch is done; exit 1 if any failed.")]
        = False,
    json_out: Annotated[bool, typer.Option("--json", help="JSON (NDJSON with --follow).")]
        = False,
    limit: Annotated[int, typer.Option(help="How many recent batches to list.")] = 20,
    timeout: Annotated[float | None, typer.Option(help="Seconds --follow waits at most.")]
        = None,
    # Deprecated, as the root --prefix names the namespace whose keys are read; kept (hidden)
    # for its documented use and environment variable.
    key_prefix: Annotated[str | None, typer.Option(
        envvar="REDIS_KEY_PREFIX", hidden=True,
        help="Deprecated: the Redis key prefix instead of the namespace's.")] = None,
) -> None:
    """Show analysis progress of publish batches (from the Redis progress projection)."""
    settings = get_settings()
    if key_prefix is None:
        key_prefix = namespace_of(ctx).redis_prefix
    if follow and correlation_id is None:
        raise typer.BadParameter("--follow needs a CORRELATION_ID")
    if follow and correlation_id is not None:
        code = _follow_cli(settings, key_prefix, correlation_id, timeout, json_out)
    else:
        code = asyncio.run(_show(settings, key_prefix, correlation_id, limit, json_out))
    if code:
        raise typer.Exit(code)
