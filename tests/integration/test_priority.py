"""High priority first, measured against the real broker and the real analysis worker.

2,000 normal-priority requests are queued before the worker starts; 20 high-priority ones
are published after them. All 20 must be analysed before 10% (200) of the backlog is.
"""

from __future__ import annotations

from pathlib import Path

from infra.corpus.bad_files import click_track
from infra.settings import Settings
from schemas.analysis_events import AnalysisCompleted, AnalysisFailed
from schemas.codec import decode
from schemas.envelope import Priority, file_id_for
from schemas.file_events import AnalysisRequested, AnalysisRequestedPayload
from schemas.namespace import Namespace
from streams.ops.worker_process import WorkerProcess
from streams.publishing.fileinfo import read_file_info
from streams.publishing.sinks import KafkaSink, event_headers
from tests.integration.kafka_utils import read_topic, wait_until

PARTITIONS = 6
SERVICES = ("kafka", "redis")
BACKLOG, URGENT = 2000, 20


async def publish_requests(settings: Settings, prefix: str, clip: Path, priority: Priority,
                           n: int, start: int) -> None:
    info = read_file_info(clip.parent, clip)
    sink = KafkaSink(settings.kafka_bootstrap_servers, Namespace(prefix))
    await sink.start()
    try:
        for i in range(start, start + n):
            # Distinct files (ids) sharing one clip; force bypasses the result cache.
            event = AnalysisRequested.create(
                file_id=file_id_for("/prio", f"{i:05}.mp3"), correlation_id=priority,
                priority=priority,
                payload=AnalysisRequestedPayload(file=info, reason="reanalyse", force=True))
            await sink.send(event, event_headers(event, {}))
        await sink.flush()
    finally:
        await sink.close()


async def test_high_priority_overtakes_a_2000_file_backlog(settings: Settings, prefix: str,
                                                           tmp_path: Path) -> None:
    clip = click_track(tmp_path / "clip.mp3", seconds=4.0)
    await publish_requests(settings, prefix, clip, "normal", BACKLOG, 0)
    await publish_requests(settings, prefix, clip, "high", URGENT, BACKLOG)
    worker = WorkerProcess("analysis", prefix, tmp_path / "analysis.log",
                           env={"TRACKTION_TRACING": "off"})
    worker.start()
    order: list[str] = []

    async def urgent_done() -> bool:
        nonlocal order
        records = await read_topic(settings.kafka_bootstrap_servers,
                                   Namespace(prefix).analysis_topic)
        events = [decode(r.value) for r in records]
        done = [e for e in events if isinstance(e, AnalysisCompleted | AnalysisFailed)]
        done.sort(key=lambda e: e.occurred_at)
        order = [e.priority for e in done]
        return order.count("high") >= URGENT

    try:
        assert await wait_until(urgent_done, 300, 1.0), \
            f"high-priority results missing; log: {(tmp_path / 'analysis.log').read_text()[-3000:]}"
    finally:
        worker.stop_quietly()
    last_high = max(i for i, p in enumerate(order) if p == "high")
    normal_before = order[:last_high].count("normal")
    print(f"priority: {normal_before} of {BACKLOG} normal files finished before the last of "
          f"{URGENT} high ones")
    assert normal_before < BACKLOG // 10


async def test_high_priority_overtakes_a_backlog_already_being_worked_on(
        settings: Settings, prefix: str, tmp_path: Path) -> None:
    """The urgent file arrives while the worker is busy with the backlog (fetches in flight)."""
    clip = click_track(tmp_path / "clip.mp3", seconds=4.0)
    await publish_requests(settings, prefix, clip, "normal", BACKLOG, 0)
    worker = WorkerProcess("analysis", prefix, tmp_path / "analysis.log",
                           env={"TRACKTION_TRACING": "off"})
    worker.start()
    done: list[str] = []

    async def finished(at_least: int, priority: str) -> bool:
        nonlocal done
        records = await read_topic(settings.kafka_bootstrap_servers,
                                   Namespace(prefix).analysis_topic)
        events = [decode(r.value) for r in records]
        results = sorted((e for e in events if isinstance(e, AnalysisCompleted | AnalysisFailed)),
                         key=lambda e: e.occurred_at)
        done = [e.priority for e in results]
        return done.count(priority) >= at_least

    try:
        assert await wait_until(lambda: finished(30, "normal"), 300, 0.5)
        before = done.count("normal")
        await publish_requests(settings, prefix, clip, "high", 1, BACKLOG)
        assert await wait_until(lambda: finished(1, "high"), 120, 0.5)
    finally:
        worker.stop_quietly()
    overtaken = done[: done.index("high")].count("normal") - before
    print(f"priority (running backlog): {overtaken} normal files finished before the urgent one")
    assert overtaken < BACKLOG // 10
