"""`watch_library`: turn filesystem notifications into debounced file events.

watchdog's observer runs in its own thread; it only hands raw notifications to the event
loop, where debouncing, hashing and publishing happen. Renames are atomic, so a move is
published at once; creations and modifications wait until the file has settled.

A modification that is our own tag write (`worker --role tags`) is not published: its new
content hash is in the tag writer's record (streams/tags/ours.py), put there before the
rename. Publishing it would re-analyse the file, and write its tags again, forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import ObservedWatch

from infra.logging import get_logger
from infra.settings import Settings
from projections.redis.writer import connect
from schemas.envelope import Event, file_id_for, new_id
from schemas.file_events import (
    FileDeleted,
    FileDeletedPayload,
    FileDiscovered,
    FileDiscoveredPayload,
    FileInfo,
    FileModified,
    FileModifiedPayload,
    FileMoved,
    FileMovedPayload,
)
from schemas.namespace import LIVE, Namespace
from streams.publishing.fileinfo import (
    is_audio,
    iter_audio_files,
    printable,
    read_file_info,
    utf8_name,
    walk_audio,
)
from streams.publishing.priority import PriorityChoice, priority_for
from streams.publishing.publisher import Via, open_sink, send_traced
from streams.publishing.sinks import EventTooLarge, Sink
from streams.tags import ours
from streams.watcher.debounce import Debouncer

log = get_logger("watcher")
# (file_id, new content hash) -> did our tag writer produce exactly these bytes?
OursCheck = Callable[[str, str], Awaitable[bool]]


# A publish that fails (the broker restarting, down) is retried, 0.5 s doubling to 30 s.
PUBLISH_RETRY_FIRST_S = 0.5
PUBLISH_RETRY_MAX_S = 30.0
# (kind, path, destination of a move or "") as the observer thread hands them over.
Notification = tuple[str, str, str]
# A directory's own deletion, which is also what a directory moved out of the library (or
# to the desktop's trash) looks like: no event comes for the files inside it.
DIR_DELETED = "dir_deleted"


class _Handler(FileSystemEventHandler):
    def __init__(self, loop: asyncio.AbstractEventLoop,
                 queue: asyncio.Queue[Notification]) -> None:
        self._loop, self._queue = loop, queue

    def on_any_event(self, event: FileSystemEvent) -> None:
        kind = event.event_type
        if event.is_directory:
            # A directory moved within the library comes with a move of each file in it, one
            # created from outside with a creation of each; only a deletion needs the tree.
            if kind != "deleted":
                return
            kind = DIR_DELETED
        elif kind not in ("created", "modified", "moved", "deleted", "closed"):
            return
        dest = str(getattr(event, "dest_path", "") or "")
        self._loop.call_soon_threadsafe(self._queue.put_nowait,
                                        (kind, str(event.src_path), dest))


def _log_skipped(folder: Path, reason: str) -> None:
    log.warning("watch_skipped_folder", path=printable(folder), reason=reason,
                hint="its files are not watched")


def _is_linked_folder(path: Path) -> bool:
    return path.is_symlink() and path.is_dir()


class LibraryWatcher:
    def __init__(self, roots: list[Path], sink: Sink, correlation_id: str,
                 priority: PriorityChoice = "auto", settle_s: float = 2.0,
                 ours_check: OursCheck | None = None) -> None:
        self.roots = [r.resolve() for r in roots]
        self._sink = sink
        self._cid = correlation_id
        self._priority = priority
        self._debouncer = Debouncer(settle_s)
        self._known: dict[str, str] = {}  # path -> content hash, to tell new from modified
        self._ours_check = ours_check
        self.published = 0
        self.own_writes = 0  # modifications recognised as our tag writes (not published)
        # Files still settling when the watcher stopped: not published, and the next start
        # indexes them as already known, so whoever stopped it must be told (run_watcher).
        self.unsettled: list[str] = []
        # Links to folders under the roots, each watched on its own; `watch_folder(path, on)`
        # (set by run_watcher) adds or removes such a watch.
        self.linked: set[str] = set()
        # Set when the watcher is told to stop: a publish being retried then gives up, and
        # what it could not publish is in `unpublished` (event type, path) for the report.
        self.stopping = asyncio.Event()
        self.unpublished: list[tuple[str, str]] = []
        self.watch_folder: Callable[[Path, bool], None] | None = None

    def index_existing(self) -> int:
        """Remember what is already there, so a later change is a modification, not new.

        Linked folders found on the way are watched at once (`_linked_found`)."""
        for root, path in iter_audio_files(self.roots, _log_skipped, self._linked_found):
            try:
                self._known[str(path)] = read_file_info(root, path).content_hash
            except OSError:
                continue
        return len(self._known)

    def _linked_found(self, folder: Path) -> None:
        # inotify does not follow a link to a folder: its changes come from a watch of its own,
        # under the link's path (so the files keep their ids in the library).
        self.linked.add(str(folder))
        if self.watch_folder is not None:
            self.watch_folder(folder, True)

    async def _link_added(self, folder: Path) -> None:
        """A link to a folder made (or moved) into the library while watching: watch it, and
        its audio files are new (published once they settle, like copied ones)."""
        self._linked_found(folder)
        found = await asyncio.to_thread(
            lambda: list(walk_audio(folder, _log_skipped, self._linked_found)))
        now = time.monotonic()
        for path in found:
            if str(path) not in self._known:
                self._debouncer.touch(str(path), now)

    async def _link_removed(self, folder: Path) -> None:
        """The link itself deleted (or moved out): its files left the library with it."""
        for link in sorted(p for p in self.linked if Path(p).is_relative_to(folder)):
            self.linked.discard(link)
            if self.watch_folder is not None:
                self.watch_folder(Path(link), False)
        await self._deleted_tree(folder)

    async def _read(self, path: Path) -> FileInfo:
        """Hash and tag-read in a thread: a settled album is seconds of reading, a linked
        drive minutes, and on the event loop that would starve the sink's heartbeats."""
        return await asyncio.to_thread(read_file_info, self._root_of(path), path)

    def pending(self) -> list[str]:
        """Paths changed recently and not yet settled (so not published yet)."""
        return self._debouncer.pending()

    def _root_of(self, path: Path) -> Path:
        return max((r for r in self.roots if path.is_relative_to(r)), key=lambda r: len(r.parts))

    async def _emit(self, event: Event) -> None:
        """Publish, retrying while the broker is away (a restart, an outage) until `stopping`.

        The watcher's memory is the only record of a change it saw: if it ended on the error
        (it did), the next start indexed the file as known and never published it."""
        delay = PUBLISH_RETRY_FIRST_S
        while True:
            try:
                await send_traced(self._sink, event)
                await self._sink.flush()
                break
            except EventTooLarge as exc:  # the same bytes can never go: say so, go on
                self._not_published(event, str(exc))
                return
            except Exception as exc:
                if self.stopping.is_set():
                    self._not_published(event, f"{type(exc).__name__}: {exc}")
                    return
                log.warning("watch_publish_retrying", event_type=event.event_type,
                            file_id=event.file_id, error=f"{type(exc).__name__}: {exc}",
                            retry_in_s=delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), delay)
                delay = min(delay * 2, PUBLISH_RETRY_MAX_S)
        self.published += 1
        log.info("watch_published", event_type=event.event_type, file_id=event.file_id)

    def _not_published(self, event: Event, error: str) -> None:
        path = str(getattr(event.payload, "path", None) or event.payload.file.path)  # type: ignore[attr-defined]
        self.unpublished.append((event.event_type, path))
        log.error("watch_not_published", event_type=event.event_type, path=printable(path),
                  error=error)

    def _common(self, path: Path, size: int) -> dict[str, Any]:
        root = self._root_of(path)
        return {"file_id": file_id_for(str(root), path.relative_to(root).as_posix()),
                "correlation_id": self._cid, "priority": priority_for(size, self._priority)}

    async def handle(self, kind: str, src: str, dest: str) -> None:
        now = time.monotonic()
        # A link is not a directory to inotify: its creation, move and deletion come as a
        # file's, and only the paths tell that a folder of tracks came or went with it.
        if kind in ("deleted", "moved") and src in self.linked:
            await self._link_removed(Path(src))
            if kind == "moved" and _is_linked_folder(Path(dest)):
                await self._link_added(Path(dest))
            return
        if kind in ("created", "moved") and _is_linked_folder(Path(dest or src)):
            await self._link_added(Path(dest or src))
            return
        if kind == "moved":
            await self._moved(Path(src), Path(dest))
        elif kind == DIR_DELETED:
            await self._deleted_tree(Path(src))
        elif kind == "deleted" and is_audio(Path(src)):
            self._debouncer.forget(src)
            await self._deleted(Path(src))
        elif kind in ("created", "modified", "closed") and is_audio(Path(src)):
            self._debouncer.touch(src, now)

    async def _deleted(self, path: Path) -> None:
        if not utf8_name(path):
            return  # never published (read_file_info refuses such names): nothing to delete
        root = self._root_of(path)
        self._known.pop(str(path), None)
        payload = FileDeletedPayload(path=str(path), library_root=str(root),
                                     relative_path=path.relative_to(root).as_posix())
        await self._emit(FileDeleted.create(**self._common(path, 0), payload=payload))

    async def _deleted_tree(self, directory: Path) -> None:
        """Every known file under a directory that went away (deleted, or moved out of the
        library) is deleted; files still settling there are forgotten. After `rm -r` the
        files' own deletions came first, so nothing is left to publish twice.

        A library root that goes away as a whole (renamed, moved) deletes nothing: that is
        far likelier a mistake or a relocation than an emptied library, and one event must
        not wipe every track from the read models. (Unplugging a drive sends no events.)"""
        if any(root.is_relative_to(directory) for root in self.roots):
            log.error("watch_root_gone", directory=str(directory),
                      known=sum(Path(p).is_relative_to(directory) for p in self._known),
                      hint="nothing is deleted; restart the watcher on the library's new place")
            return
        for path in self._debouncer.pending():
            if Path(path).is_relative_to(directory):
                self._debouncer.forget(path)
        for path in sorted(p for p in self._known if Path(p).is_relative_to(directory)):
            await self._deleted(Path(path))

    async def _moved(self, src: Path, dest: Path) -> None:
        self._debouncer.forget(str(src))
        if not is_audio(dest):
            if is_audio(src):
                await self._deleted(src)
            return
        if not is_audio(src) or str(src) not in self._known:
            # e.g. a downloader renaming "x.part" to "x.mp3": complete, but new to us
            self._debouncer.touch(str(dest), 0.0)
            return
        try:
            info = await self._read(dest)
        except OSError as exc:
            # Moved on again already (the next move is queued), or renamed to a name that
            # cannot be published: the track at `src` is gone either way. `dest` waits in
            # the debouncer, to be discovered if it settles there or reported as unreadable.
            log.info("watch_move_unreadable", path=printable(dest), error=str(exc))
            await self._deleted(src)
            self._debouncer.touch(str(dest), time.monotonic())
            return
        old_root = self._root_of(src)
        previous = file_id_for(str(old_root), src.relative_to(old_root).as_posix())
        self._known.pop(str(src), None)
        self._known[str(dest)] = info.content_hash
        await self._emit(FileMoved.create(**self._common(dest, info.size), payload=FileMovedPayload(
            file=info, previous_file_id=previous, previous_path=str(src))))

    async def flush_settled(self) -> None:
        pending = self._debouncer.pending()
        sizes: dict[str, int | None] = {}
        for p in pending:
            try:
                sizes[p] = Path(p).stat().st_size
            except OSError:
                sizes[p] = None
        for p in self._debouncer.due(time.monotonic(), sizes):
            path = Path(p)
            try:
                info = await self._read(path)
            except OSError as exc:
                log.warning("watch_unreadable", path=printable(p), error=str(exc))
                continue
            previous = self._known.get(p)
            if previous == info.content_hash:
                continue  # touched but unchanged bytes: nothing to analyse
            self._known[p] = info.content_hash
            common = self._common(path, info.size)
            if previous is not None and await self._is_our_write(common["file_id"],
                                                                 info.content_hash):
                self.own_writes += 1
                log.debug("watch_own_tag_write", path=p, content_hash=info.content_hash)
                continue
            event: Event = (FileDiscovered.create(**common,
                                                  payload=FileDiscoveredPayload(file=info))
                            if previous is None else
                            FileModified.create(**common, payload=FileModifiedPayload(
                                file=info, previous_hash=previous)))
            await self._emit(event)

    async def _is_our_write(self, file_id: str, content_hash: str) -> bool:
        if self._ours_check is None:
            return False
        try:
            return await self._ours_check(file_id, content_hash)
        except Exception as exc:  # Redis down: publish; at worst a re-analysis (a cache hit)
            log.warning("watch_own_write_check_failed", error=repr(exc))
            return False


