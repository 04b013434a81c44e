"""The watcher on the real filesystem (watchdog's inotify observer) with an in-memory sink:
start-up order, and directories that move or vanish as a whole."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from infra.polling import poll_until
from schemas.envelope import Event
from streams.watcher import watcher as watcher_module
from streams.watcher.watcher import DIR_DELETED, LibraryWatcher, run_watcher


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


def make(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(name.encode())


async def watched(watcher: LibraryWatcher, sink: ListSink, act: Callable[[], object],
                  expect: int, done: Callable[[], bool] | None = None) -> list[tuple[str, str]]:
    """Run the watcher, `act` once it is ready, and return (event type, path relative to the
    first root) of what it published into `sink`: once there are `expect` events (or `done`
    holds), or what came within 10 s."""
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_watcher(watcher, stop, ready))
    await asyncio.wait_for(ready.wait(), 10)
    act()
    # Settling is 0.2 s; a loaded machine gets 10 s. What came is returned either way.
    await poll_until(done or (lambda: len(sink.events) >= expect), 10, 0.1)
    await asyncio.sleep(0.5)  # anything published twice would show by now
    stop.set()
    await task
    root = watcher.roots[0]
    return [(e.event_type,
             Path(getattr(e.payload, "path", None) or e.payload.file.path)  # type: ignore[attr-defined]
             .relative_to(root).as_posix()) for e in sink.events]


async def test_a_file_added_while_the_library_is_indexed_is_published(tmp_path: Path) -> None:
    make(tmp_path / "lib", "old.mp3")
    sink = ListSink()
    watcher = SlowIndexWatcher([tmp_path / "lib"], sink, "cid", settle_s=0.2)
    # Before, the observer started after the walk: the file was never seen.
    assert await watched(watcher, sink, lambda: None, 1) == [
        ("FileDiscovered", "arrived during the walk.mp3")]


async def test_an_album_moved_out_of_the_library_deletes_its_tracks(tmp_path: Path) -> None:
    lib, outside = tmp_path / "lib", tmp_path / "trash"
    make(lib / "album", "a.mp3", "b.flac", "cover.jpg")
    make(lib, "keep.mp3")
    outside.mkdir()
    sink = ListSink()
    watcher = LibraryWatcher([lib], sink, "cid", settle_s=0.2)
    # Before: only the directory's deletion is notified, and it was ignored (no events).
    assert await watched(watcher, sink, lambda: (lib / "album").rename(outside / "album"), 2) == [
        ("FileDeleted", "album/a.mp3"), ("FileDeleted", "album/b.flac")]


async def test_a_deleted_tree_publishes_each_track_once(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    make(lib / "album" / "cd1", "a.mp3", "b.mp3")
    sink = ListSink()
    watcher = LibraryWatcher([lib], sink, "cid", settle_s=0.2)
    events = await watched(watcher, sink, lambda: shutil.rmtree(lib / "album"), 2)
    assert sorted(events) == [("FileDeleted", "album/cd1/a.mp3"),
                              ("FileDeleted", "album/cd1/b.mp3")]


async def test_an_album_renamed_inside_the_library_moves_its_tracks(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    make(lib / "album", "a.mp3")
    sink = ListSink()
    watcher = LibraryWatcher([lib], sink, "cid", settle_s=0.2)
    assert await watched(watcher, sink, lambda: (lib / "album").rename(lib / "renamed"), 1) == [
        ("FileMoved", "renamed/a.mp3")]


async def test_files_still_settling_at_stop_are_reported_not_dropped(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    sink = ListSink()
    watcher = LibraryWatcher([lib], sink, "cid", settle_s=30.0)  # nothing settles here
    # Before: the watcher forgot them at exit, and the next start indexed them as known.
    assert await watched(watcher, sink, lambda: make(lib / "album", "a.mp3"), 0,
                         done=lambda: bool(watcher.pending())) == []
    assert watcher.unsettled == [str(lib.resolve() / "album" / "a.mp3")]



async def test_a_vanished_library_root_deletes_nothing(tmp_path: Path) -> None:
    # inotify reports a root renamed away with no event at all, but other observers (polling,
    # FSEvents) report the folder itself: one event must not empty the read models.
    lib = tmp_path / "lib"
    make(lib / "album", "a.mp3")
    sink = ListSink()
    watcher = LibraryWatcher([lib], sink, "cid", settle_s=0.2)
    watcher.index_existing()
    lib.rename(tmp_path / "lib-old")
    await watcher.handle(DIR_DELETED, str(lib.resolve()), "")
    await watcher.handle(DIR_DELETED, str(tmp_path.resolve()), "")  # an ancestor of the root
    assert sink.events == []


class BlockingIndexWatcher(LibraryWatcher):
    def index_existing(self) -> int:
        time.sleep(1.0)  # what walking and hashing a big library does, for hours
        return super().index_existing()


async def test_the_index_walk_leaves_the_event_loop_free(tmp_path: Path) -> None:
    # Before, the walk ran on the event loop: nothing else ran (the RabbitMQ sink's
    # heartbeats among it) until it was done.
    make(tmp_path / "lib", "old.mp3")
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.05)

    ticker = asyncio.create_task(tick())
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_watcher(BlockingIndexWatcher([tmp_path / "lib"], ListSink(),
                                                                "cid"), stop, ready))
    await asyncio.wait_for(ready.wait(), 10)
    ticker.cancel()
    stop.set()
    await task
    assert ticks >= 5, ticks  # about 20 in the 1 s walk


async def test_a_name_that_is_not_utf8_neither_publishes_nor_stops_the_watcher(
        tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    bad = lib / os.fsdecode(b"caf\xe9.mp3")
    sink = ListSink()
    watcher = LibraryWatcher([lib], sink, "cid", settle_s=0.2)
    # Before, the deletion's file id raised UnicodeEncodeError and ended the watcher.
    await watcher.handle("deleted", str(bad), "")
    await watcher.handle(DIR_DELETED, str(lib / os.fsdecode(b"alb\xfcm")), "")

    def act() -> None:
        bad.write_bytes(b"latin-1 named")
        make(lib, "fine.mp3")

    assert await watched(watcher, sink, act, 1) == [("FileDiscovered", "fine.mp3")]


async def test_a_move_whose_destination_moved_on_deletes_then_rediscovers(
        tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    make(lib, "a.mp3")
    sink = ListSink()
    watcher = LibraryWatcher([lib], sink, "cid", settle_s=0.0)
    watcher.index_existing()
    root = lib.resolve()
    (root / "a.mp3").rename(root / "c.mp3")  # a -> b -> c faster than the events are handled
    # Before, reading b.mp3 raised FileNotFoundError out of handle(): the watcher ended.
    await watcher.handle("moved", str(root / "a.mp3"), str(root / "b.mp3"))
    await watcher.handle("moved", str(root / "b.mp3"), str(root / "c.mp3"))
    for _ in range(2):  # settled: the same size at two checks
        await watcher.flush_settled()
    assert [(e.event_type, Path(getattr(e.payload, "path", None) or e.payload.file.path).name)  # type: ignore[attr-defined]
            for e in sink.events] == [("FileDeleted", "a.mp3"), ("FileDiscovered", "c.mp3")]


async def test_a_linked_folder_is_watched_under_the_links_path(tmp_path: Path) -> None:
    lib, drive = tmp_path / "lib", tmp_path / "drive"
    make(lib, "local.mp3")
    make(drive / "album", "old.mp3")
    (lib / "usb").symlink_to(drive)
    sink = ListSink()
    watcher = LibraryWatcher([lib], sink, "cid", settle_s=0.2)

    def act() -> None:
        make(drive / "album", "new.mp3")  # written on the drive, seen through the link
        (drive / "album" / "old.mp3").unlink()

    # Before, inotify did not follow the link: nothing of the drive was ever published.
    assert sorted(await watched(watcher, sink, act, 2)) == [
        ("FileDeleted", "usb/album/old.mp3"), ("FileDiscovered", "usb/album/new.mp3")]


async def test_a_link_made_then_removed_while_watching_adds_then_deletes_its_tracks(
        tmp_path: Path) -> None:
    lib, drive = tmp_path / "lib", tmp_path / "drive"
    lib.mkdir()
    make(drive, "a.mp3", "b.flac")
    sink = ListSink()
    watcher = LibraryWatcher([lib], sink, "cid", settle_s=0.2)
    discovered = await watched(watcher, sink, lambda: (lib / "usb").symlink_to(drive), 2)
    assert sorted(discovered) == [("FileDiscovered", "usb/a.mp3"), ("FileDiscovered", "usb/b.flac")]
    sink.events.clear()
    # A second run would index the link's files as known; this one keeps the state.
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_watcher(watcher, stop, ready))
    await asyncio.wait_for(ready.wait(), 10)
    (lib / "usb").unlink()
    await poll_until(lambda: len(sink.events) >= 2, 10, 0.1)
    stop.set()
    await task
    assert sorted((e.event_type, Path(e.payload.path).name) for e in sink.events) == [  # type: ignore[attr-defined]
        ("FileDeleted", "a.mp3"), ("FileDeleted", "b.flac")]


class BrokerAwaySink(ListSink):
    """Refuses the first `failures` sends, as a sink does while RabbitMQ restarts."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def send(self, event: Event, headers: dict[str, str]) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("broker forced connection closure")
        await super().send(event, headers)


