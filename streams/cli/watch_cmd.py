"""`tracktion watch`: publish file events as watched library folders change."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated

import typer

from infra.logging import configure_logging
from infra.settings import get_settings
from infra.telemetry import init_tracing, shutdown_tracing
from streams.cli.root import DeprecatedPrefixOpt, namespace_of
from streams.watcher.watcher import watch_library


def watch(
    ctx: typer.Context,
    dirs: Annotated[list[Path], typer.Argument(help="Library folders to watch (recursive).",
                                               exists=True, file_okay=False)],
    via: Annotated[str, typer.Option(help="rabbitmq or kafka.")] = "rabbitmq",
    priority: Annotated[str, typer.Option(help="high | normal | low | auto.")] = "auto",
    settle: Annotated[float, typer.Option(
        help="Seconds a file must stay unchanged before it is published.")] = 2.0,
    prefix: DeprecatedPrefixOpt = None,
) -> None:
    """Watch DIRS and publish discovered / modified / moved / deleted events until Ctrl-C."""
    settings, ns = get_settings(), namespace_of(ctx, prefix)
    configure_logging("tracktion-watch", settings.log_level, settings.log_format)
    init_tracing("tracktion-publish", settings.otel_exporter_otlp_endpoint,
                 settings.otel_traces_sampler)

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        ready = asyncio.Event()

        async def announce() -> None:  # the index walk hashes every file: say when it is done
            await ready.wait()
            typer.echo(f"watching {', '.join(str(d) for d in dirs)} (Ctrl-C to stop)", err=True)

        announcer = asyncio.create_task(announce())
        try:
            watcher = await watch_library(dirs, settings, via=via, ns=ns,  # type: ignore[arg-type]
                                          priority=priority, settle_s=settle,  # type: ignore[arg-type]
                                          stop=stop, ready=ready)
        finally:
            announcer.cancel()
        if watcher.unsettled:
            shown = "\n  ".join(watcher.unsettled[:10])
            more = f"\n  ... and {len(watcher.unsettled) - 10} more" \
                if len(watcher.unsettled) > 10 else ""
            typer.echo(f"{len(watcher.unsettled)} file(s) were still changing and were not "
                       f"published (the next watch counts them as known): run `tracktion "
                       f"publish` on them once complete:\n  {shown}{more}", err=True)
        if watcher.unpublished:
            shown = "\n  ".join(f"{kind} {path}" for kind, path in watcher.unpublished[:10])
            typer.echo(f"{len(watcher.unpublished)} event(s) could not be published before "
                       "the stop (the broker was away): run `tracktion publish` on the files "
                       f"still there; deleted ones stay in the read models:\n  {shown}",
                       err=True)
        return watcher.published

    published = asyncio.run(main())
    shutdown_tracing()
    typer.echo(f"published {published} event(s)")
