"""`tracktion trace`: print the span trees of a batch or a file from Jaeger (through the read
layer's TraceReads, as the trace page)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from infra.jaeger_query import JaegerUnreachable, render
from infra.settings import Settings, get_settings
from projections.reads import TraceReads

console = Console()
# The local Jaeger is built from the Go module proxy, which carries no UI assets: its /trace/
# pages are a placeholder. Its JSON API works; the projections worker's /trace page draws it.
NO_UI_NOTE = ("this Jaeger build has no web UI (its pages are a placeholder); the links are "
              "its JSON API. In a browser: the projections worker's trace page, "
              "http://127.0.0.1:6066/trace?correlation_id=...")


def trace_header(base: str, trace_id: str) -> str:
    """The line above a span tree: the id and where the whole trace can be fetched."""
    return f"[bold]trace {trace_id}[/bold]  {base.rstrip('/')}/api/traces/{trace_id}"


async def _print_traces(settings: Settings, tags: dict[str, str], limit: int) -> None:
    async with TraceReads.open(settings) as reads:
        ids = await reads.trace_ids(tags, limit)
        if not ids:
            console.print(f"[yellow]no traces found for {tags}[/yellow] (Jaeger keeps traces "
                          "in memory: they are gone after a restart)")
            raise typer.Exit(1)
        for trace_id in ids:
            console.print(trace_header(reads.base_url, trace_id))
            for line in render(await reads.spans(trace_id)):
                console.print("  " + line, markup=False, highlight=False)
    console.print(f"[dim]{NO_UI_NOTE}[/dim]")


def trace(
    target: Annotated[str, typer.Argument(help="A correlation id, a file id, or a file path.")],
    limit: Annotated[int, typer.Option(help="At most this many traces.")] = 5,
) -> None:
    """Find traces by correlation id / file id / path in Jaeger and print their span trees."""
    if Path(target).exists():
        tags = {"path": str(Path(target).resolve())}
    elif "-" in target and len(target) == 36:
        tags = {"file_id": target}
    else:
        tags = {"correlation_id": target}
    try:
        asyncio.run(_print_traces(get_settings(), tags, limit))
    except JaegerUnreachable as exc:
        console.print(f"[red]{escape(str(exc))}[/red]", highlight=False)
        raise typer.Exit(2) from None
