"""Benchmark of the library pages: 100,000 tracks, a filtered page of 50 rows and the wheel.

    .venv/bin/python -m benchmarks.pages_library [--tracks 100000] [--runs 60] [--keep]
                                                 [--schema S  (reuse a filled one)]

A fresh schema is filled with FileDiscovered + AnalysisCompleted per track through the real
projection writer (as benchmarks/export_tracks.py does). The pages are mounted on an aiohttp
server in this process (streams.worker.pages.add_pages, the projections worker's code) and
requested over loopback HTTP with a kept-alive client, so each time is the server's work plus
one loopback round trip. Per case: 5 warm-up requests, then `--runs` timed ones; p50/p95.
Targets (issue 13): a filtered 50-row library page p95 <= 150 ms; wheel + histogram <= 300 ms.
Writes benchmarks/results/pages_library.json. The schema is dropped afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from typing import Any

import aiohttp
import structlog
from aiohttp import web
from sqlalchemy import text

from benchmarks.export_tracks import fill
from benchmarks.machine import write_result
from infra.settings import get_settings
from streams.worker.pages import add_pages

LIBRARY_TARGET_MS = 150.0
WHEEL_TARGET_MS = 300.0
# Filtered 50-row pages as a user would click them (the words come from make_events' titles).
LIBRARY_CASES: dict[str, dict[str, str]] = {
    "key": {"key": "8A"},
    "compatible_and_bpm": {"compatible_with": "8A", "bpm": "120..128"},
    "bpm_sorted_by_energy": {"bpm": "120..130", "sort": "energy", "dir": "desc"},
    "search": {"search": "midnight"},
    "search_typo_and_key": {"search": "midnigth", "key": "Am"},
    "min_confidence_sorted_by_bpm_page_20": {"min_confidence": "0.6", "sort": "bpm",
                                             "page": "20"},
    "everything_sorted_by_artist": {"sort": "artist"},
    "sorted_by_key_desc": {"sort": "key", "dir": "desc", "status": "analysed"},
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def time_case(session: aiohttp.ClientSession, url: str, params: dict[str, str],
                    runs: int) -> dict[str, Any]:
    times, size = [], 0
    for n in range(5 + runs):
        started = time.perf_counter()
        async with session.get(url, params=params) as resp:
            body = await resp.read()
            assert resp.status == 200, (resp.status, body[-500:])
        if n >= 5:
            times.append((time.perf_counter() - started) * 1000)
            size = len(body)
    return {"params": params, "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(percentile(times, 0.95), 1), "max_ms": round(max(times), 1),
            "html_bytes": size}


async def run(tracks: int, runs: int, keep: bool, reuse: str | None = None) -> dict[str, Any]:
    settings = get_settings()
    schema = reuse or f"bench_pages_{uuid.uuid4().hex[:8]}"
    keep = keep or reuse is not None
    fill_s = None if reuse else await fill(schema, tracks)
    app = web.Application()
    add_pages(app, schema, f"bench_pages_{schema}", "bench-pages:", settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            library = {name: await time_case(session, f"{base}/library", params, runs)
                       for name, params in LIBRARY_CASES.items()}
            wheel = await time_case(session, f"{base}/wheel", {}, runs)
            static = 0
            for name in ("app.css", "app.js"):
                async with session.get(f"{base}/static/{name}") as resp:
                    static += len(await resp.read())
    finally:
        await runner.cleanup()
        if not keep:
            from projections.postgres.writer import make_engine

            engine = make_engine(settings)
            async with engine.begin() as conn:
                await conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            await engine.dispose()
    worst = max(c["p95_ms"] for c in library.values())
    return {"tracks": tracks, "runs_per_case": runs, "fill_seconds": fill_s,
            "library_page_rows": 50, "library": library, "wheel_and_histogram": wheel,
            "static_bytes": static,
            "targets": {"library_p95_ms": LIBRARY_TARGET_MS, "wheel_p95_ms": WHEEL_TARGET_MS},
            "library_worst_p95_ms": worst,
            "library_within_target": worst <= LIBRARY_TARGET_MS,
            "wheel_within_target": wheel["p95_ms"] <= WHEEL_TARGET_MS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--schema", help="measure an already filled schema (kept)")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    write_result("pages_library", asyncio.run(run(args.tracks, args.runs, args.keep,
                                                  args.schema)))


if __name__ == "__main__":
    main()
