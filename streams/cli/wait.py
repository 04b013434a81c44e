"""Follow a publish batch to completion, with a progress bar: `publish --wait`. The batch is read
through the read layer (ProgressReads), as `tracktion progress --follow` and the pages read it."""

from __future__ import annotations

import asyncio
import sys
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from infra.settings import Settings
from projections.reads import ProgressReads
from projections.redis.progress import BatchProgress
from projections.redis.side_writes import record_expected_total
from projections.redis.writer import connect
from schemas.namespace import LIVE, Namespace


async def set_expected(settings: Settings, key_prefix: str, correlation_id: str, n: int) -> None:
    """Record how many files the batch holds, so its progress counts the ones not yet seen.
    A write beside the projection's (side_writes), hence not through the read layer."""
    redis = connect(settings.redis_url)
    try:
        await record_expected_total(redis, key_prefix, correlation_id, n)
    finally:
        await redis.aclose()


def wait_for_batch_cli(settings: Settings, correlation_id: str, expected: int, timeout: float,
                       quiet: bool = False, ns: Namespace = LIVE) -> dict[str, object]:
    """Block until the batch is done; returns succeeded/failed counts and elapsed seconds."""
    console = Console(stderr=True)
    started = time.monotonic()
    progress = Progress(TextColumn("analysing"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
                        console=console, disable=quiet or not sys.stderr.isatty())

    async def follow() -> BatchProgress:
        await set_expected(settings, ns.redis_prefix, correlation_id, expected)
        async with ProgressReads.open(settings, ns.redis_prefix) as reads:
            with progress:
                task = progress.add_task("wait", total=expected, detail="")

                def update(p: BatchProgress) -> None:
                    eta = f" eta {p.eta_s:.0f}s" if p.eta_s else ""
                    progress.update(task, completed=p.succeeded + p.failed,
                                    detail=f"failed {p.failed}{eta}")

                return await reads.wait(correlation_id, timeout, update)

    result = asyncio.run(follow())
    return {"succeeded": result.succeeded, "failed": result.failed,
            "seconds": round(time.monotonic() - started, 2)}
