"""The Progress page and its Server-Sent Events, fed by the Redis pub/sub channels the
projection publishes on every write (the ones `tracktion progress --follow` waits on)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from projections.redis.progress import BatchProgress, close_pubsub
from streams.worker.pages.context import PageContext
from streams.worker.pages.params import ident
from streams.worker.pages.render import e, link, page, table

HEARTBEAT_S = 5.0  # lag rows change every 5 s without any pub/sub message
SETTLE_S = 0.05  # a burst of writes costs one re-read; well inside the 1 s target
FILES_SHOWN = 200
STOP_CHECK_S = 0.5


def _percent(b: BatchProgress) -> float:
    return 100.0 * b.finished / b.total if b.total else 0.0


def _batch_json(b: BatchProgress) -> dict[str, Any]:
    return {**b.to_json(), "finished": b.finished, "percent": round(_percent(b), 1)}


async def snapshot(ctx: PageContext, cid: str | None) -> dict[str, Any]:
    """Everything the page shows, as JSON: the same reads as `tracktion progress`."""
    reads = ctx.progress
    if cid is None:
        batches = await reads.batches(20)
        files: list[tuple[str, str]] = []
    else:
        one = await reads.batch(cid)
        batches = [] if one is None else [one]
        files = await reads.file_states(cid, FILES_SHOWN)
    lag = await reads.lag()
    return {"batch": cid, "batches": [_batch_json(b) for b in batches],
            "files": [{"file_id": f, "status": s} for f, s in files],
            "lag": [{"group": x.group, "topic": x.topic, "partition": x.partition,
                     "lag": x.lag} for x in lag]}


_BATCH_HEADERS = ("Batch", "Done", "Finished", "Total", "Succeeded", "Failed",
                  "In progress", "Queued", "Files/s", "ETA s")


def _batch_cells(b: dict[str, Any]) -> list[str]:
    def n(v: float | None, fmt: str = "{:.1f}") -> str:
        return "" if v is None else fmt.format(v)

    return [link("/progress", {"batch": b["correlation_id"]}, b["correlation_id"]),
            f'<progress max="100" value="{b["percent"]}"></progress> '
            f'<span class="pct">{b["percent"]:.1f} %</span>',
            str(b["finished"]), str(b["total"]), str(b["succeeded"]), str(b["failed"]),
            str(b["in_progress"]), str(b["queued"]), n(b["throughput_per_s"]), n(b["eta_s"])]


async def progress(ctx: PageContext, request: web.Request) -> web.Response:
    cid = ident(request.query, "batch")
    snap = await snapshot(ctx, cid)
    files = table(("File", "State"), ([link("/track", {"id": f["file_id"]}, f["file_id"]),
                                       e(f["status"])] for f in snap["files"]),
                  f"files (first {FILES_SHOWN})", "files")
    lag = table(("Group", "Topic", "Partition", "Lag"),
                ([e(x["group"]), e(x["topic"]), str(x["partition"]), str(x["lag"])]
                 for x in snap["lag"]), "consumer lag", "lag")
    stream = link("/progress/events", {"batch": cid}, "event stream")
    body = (f'<p id="live" data-batch="{e(cid)}" aria-live="polite">Updates arrive by '
            f"Server-Sent Events ({stream}); <span id=\"state\">connecting…</span></p>"
            + table(_BATCH_HEADERS, (_batch_cells(b) for b in snap["batches"]),
                    "batches" if cid is None else f"batch {e(cid)}", "batches")
            + (files if cid is not None else "") + lag
            + (f'<p>{link("/trace", {"correlation_id": cid}, "the traces of this batch")} · '
               f'{link("/progress", {}, "all batches")}</p>' if cid else ""))
    return page("Progress", body, "progress")


async def _next_change(ctx: PageContext, pubsub: Any) -> bool:
    """Wait for a change message (True), the heartbeat or shutdown (False), checking for
    shutdown every STOP_CHECK_S."""
    waited = 0.0
    while waited < HEARTBEAT_S and not ctx.stopping.is_set():
        if await pubsub.get_message(ignore_subscribe_messages=True,
                                    timeout=STOP_CHECK_S) is not None:
            return True
        waited += STOP_CHECK_S
    return False


def _sse(data: dict[str, Any]) -> bytes:
    return f"event: progress\ndata: {json.dumps(data, default=str)}\n\n".encode()


async def events(ctx: PageContext, request: web.Request) -> web.StreamResponse:
    cid = ident(request.query, "batch")
    # Subscribed before the first read so no change falls between the two.
    pubsub = await ctx.progress.changes(cid)
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                       "Cache-Control": "no-store",
                                       "X-Content-Type-Options": "nosniff"})
    await resp.prepare(request)
    try:
        last: dict[str, Any] | None = None
        while not ctx.stopping.is_set():
            snap = await snapshot(ctx, cid)
            if snap != last:
                await resp.write(_sse(snap))
                last = snap
            else:
                await resp.write(b": keep-alive\n\n")
            if await _next_change(ctx, pubsub):
                await asyncio.sleep(SETTLE_S)
                while await pubsub.get_message(ignore_subscribe_messages=True,
                                               timeout=0) is not None:
                    pass
    except ConnectionResetError:
        pass  # the browser went away
    finally:
        await close_pubsub(pubsub)
    return resp