async def watch_library(roots: list[Path], settings: Settings, *, via: Via = "rabbitmq",
                        ns: Namespace = LIVE, priority: PriorityChoice = "auto",
                        settle_s: float = 2.0, stop: asyncio.Event | None = None,
                        correlation_id: str | None = None,
                        ready: asyncio.Event | None = None) -> LibraryWatcher:
    """Watch `roots` until `stop` is set; returns the watcher (for its counters). `ready` is
    set once the existing files are indexed and every later change will be seen."""
    sink = await open_sink(settings, via, ns)
    redis = connect(settings.redis_url)

    async def our_write(file_id: str, content_hash: str) -> bool:
        return await ours.is_ours(redis, ns.redis_prefix, file_id, content_hash)

    watcher = LibraryWatcher(roots, sink, correlation_id or new_id(), priority, settle_s,
                             our_write)
    try:
        await run_watcher(watcher, stop or asyncio.Event(), ready)
    finally:
        await sink.close()
        await redis.aclose()
    return watcher


async def run_watcher(watcher: LibraryWatcher, stop: asyncio.Event,
                      ready: asyncio.Event | None = None) -> None:
    """Observe, then index, then publish settled changes until `stop` is set.

    The observer starts before the index walk, which hashes every file and can take hours on
    a large library: a file added, changed or deleted during the walk (after the walk passed
    it) is then queued and published, where starting the observer after the walk lost it."""
    queue: asyncio.Queue[Notification] = asyncio.Queue()
    observer = Observer()
    handler = _Handler(asyncio.get_running_loop(), queue)
    for root in watcher.roots:
        observer.schedule(handler, str(root), recursive=True)
    links: dict[str, ObservedWatch] = {}

    def watch_folder(folder: Path, on: bool) -> None:  # from the index thread too: it locks
        if on and str(folder) not in links:
            links[str(folder)] = observer.schedule(handler, str(folder), recursive=True)
        elif not on and str(folder) in links:
            try:
                observer.unschedule(links.pop(str(folder)))
            except (KeyError, OSError):
                pass  # the kernel dropped the watch with the folder already

    watcher.watch_folder = watch_folder
    watcher.stopping = stop
    observer.start()
    try:
        # In a thread, so the event loop stays free meanwhile (the sink's RabbitMQ heartbeats;
        # a walk of a big library takes hours). Notifications wait in the queue until it ends.
        indexed = await asyncio.to_thread(watcher.index_existing)
        log.info("watch_started", roots=[str(r) for r in watcher.roots], indexed=indexed)
        if ready is not None:
            ready.set()
        while not stop.is_set():
            try:
                kind, src, dest = await asyncio.wait_for(queue.get(), timeout=0.25)
                await watcher.handle(kind, src, dest)
            except TimeoutError:
                pass
            await watcher.flush_settled()
    finally:
        observer.stop()
        observer.join(timeout=5)
        watcher.unsettled = [p for p in watcher.pending() if Path(p).exists()]
        if watcher.unsettled:
            log.warning("watch_stopped_unsettled", count=len(watcher.unsettled),
                        paths=watcher.unsettled[:20])
