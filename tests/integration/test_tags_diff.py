"""`tracktion tags diff` against the real PostgreSQL and real files: what would change,
what is already right, and files that moved on from their analysis."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest
from typer.testing import CliRunner

from infra.settings import Settings
from projections.base import Positioned
from projections.postgres.apply import PostgresProjector
from projections.postgres.writer import PostgresWriter
from projections.redis.writer import connect, delete_prefix
from projections.tags.apply import TagsProjector
from projections.tags.writer import TagsWriter
from schemas.analysis_events import AnalysisCompleted, AnalysisCompletedPayload
from schemas.codec import AnyEvent
from schemas.file_events import FileDiscovered, FileDiscoveredPayload
from streams.cli.main import app
from streams.publishing.fileinfo import read_file_info
from streams.tags import files
from streams.tags.values import tag_values
from tests.unit.schemas.samples import FEATURES

SERVICES = ("postgres", "redis")

pytestmark = pytest.mark.integration
CODECS = {"mp3": ["-c:a", "libmp3lame"], "flac": ["-c:a", "flac"], "opus": ["-c:a", "libopus"],
          "wav": ["-c:a", "pcm_s16le"]}


def make(path: Path, frequency: int = 440) -> Path:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"sine=frequency={frequency}:duration=2",
                    *CODECS[path.suffix.lstrip(".")], str(path)], check=True)
    return path


def analysed(root: Path, path: Path, i: int) -> list[AnyEvent]:
    info = read_file_info(root, path)
    return [FileDiscovered.create(file_id=f"f{i}", correlation_id="c",
                                  payload=FileDiscoveredPayload(file=info)),
            AnalysisCompleted.create(file_id=f"f{i}", correlation_id="c",
                                     payload=AnalysisCompletedPayload(
                                         analysis_id=f"a{i}", path=info.path,
                                         content_hash=info.content_hash,
                                         features=msgspec.structs.replace(FEATURES),
                                         processing_ms=1.0))]


@pytest.fixture
async def library(settings: Settings, uid: str, tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    root = tmp_path / "lib & co"
    root.mkdir()
    tagged = make(root / "already tagged.flac")
    files.write_tags(tagged, tag_values(FEATURES.bpm, FEATURES.key, FEATURES.scale,
                                        FEATURES.camelot, FEATURES.open_key,
                                        FEATURES.replay_gain_db, FEATURES.peak_dbfs,
                                        FEATURES.loudness_lufs))
    paths = [make(root / "plain ü.mp3"), make(root / "plain.opus"), tagged,
             make(root / "changed.flac"), make(root / "gone.mp3"), make(root / "pcm.wav")]
    events = [e for i, p in enumerate(paths) for e in analysed(root, p, i)]
    schema = f"t_{uid}_tags"
    writer = PostgresWriter(settings, schema)
    await writer.setup()
    await writer.write("postgres", PostgresProjector().apply(
        [Positioned(e, "t", 0, i) for i, e in enumerate(events)]), {})
    await writer.close()
    make(root / "changed.flac", frequency=880)  # new audio since the analysis
    (root / "gone.mp3").unlink()
    yield schema, root
    conn = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await conn.close()


def diff(schema: str, *options: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["tags", "diff", "--schema", schema, "--json", "--all",
                                      *options])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_diff_reports_each_file_and_writes_nothing(library: tuple[str, Path]) -> None:
    schema, root = library
    before = {p.name: p.read_bytes() for p in root.iterdir()}
    report = diff(schema)
    status = {Path(f["path"]).name: f["status"] for f in report["files"]}
    assert status == {"plain ü.mp3": "would_change", "plain.opus": "would_change",
                      "already tagged.flac": "up_to_date", "changed.flac": "content_changed",
                      "gone.mp3": "missing", "pcm.wav": "unsupported"}
    assert report["counts"]["would_change"] == 2
    mp3 = next(f for f in report["files"] if f["path"].endswith("plain ü.mp3"))
    assert mp3["changes"]["bpm"] == {"from": None, "to": "124"}
    assert mp3["changes"]["key"] == {"from": None, "to": "Am"}
    assert mp3["changes"]["replaygain_track_gain"]["to"] == "-9.10 dB"
    opus = next(f for f in report["files"] if f["path"].endswith("plain.opus"))
    assert "r128_track_gain" in opus["changes"] and "replaygain_track_gain" not in opus["changes"]
    assert {p.name: p.read_bytes() for p in root.iterdir()} == before  # nothing written
    camelot = diff(schema, "--notation", "camelot")
    tagged = next(f for f in camelot["files"] if f["path"].endswith("already tagged.flac"))
    assert tagged["status"] == "would_change"
    assert tagged["changes"] == {"key": {"from": "Am", "to": "8A"}}


def test_files_tagged_by_the_tags_role_count_as_the_analysed_audio(
        library: tuple[str, Path], settings: Settings, uid: str) -> None:
    schema, root = library
    prefix = f"td{uid}"
    names = ("plain ü.mp3", "plain.opus")
    completed = [analysed(root, root / name, i)[1] for i, name in enumerate(names)]

    async def tag_them() -> None:
        writer = TagsWriter(connect(settings.redis_url), f"{prefix}:")
        try:
            await writer.write("tags", TagsProjector().apply(
                [Positioned(e, "t", 0, i) for i, e in enumerate(completed)]), {})
        finally:
            await writer.close()

    async def forget() -> None:
        redis = connect(settings.redis_url)
        try:
            await delete_prefix(redis, f"{prefix}:")
        finally:
            await redis.aclose()

    asyncio.run(tag_them())
    try:
        status = {Path(f["path"]).name: f["status"]
                  for f in diff(schema, "--prefix", prefix)["files"]}
        assert [status[n] for n in names] == ["up_to_date", "up_to_date"]
        # Without the record of our writes, the new bytes look like someone else's edit.
        status = {Path(f["path"]).name: f["status"] for f in diff(schema)["files"]}
        assert [status[n] for n in names] == ["content_changed", "content_changed"]
    finally:
        asyncio.run(forget())
