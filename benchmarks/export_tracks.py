"""Benchmark of `tracktion export`: 100,000 tracks out of PostgreSQL into each format.

    .venv/bin/python -m benchmarks.export_tracks [--tracks 100000] [--keep]

A fresh schema is filled with FileDiscovered + AnalysisCompleted for every track through
the real projection writer (PostgresProjector + PostgresWriter, batches of 1,000 events).
Each format is then exported by its own child process (`python -m benchmarks.export_tracks
--child ...`, which calls the same export_tracks as the CLI) so that peak RSS is that
export's alone: the child reports its wall time and peak RSS (VmHWM); the parent also times the
whole child (interpreter start and imports included). Every file is read back: the
Rekordbox XML by pyrekordbox, the NML by ElementTree.iterparse, the M3U line by line.
Targets (issue 11): at most 20 s and 500 MB RSS per format. Writes
benchmarks/results/export_tracks.json. The schema is dropped afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import text

from benchmarks.machine import write_result
from benchmarks.projection_postgres import make_events
from infra.settings import get_settings
from projections.base import Positioned
from projections.postgres.apply import PostgresProjector
from projections.postgres.queries import TrackQuery
from projections.postgres.writer import PostgresWriter
from streams.export.run import FORMATS, export_tracks

TARGET_S = 20.0
TARGET_RSS_MB = 500.0
SUFFIX = {"rekordbox": ".xml", "traktor": ".nml", "m3u": ".m3u8"}


async def fill(schema: str, tracks: int) -> float:
    settings = get_settings()
    writer = PostgresWriter(settings, schema)
    await writer.setup()
    projector = PostgresProjector()
    started = time.perf_counter()
    events = make_events(tracks, seed=11, prefix="bench export")
    try:
        for start in range(0, len(events), 1000):
            batch = [Positioned(e, "t", 0, start + i)
                     for i, e in enumerate(events[start:start + 1000])]
            await writer.write("postgres", projector.apply(batch),
                               {("t", 0): start + len(batch) - 1})
        async with writer.engine.begin() as conn:
            await conn.execute(text(f"ANALYZE {schema}.tracks"))
    finally:
        await writer.close()
    return round(time.perf_counter() - started, 1)


def child(fmt: str, out: str, schema: str) -> None:
    """One export in this process; prints seconds and peak RSS as JSON."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    started = time.perf_counter()
    result = asyncio.run(export_tracks(get_settings(), schema, fmt, Path(out),
                                       TrackQuery(status="all")))
    print(json.dumps({"tracks": result.tracks, "seconds": round(time.perf_counter() - started, 2),
                      "peak_rss_mb": peak_rss_mb()}))


def peak_rss_mb() -> float:
    """This process image's peak RSS (VmHWM). Not ru_maxrss: Linux carries that over from
    the parent across fork and exec, so a child of a big parent would report the parent's."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def read_back(fmt: str, path: Path) -> int:
    """Tracks a real parser finds in the file."""
    if fmt == "rekordbox":
        from pyrekordbox.rbxml import RekordboxXml

        return int(RekordboxXml(path).num_tracks)
    if fmt == "traktor":
        n = 0
        for _, element in ET.iterparse(path):
            if element.tag == "ENTRY" and element.find("LOCATION") is not None:
                n += 1
            if element.tag == "ENTRY":
                element.clear()
        return n
    with path.open(encoding="utf-8") as f:
        return sum(1 for line in f if line.startswith("#EXTINF:"))


def measure(fmt: str, schema: str, workdir: Path, tracks: int) -> dict[str, Any]:
    out = workdir / f"export{SUFFIX[fmt]}"
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "benchmarks.export_tracks", "--child", fmt,
                           str(out), schema], capture_output=True, text=True, check=True)
    wall = round(time.perf_counter() - started, 2)
    reported = json.loads(proc.stdout.strip().splitlines()[-1])
    parsed = read_back(fmt, out)
    ok = (reported["tracks"] == parsed == tracks and reported["seconds"] <= TARGET_S
          and reported["peak_rss_mb"] <= TARGET_RSS_MB)
    return {**reported, "process_wall_s": wall, "file_mb": round(out.stat().st_size / 1e6, 1),
            "tracks_read_back": parsed, "meets_targets": ok}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("FORMAT", "OUT", "SCHEMA"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    schema = f"bench_export_{uuid.uuid4().hex[:8]}"
    try:
        fill_s = asyncio.run(fill(schema, args.tracks))
        with tempfile.TemporaryDirectory() as tmp:
            formats = {fmt: measure(fmt, schema, Path(tmp), args.tracks) for fmt in FORMATS}
    finally:
        if not args.keep:
            asyncio.run(drop(schema))
    write_result("export_tracks", {
        "command": "python -m benchmarks.export_tracks " + " ".join(sys.argv[1:]),
        "tracks": args.tracks, "fill_seconds": fill_s,
        "targets": {"seconds": TARGET_S, "peak_rss_mb": TARGET_RSS_MB},
        "formats": formats})


async def drop(schema: str) -> None:
    writer = PostgresWriter(get_settings(), schema)
    try:
        async with writer.engine.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    finally:
        await writer.close()


if __name__ == "__main__":
    main()