async def test_a_publish_while_the_broker_is_away_is_retried_not_fatal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watcher_module, "PUBLISH_RETRY_FIRST_S", 0.01)
    lib = tmp_path / "lib"
    lib.mkdir()
    sink = BrokerAwaySink(failures=3)
    watcher = LibraryWatcher([lib], sink, "cid", settle_s=0.2)
    # Before, the first error ended the watcher, and the next start indexed the file as
    # known: it was never published.
    assert await watched(watcher, sink, lambda: make(lib, "copied.mp3"), 1) == [
        ("FileDiscovered", "copied.mp3")]
    assert watcher.unpublished == []


async def test_a_publish_still_failing_at_stop_is_reported(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    sink = BrokerAwaySink(failures=10**6)
    watcher = LibraryWatcher([lib], sink, "cid", settle_s=0.2)
    assert await watched(watcher, sink, lambda: make(lib, "copied.mp3"), 1,
                         done=lambda: sink.failures < 10**6) == []
    assert watcher.unpublished == [("FileDiscovered", str(lib.resolve() / "copied.mp3"))]


async def test_hashing_a_settled_file_leaves_the_event_loop_free(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = watcher_module.read_file_info

    def slow_read(root: Path, path: Path) -> object:
        time.sleep(1.0)  # what hashing a big FLAC (or a linked drive's worth) takes
        return real(root, path)

    monkeypatch.setattr(watcher_module, "read_file_info", slow_read)
    make(tmp_path / "lib", "big.flac")
    sink = ListSink()
    watcher = LibraryWatcher([tmp_path / "lib"], sink, "cid", settle_s=0.0)
    await watcher.handle("created", str(tmp_path / "lib" / "big.flac"), "")
    await watcher.flush_settled()  # the size is seen once; the next check finds it settled
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.05)

    ticker = asyncio.create_task(tick())
    await watcher.flush_settled()
    ticker.cancel()
    assert [e.event_type for e in sink.events] == ["FileDiscovered"]
    # Before, the hash ran on the event loop: 0 or 1 tick in the 1 s read.
    assert ticks >= 5, ticks
