"""Duplicates end to end: rendered tracks encoded four ways, analysed and fingerprinted by
the real analysis pool through the agent's handler, projected into the real PostgreSQL,
grouped by `tracktion query duplicates`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from typer.testing import CliRunner

from infra.corpus.duplicates import generate_duplicate_sets
from infra.settings import Settings
from projections.base import Positioned
from projections.postgres.apply import PostgresProjector
from projections.postgres.writer import PostgresWriter
from schemas.analysis_events import AnalysisCompleted
from schemas.codec import decode, encode
from schemas.file_events import FileDiscovered, FileDiscoveredPayload
from schemas.namespace import Namespace
from streams.agents.cache import ResultCache
from streams.agents.handler import AnalysisHandler
from streams.cli.main import app
from streams.pool.pool import AnalysisPool
from streams.publishing.fileinfo import read_file_info

SERVICES = ("postgres",)

pytestmark = pytest.mark.integration


async def analyse(paths: list[Path], root: Path) -> list[AnalysisCompleted]:
    """What the analysis agent emits for these files (real pool children, no Kafka)."""
    sent: list[bytes] = []

    async def emit(topic: str, key: bytes | None, value: bytes, headers: Any) -> Any:
        sent.append(value)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    pool = AnalysisPool(max_workers=2, timeout_s=300, max_memory_mb=2000)
    pool.start()
    try:
        handler = AnalysisHandler(pool, ResultCache(1), emit, Namespace("t"), 2)
        events = [FileDiscovered.create(file_id=f"f{i}", correlation_id="dup",
                                        payload=FileDiscoveredPayload(
                                            file=read_file_info(root, p)))
                  for i, p in enumerate(paths)]
        await asyncio.gather(*(handler.handle(encode(e), None) for e in events))
    finally:
        await pool.close()
    decoded = [decode(v) for v in sent]
    return [e for e in decoded if isinstance(e, AnalysisCompleted)]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    root = tmp_path_factory.mktemp("dups")
    return root, generate_duplicate_sets(root, originals=2, seconds=20.0, seed=5)


@pytest.fixture
async def schema(settings: Settings, uid: str) -> AsyncIterator[str]:
    name = f"t_{uid}_dups"
    yield name
    conn = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    finally:
        await conn.close()


@pytest.fixture
async def projected(settings: Settings, schema: str,
                    corpus: tuple[Path, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The corpus analysed (fingerprints included) and projected into `schema`."""
    root, labels = corpus
    assert len(labels) == 12  # 2 recordings x 4 encodings, 2 decoys x 2
    completed = await analyse([Path(label["path"]) for label in labels], root)
    assert len(completed) == 12
    assert all(e.payload.features.fingerprint for e in completed)
    writer = PostgresWriter(settings, schema)
    await writer.setup()
    batch = [Positioned(e, "t", 0, i) for i, e in enumerate(completed)]
    await writer.write("postgres", PostgresProjector().apply(batch), {})
    await writer.close()
    return labels


def test_the_same_recording_groups_and_lookalikes_do_not(
        schema: str, projected: list[dict[str, Any]]) -> None:
    labels = projected
    result = CliRunner().invoke(app, ["query", "duplicates", "--schema", schema, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["tracks_with_fingerprint"] == 12
    group_of = {label["path"]: label["group"] for label in labels}
    variant_of = {label["path"]: label["variant"] for label in labels}
    found = sorted(sorted(c["path"] for c in g["copies"]) for g in report["groups"])
    expected: dict[str, list[str]] = {}
    for label in labels:
        expected.setdefault(label["group"], []).append(label["path"])
    assert found == sorted(sorted(paths) for paths in expected.values())
    for group in report["groups"]:
        assert len({group_of[c["path"]] for c in group["copies"]}) == 1
        variants = [variant_of[c["path"]] for c in group["copies"]]
        assert variants[0] == "flac" and group["keep"] == group["copies"][0]["path"]
        if len(variants) == 4:  # lossless, then by bit rate: 320k before 128k
            assert variants.index("mp3_320") < variants.index("mp3_128")
        assert all(c["similarity"] >= report["threshold"] for c in group["copies"])

    table = CliRunner().invoke(app, ["query", "duplicates", "--schema", schema])
    assert table.exit_code == 0 and "4 group(s)" in table.stdout and "keep" in table.stdout
    strict = CliRunner().invoke(app, ["query", "duplicates", "--schema", schema, "--json",
                                      "--threshold", "1.0"])
    assert len(json.loads(strict.stdout)["groups"]) < 4  # lossy copies differ in some bits
