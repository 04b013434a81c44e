"""The watcher's start-up order, on the real filesystem (watchdog's inotify observer) with an
in-memory sink: a change made while the existing files are being indexed is not lost."""

from __future__ import annotations

import asyncio
from pathlib import Path

from schemas.envelope import Event
from streams.watcher.watcher import LibraryWatcher, run_watcher


class ListSink:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def send(self, event: Event, headers: dict[str, str]) -> None:
        self.events.append(event)

    async def flush(self) -> None:
        pass

    async def close(self) -> None:
        pass


class SlowIndexWatcher(LibraryWatcher):
    """Indexes, then (as a walk of a big library would allow) a file arrives behind it."""

    def index_existing(self) -> int:
        count = super().index_existing()
        (self.roots[0] / "arrived during the walk.mp3").write_bytes(b"new audio bytes")
        return count


async def test_a_file_added_while_the_library_is_indexed_is_published(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "old.mp3").write_bytes(b"existing")
    sink = ListSink()
    watcher = SlowIndexWatcher([lib], sink, "cid", settle_s=0.2)
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_watcher(watcher, stop, ready))
    await asyncio.wait_for(ready.wait(), 10)
    for _ in range(100):  # settles after 0.2 s; allow a loaded machine 10 s
        if sink.events:
            break
        await asyncio.sleep(0.1)
    stop.set()
    await task
    # Before, the observer started after the walk: the file was never seen.
    assert [(e.event_type, Path(e.payload.file.path).name)  # type: ignore[attr-defined]
            for e in sink.events] == [("FileDiscovered", "arrived during the walk.mp3")]
