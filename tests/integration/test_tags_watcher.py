"""The watcher and the tags role together (real watcher on a temp library, real Kafka and
Redis): our tag writes publish nothing, so nothing is re-analysed; someone else's edit of
a file in the same library is still published."""

from __future__ import annotations

import asyncio
from pathlib import Path

import mutagen
import pytest

from infra.settings import Settings
from schemas.codec import decode
from schemas.envelope import PRIORITIES
from schemas.namespace import Namespace
from streams.tags import files
from streams.watcher.watcher import watch_library
from tests.integration.kafka_utils import produce_events, read_topic
from tests.integration.tags_support import (
    completed,
    make,
    project,
)

SERVICES = ("kafka", "redis")
pytestmark = pytest.mark.integration
SETTLE_S = 0.5


async def lane_events(settings: Settings, prefix: str) -> list[tuple[str, str]]:
    out = []
    for lane in PRIORITIES:
        for record in await read_topic(settings.kafka_bootstrap_servers,
                                       Namespace(prefix).lane_topic(lane)):
            event = decode(record.value)
            out.append((event.event_type, Path(event.payload.file.path).name))  # type: ignore[union-attr]
    return sorted(out)


async def test_our_tag_writes_are_not_published_as_modifications(
        settings: Settings, prefix: str, tmp_path: Path) -> None:
    root = tmp_path / "lib"
    (root / "sub").mkdir(parents=True)
    ours = [make(root / "a.mp3"), make(root / "sub" / "b.flac")]
    theirs = make(root / "c.flac")
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(watch_library([root], settings, via="kafka", ns=Namespace(prefix),
                                             settle_s=SETTLE_S, stop=stop, ready=ready))
    try:
        await asyncio.wait_for(ready.wait(), 60)  # indexed the existing files, observing
        await produce_events(settings.kafka_bootstrap_servers, prefix,
                             [completed(root, p) for p in ours])
        assert await project(settings, prefix) == 2
        assert all(files.read_tags(p)["bpm"] == "124" for p in ours)
        song: object = mutagen.File(theirs, easy=True)
        song.tags["title"] = ["Retitled by hand"]  # type: ignore[attr-defined]
        song.save()  # type: ignore[attr-defined]
        await asyncio.sleep(SETTLE_S * 8)  # well past settling: anything due was published
    finally:
        stop.set()
    watcher = await task
    assert watcher.own_writes == 2
    # Only the foreign edit was published: no FileModified (so no re-analysis) for ours.
    assert await lane_events(settings, prefix) == [("FileModified", "c.flac")]
    analyses = await read_topic(settings.kafka_bootstrap_servers, Namespace(prefix).analysis_topic)
    assert len(analyses) == 2  # just the two analyses we produced: none followed
