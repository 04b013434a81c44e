"""The tags projection against real Kafka and Redis and real files: the latest analysis is
written, audio and other tags are kept, edited/missing/unsupported files are skipped with a
counter, and a replay from scratch writes nothing."""

from __future__ import annotations

from pathlib import Path

import mutagen
import pytest

from infra.settings import Settings
from projections.redis.writer import connect
from schemas.namespace import Namespace
from streams.ops.replay import replay_store
from streams.publishing.fileinfo import content_hash
from streams.tags import files, ours
from tests.integration.kafka_utils import produce_events
from tests.integration.tags_support import (
    completed,
    counter,
    file_id,
    make,
    project,
)
from tests.unit.schemas.samples import FEATURES
from tests.unit.tags.test_files import decoded, easy

SERVICES = ("kafka", "redis")
pytestmark = pytest.mark.integration


def skipped(reason: str) -> float:
    return counter("tags_skipped_total", reason=reason)


def state(root: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(root.iterdir())}


async def test_latest_analysis_written_foreign_files_skipped_replay_writes_nothing(
        settings: Settings, prefix: str, tmp_path: Path) -> None:
    root = tmp_path / "lib"
    root.mkdir()
    mp3, flac = make(root / "a ü.mp3"), make(root / "b.flac")
    edited, gone, wav = make(root / "edited.flac"), make(root / "gone.mp3"), make(root / "c.wav")
    audio = {p.name: decoded(p) for p in (mp3, flac)}
    others = {p.name: easy(p) for p in (mp3, flac)}
    events = [completed(root, flac, bpm=100.0), completed(root, mp3),
              completed(root, flac), completed(root, edited), completed(root, gone),
              completed(root, wav)]  # b.flac twice: the later analysis (124 BPM) wins
    song: object = mutagen.File(edited, easy=True)
    song.tags["title"] = ["Retitled by hand"]  # type: ignore[attr-defined]
    song.save()  # type: ignore[attr-defined]
    gone.unlink()
    redis = connect(settings.redis_url)
    cache = f"{prefix}:cache:v{FEATURES.analyzer_version}:"
    await redis.set(cache + events[1].payload.content_hash, "cached features of a ü.mp3")
    written = counter("tags_written_total")
    before = {r: skipped(r) for r in ("hash_mismatch", "missing", "unsupported")}
    await produce_events(settings.kafka_bootstrap_servers, prefix, events)

    assert await project(settings, prefix) == len(events)

    assert counter("tags_written_total") - written == 2
    assert {r: skipped(r) - before[r] for r in before} == {
        "hash_mismatch": 1, "missing": 1, "unsupported": 1}
    for path in (mp3, flac):
        tags = files.read_tags(path)
        assert (tags["bpm"], tags["key"], tags["replaygain_track_gain"]) == (
            "124", "Am", "-9.10 dB"), path.name
        assert decoded(path) == audio[path.name]  # not one sample changed
        assert easy(path) == others[path.name]  # every other tag kept
    assert files.read_tags(edited)["bpm"] is None  # someone else's audio/tags: left alone
    try:
        records = await ours.load(redis, f"{prefix}:", [file_id(root, mp3)])
        aliased = await redis.get(cache + content_hash(mp3))
    finally:
        await redis.aclose()
    assert records[file_id(root, mp3)].is_ours(content_hash(mp3))  # recorded as our write
    assert aliased == "cached features of a ü.mp3"  # a re-publish would be a cache hit
    assert not [p for p in root.iterdir() if p.name.endswith(".tags")]

    # `replay projections --only tags`: from offset 0, all applied again, nothing written.
    tagged = state(root)
    written = counter("tags_written_total")
    mismatched = skipped("hash_mismatch")
    assert (await replay_store(settings, Namespace(prefix), "tags")).events == len(events)
    assert counter("tags_written_total") == written
    assert skipped("hash_mismatch") - mismatched == 1  # our own bytes pass the hash check
    assert state(root) == tagged  # same bytes, same mtimes
