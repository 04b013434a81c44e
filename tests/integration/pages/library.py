"""A generated library as events (varied keys, tempi, confidences, two XSS titles, a few
failures) and a real projections worker serving the pages over it, in its own namespace."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from infra.polling import poll_or_fail
from projections.postgres.queries import KeyFilter
from schemas.codec import AnyEvent
from schemas.file_events import FileInfo, Tags
from tests import builders as build
from tests.builders import file_info
from tests.unit.schemas.samples import FEATURES

ROOT = "/music/pages"
T0 = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
XSS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')
REPO = Path(__file__).resolve().parents[3]
# Camelot code -> (key, scale) as the analyser stores them.
KEYS = {KeyFilter(pitch=p, scale=s).as_camelot(): (name, s)
        for p, name in enumerate(("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#",
                                  "B")) for s in ("minor", "major")}
CODES = sorted(KEYS, key=lambda c: (int(c[:-1]), c[-1]))


def track_spec(i: int) -> dict[str, Any]:
    """The i-th track: a skewed key distribution (8A is common), tempi 80-160."""
    camelot = "8A" if i % 5 == 0 else CODES[(i * 7) % 24]
    return {"camelot": camelot, "bpm": 80.0 + (i * 13) % 80 + 0.25,
            "confidence": round(0.3 + (i % 7) / 10, 2), "artist": f"Artist {i % 6}",
            "title": XSS[i % 2] if i in (1, 2) else f"Song {i:03d}", "failed": i % 17 == 16}


def library_events(cid: str, n: int, completed: bool = True) -> list[AnyEvent]:
    """Discovery of `n` files, then (if `completed`) each one's analysis outcome."""
    out: list[AnyEvent] = []
    for i in range(n):
        out += _events(cid, i, completed)
    return out


def _info(cid: str, i: int) -> FileInfo:
    spec = track_spec(i)
    title = f"Incoming {i:03d}" if cid.endswith("-live") else spec["title"]
    return file_info(f"{cid}/{i:04d}.mp3", root=ROOT, size=1000 + i, content_hash=f"{i:032x}",
                     tags=Tags(artist=spec["artist"], title=title, album="Pages"))


def _events(cid: str, i: int, completed: bool) -> list[AnyEvent]:
    t = T0 + timedelta(seconds=i)
    out: list[AnyEvent] = [build.discovered(_info(cid, i), correlation_id=cid, occurred_at=t)]
    if completed:
        out += outcome_events(cid, i, t)
    return out


def outcome_events(cid: str, i: int, t: datetime | None = None) -> list[AnyEvent]:
    """AnalysisStarted then Completed (or Failed) for the i-th file."""
    info, spec = _info(cid, i), track_spec(i)
    t = t or T0 + timedelta(seconds=i)
    ms = timedelta(milliseconds=1)
    out: list[AnyEvent] = [build.started(info, worker="w1", correlation_id=cid,
                                         occurred_at=t + ms)]
    if spec["failed"]:
        out.append(build.failed(info, message=f"bad frame <b>{i}</b>", correlation_id=cid,
                                occurred_at=t + 5 * ms))
        return out
    key, scale = KEYS[spec["camelot"]]
    features = msgspec.structs.replace(FEATURES, bpm=spec["bpm"],
                                       bpm_confidence=spec["confidence"], key=key, scale=scale,
                                       camelot=spec["camelot"], energy=(i % 10) / 10,
                                       loudness_lufs=-14.0 + (i % 8))
    out.append(build.completed(info, features, analysis_id=f"an-{cid}-{i}", processing_ms=12.0,
                               correlation_id=cid, occurred_at=t + 5 * ms))
    return out


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)


def start_worker(prefix: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """`tracktion worker --role projections` for `prefix`, as a user would run it."""
    return subprocess.Popen(
        [sys.executable, "-m", "streams.cli.main", "worker", "--role", "projections",
         "--prefix", prefix, "--port", str(port)], cwd=REPO,
        stdout=log.open("wb"), stderr=subprocess.STDOUT, env={**os.environ, "LOG_FORMAT": "json"})


async def poll_worker_or_fail(check: Callable[[], object], timeout: float, what: str,
                              worker: subprocess.Popen[bytes], log: Path) -> None:
    """`poll_or_fail` on the blocking `check` (run in a thread, off the event loop) while
    `worker` lives; a dead worker fails at once, with the tail of its log."""
    last: object = None

    def attempt() -> bool:
        nonlocal last
        try:
            last = check()
        except OSError as exc:  # the worker is still starting: its port is not open yet
            last = exc
            return False
        return bool(last)

    def alive() -> None:
        if worker.poll() is not None:
            raise AssertionError(f"worker exited ({worker.returncode}) waiting for {what}: "
                                 f"{log.read_text()[-2000:]}")

    await poll_or_fail(lambda: asyncio.to_thread(attempt), timeout,
                       lambda: f"{what} (last: {last!r})", interval_s=0.3, alive=alive)
