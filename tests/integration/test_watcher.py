"""The watcher against real Kafka: debounced creation, modification, move and deletion."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from infra.settings import Settings
from schemas.codec import decode
from schemas.envelope import PRIORITIES, file_id_for
from schemas.namespace import Namespace
from streams.ops.worker_process import WorkerProcess
from streams.watcher.watcher import watch_library
from tests.integration.kafka_utils import read_topic, stack_service, wait_until

SERVICES = ("kafka", "rabbitmq")


async def events_in(settings: Settings, prefix: str) -> list[object]:
    out = []
    for lane in PRIORITIES:
        out += [decode(r.value) for r in
                await read_topic(settings.kafka_bootstrap_servers,
                                 Namespace(prefix).lane_topic(lane))]
    return sorted(out, key=lambda e: e.occurred_at)  # type: ignore[attr-defined]


async def test_watcher_publishes_settled_changes_once(settings: Settings, prefix: str,
                                                      tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    (lib / "sub").mkdir(parents=True)
    (lib / "old.mp3").write_bytes(b"existing")
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(watch_library([lib], settings, via="kafka", ns=Namespace(prefix),
                                             settle_s=0.6, stop=stop, ready=ready))
    await asyncio.wait_for(ready.wait(), 60)  # indexed, observing (a sleep raced a slow start)
    new = lib / "sub" / "new.flac"
    with new.open("wb") as fh:  # a slow copy: many modify events, one publication
        for _ in range(5):
            fh.write(random.randbytes(2000))
            fh.flush()
            await asyncio.sleep(0.15)
    (lib / "notes.txt").write_text("not audio")
    await asyncio.sleep(2.0)
    (lib / "old.mp3").write_bytes(b"changed bytes")
    await asyncio.sleep(2.0)
    (lib / "old.mp3").rename(lib / "renamed.mp3")
    await asyncio.sleep(0.5)
    new.unlink()
    await asyncio.sleep(1.0)
    stop.set()
    await task
    events = await events_in(settings, prefix)
    kinds = [(e.event_type, Path(getattr(e.payload, "file", e.payload).path).name)  # type: ignore[attr-defined]
             for e in events]
    assert kinds == [("FileDiscovered", "new.flac"), ("FileModified", "old.mp3"),
                     ("FileMoved", "renamed.mp3"), ("FileDeleted", "new.flac")]
    moved = events[2]
    assert moved.payload.previous_file_id == file_id_for(str(lib.resolve()), "old.mp3")  # type: ignore[attr-defined]
    assert moved.file_id == file_id_for(str(lib.resolve()), "renamed.mp3")  # type: ignore[attr-defined]
    assert events[0].payload.file.size == 10_000  # type: ignore[attr-defined]


async def test_a_change_seen_while_rabbitmq_restarts_is_published_once_it_is_back(
        settings: Settings, prefix: str, tmp_path: Path) -> None:
    # Before: the first publish that failed ended the watcher, and the next start indexed the
    # file as known, so it was never published.
    lib = tmp_path / "lib"
    lib.mkdir()
    bridge = WorkerProcess("bridge", prefix, tmp_path / "bridge.log")
    bridge.start()
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(watch_library([lib], settings, via="rabbitmq",
                                             ns=Namespace(prefix), settle_s=0.3, stop=stop,
                                             ready=ready))
    try:
        await asyncio.wait_for(ready.wait(), 60)
        await bridge.wait_started()  # else the outage may come first and it exits, as designed
        await asyncio.to_thread(stack_service, "down", "rabbitmq")
        try:
            (lib / "copied during the outage.mp3").write_bytes(b"new audio")
            await asyncio.sleep(2.0)  # settled; its publish fails and is retried
            assert not task.done()
        finally:  # whatever happened, the next tests get their broker back
            await asyncio.to_thread(stack_service, "up", "rabbitmq")

        async def arrived() -> bool:
            return len(await events_in(settings, prefix)) >= 1

        assert await wait_until(arrived, 120), "the event never reached Kafka"
    finally:
        stop.set()
        watcher = await asyncio.wait_for(task, 60)
        bridge.stop_quietly()
    events = await events_in(settings, prefix)
    assert [(e.event_type, Path(e.payload.file.path).name) for e in events] == [  # type: ignore[attr-defined]
        ("FileDiscovered", "copied during the outage.mp3")]
    assert watcher.unpublished == []
