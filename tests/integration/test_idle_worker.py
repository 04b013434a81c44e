"""An idle, healthy worker logs no errors when work arrives; a really stuck one does.

Before: Faust's detector timed stalls from the last event its stream took in, so the first
publish after an idle spell longer than its timeout logged a burst of error lines
("Stream stopped processing, or is slow", "Has not committed"). The clock now starts when
records begin to wait (streams/worker/stall.py); STALL_TIMEOUT is shortened here so that
the idle spell and the stall take seconds instead of minutes.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Any

from infra.corpus.bad_files import click_track
from infra.settings import Settings
from schemas.analysis_events import AnalysisCompleted
from schemas.codec import decode
from schemas.namespace import Namespace
from streams.ops.worker_process import WorkerProcess
from streams.publishing.publisher import publish_paths
from tests.integration.kafka_utils import read_topic, wait_until

SERVICES = ("kafka", "redis")
STALL_S = 6.0
BATCH = 8


def log_lines(path: Path) -> list[dict[str, Any]]:
    out = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            out.append({"level": "raw", "event": line})
    return out


def errors(path: Path) -> list[dict[str, Any]]:
    # JSON lines at error level, and any line that is not JSON but says ERROR (a library
    # printing past the logging setup would hide there).
    return [e for e in log_lines(path) if str(e.get("level", "")).lower() in ("error", "critical")
            or (e.get("level") == "raw" and "ERROR" in str(e.get("event")))]


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").iterdir():
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                found.append(child)
                todo.append(child)
    return found


async def completed(settings: Settings, prefix: str) -> int:
    records = await read_topic(settings.kafka_bootstrap_servers, Namespace(prefix).analysis_topic)
    return sum(isinstance(decode(r.value), AnalysisCompleted) for r in records)


async def test_idle_then_busy_logs_no_error_but_a_real_stall_is_reported(
        settings: Settings, prefix: str, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    log = tmp_path / "analysis.log"
    worker = WorkerProcess("analysis", prefix, log, env={
        "TRACKTION_TRACING": "off", "STALL_TIMEOUT": str(STALL_S), "ANALYSIS_MAX_WORKERS": "1"})
    worker.start()
    stopped: list[int] = []
    try:
        assert await wait_until(
            lambda: any(e.get("event") == "analysis_role_started" for e in log_lines(log)),
            120), f"worker did not start:\n{log.read_text()[-2000:]}"
        await asyncio.sleep(3 * STALL_S)  # idle for well over the stall timeout
        # A batch, so that records wait on several partitions while one process works.
        batch = [lib / f"first{n}.mp3" for n in range(BATCH)]
        for n, path in enumerate(batch):
            click_track(path, 6.0 + n, 44100, "128k")
        await publish_paths(batch, settings, via="kafka", ns=Namespace(prefix))
        assert await wait_until(lambda: _gte(completed(settings, prefix), BATCH), 180)
        await asyncio.sleep(2 * STALL_S)  # two more lag samples after the work
        assert errors(log) == [], "a healthy worker logged errors after an idle spell"

        # Now really stuck: every analysis process frozen while a file waits.
        assert worker.proc is not None
        stopped = descendants(worker.proc.pid)
        assert stopped, "no analysis pool processes found"
        for pid in stopped:
            os.kill(pid, signal.SIGSTOP)
        click_track(lib / "second.mp3", 20.0, 44100, "128k")  # other content: no cache hit
        await publish_paths([lib / "second.mp3"], settings, via="kafka",
                            ns=Namespace(prefix))
        assert await wait_until(lambda: any(
            e.get("event") == "analysis_stalled" for e in log_lines(log)), 10 * STALL_S), \
            "a frozen pool was never reported as stalled"
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
        stopped = []
        assert await wait_until(lambda: any(
            e.get("event") == "analysis_stall_recovered" for e in log_lines(log)), 180)
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
        worker.stop_quietly()
    stalls = [e for e in errors(log) if e.get("event") == "analysis_stalled"]
    assert len(stalls) == 1 and stalls[0]["waiting"] >= 1, errors(log)



async def _gte(count: Any, n: int) -> bool:
    return int(await count) >= n
