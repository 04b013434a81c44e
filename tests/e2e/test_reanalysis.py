"""`tracktion reanalyse`: every track gets a new current analysis while the old ones stay as
history, and a file whose bytes changed moves to its new key in Postgres and in the graph."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from neo4j import AsyncGraphDatabase

from infra.settings import Settings
from projections.redis.progress import wait_for_batch
from projections.redis.side_writes import record_expected_total
from projections.redis.writer import connect
from schemas.envelope import new_id
from schemas.namespace import Namespace
from streams.ops.worker_process import WorkerProcess
from streams.publishing.fileinfo import is_audio
from streams.publishing.publisher import publish_paths
from tests.e2e.support import free_port, generated_corpus
from tests.integration.kafka_utils import REPO, wait_until

PARTITIONS = 6  # the prefix fixture creates this many per topic
FILES = 12
TRACKTION = str(REPO / ".venv" / "bin" / "tracktion")


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A private copy of the corpus, so a test may overwrite files in place."""
    corpus = generated_corpus("reanalyse12", FILES, seconds=6.0)
    out = tmp_path / "library"
    out.mkdir()
    for path in sorted(corpus.iterdir()):
        if is_audio(path):
            shutil.copyfile(path, out / path.name)
    return out


def reanalyse(prefix: str, *args: str) -> str:
    """Run `tracktion reanalyse` as an operator would; its standard output."""
    done = subprocess.run([TRACKTION, "reanalyse", "--prefix", prefix, *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def run_batch(settings: Settings, prefix: str, cid: str, files: int) -> None:
    """Announce the batch size (as the publisher does) and wait until every file is done."""
    redis = connect(settings.redis_url)
    try:
        await record_expected_total(redis, f"{prefix}:", cid, files)
        done = await wait_for_batch(redis, f"{prefix}:", cid, timeout=300)
    finally:
        await redis.aclose()
    assert (done.total, done.succeeded, done.failed) == (files, files, 0)


async def reanalyse_and_wait(settings: Settings, prefix: str, files: int, *args: str) -> None:
    out = reanalyse(prefix, *args)
    match = re.search(rf"re-analysis of {files} file\(s\); correlation id (\w+)", out)
    assert match, out
    await run_batch(settings, prefix, match.group(1), files)


async def tracks_when(settings: Settings, schema: str, ready: Any) -> dict[str, dict[str, Any]]:
    """file_id -> track row (with its analyses count), polled until `ready(rows)` holds."""
    conn = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
    sql = (f"SELECT t.*, (SELECT count(*) FROM {schema}.analyses a "
           f"WHERE a.file_id = t.file_id) AS analyses_rows FROM {schema}.tracks t")
    rows: dict[str, dict[str, Any]] = {}
    try:
        async def check() -> bool:
            nonlocal rows
            rows = {r["file_id"]: dict(r) for r in await conn.fetch(sql)}
            return bool(ready(rows))

        assert await wait_until(check, 60), f"Postgres never settled: {list(rows.values())[:2]}"
    finally:
        await conn.close()
    return rows


async def analyses_ids(settings: Settings, schema: str) -> set[str]:
    conn = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
    try:
        return {r[0] for r in await conn.fetch(f"SELECT analysis_id FROM {schema}.analyses")}
    finally:
        await conn.close()


async def key_edges(settings: Settings, ns: str, file_id: str) -> list[str]:
    driver = AsyncGraphDatabase.driver(settings.neo4j_uri,
                                       auth=(settings.neo4j_user, settings.neo4j_password))
    try:
        records, _, _ = await driver.execute_query(
            "MATCH (t:Track {ns: $ns, file_id: $id})-[:IN_KEY]->(k:Key) "
            "RETURN k.camelot AS camelot", ns=ns, id=file_id)
    finally:
        await driver.close()
    return sorted(r["camelot"] for r in records)


def pick_key_change(tracks: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A (target, source) pair of tracks in different keys, of the same format if possible."""
    rows = sorted(tracks.values(), key=lambda r: r["path"])
    pairs = [(a, b) for a in rows for b in rows if a["camelot"] != b["camelot"]]
    assert pairs, "the corpus has a single key"
    same_format = [(a, b) for a, b in pairs if a["format"] == b["format"]]
    return (same_format or pairs)[0]


@asynccontextmanager
async def running_worker(settings: Settings, prefix: str, log: Path) -> AsyncIterator[None]:
    """`tracktion worker --role all`, which must shut down cleanly (exit 0) afterwards."""
    worker = WorkerProcess("all", prefix, log, port=free_port())
    worker.start()
    try:
        yield
    finally:
        code = worker.terminate(timeout=settings.shutdown_timeout + 30)
        worker.stop_quietly()
    assert code == 0, f"worker exit code {code}; see {log}"


async def analysed_library(settings: Settings, prefix: str, library: Path,
                           ) -> dict[str, dict[str, Any]]:
    """Publish the library, wait for it, and return the analysed tracks."""
    cid = new_id()
    result = await publish_paths([library], settings, via="rabbitmq", ns=Namespace(prefix),
                                 correlation_id=cid)
    assert result.published == result.files > 0, result.errors
    await run_batch(settings, prefix, cid, result.files)
    return await tracks_when(settings, prefix, lambda rows: len(rows) == result.files and all(
        r["status"] == "analysed" and r["analyses_rows"] == 1 for r in rows.values()))


async def test_reanalyse_supersedes_and_moves_keys(settings: Settings, prefix: str,
                                                   library: Path, tmp_path: Path) -> None:
    async with running_worker(settings, prefix, tmp_path / "worker.log"):
        first = await analysed_library(settings, prefix, library)
        old_ids = {r["current_analysis_id"] for r in first.values()}
        assert len(first) == FILES and len(old_ids) == FILES and None not in old_ids

        assert f"{FILES} file(s) would be re-analysed" in reanalyse(prefix, "--all", "--dry-run")
        await reanalyse_and_wait(settings, prefix, FILES, "--all")
        second = await tracks_when(settings, prefix, lambda rows: all(
            r["current_analysis_id"] not in old_ids and r["status"] == "analysed"
            for r in rows.values()))
        assert {r["analyses_rows"] for r in second.values()} == {2}  # history is kept
        new_ids = {r["current_analysis_id"] for r in second.values()}
        assert len(new_ids) == FILES and not new_ids & old_ids
        assert old_ids | new_ids == await analyses_ids(settings, prefix)

        target, source = pick_key_change(second)
        shutil.copyfile(source["path"], target["path"])
        await reanalyse_and_wait(settings, prefix, 1, "--file", target["path"])
        fid = target["file_id"]
        third = await tracks_when(settings, prefix, lambda rows: rows[fid][
            "current_analysis_id"] not in old_ids | new_ids)
        edges: list[str] = []

        async def graph_moved() -> bool:
            nonlocal edges
            edges = await key_edges(settings, prefix, fid)
            return edges == [source["camelot"]]

        graph_ok = await wait_until(graph_moved, 30)

    moved = third[fid]
    print(f"\n{target['path']}: {target['camelot']} -> {moved['camelot']} "
          f"(bytes of {source['camelot']}); graph edges {edges}")
    assert moved["camelot"] == source["camelot"], (target["camelot"], moved["camelot"])
    assert moved["analyses_rows"] == 3
    assert graph_ok, f"IN_KEY edges of {fid}: {edges}, want [{source['camelot']}]"
    others = {k: r["current_analysis_id"] for k, r in third.items() if k != fid}
    assert others == {k: r["current_analysis_id"] for k, r in second.items() if k != fid}


async def test_reanalysed_file_does_not_poison_the_result_cache(
        settings: Settings, prefix: str, library: Path, tmp_path: Path) -> None:
    """After a changed file is re-analysed, a copy of its *old* bytes gets its own key."""
    async with running_worker(settings, prefix, tmp_path / "worker.log"):
        tracks = await analysed_library(settings, prefix, library)
        target, source = pick_key_change(tracks)
        original = tmp_path / "original"
        shutil.copyfile(target["path"], original)
        shutil.copyfile(source["path"], target["path"])
        await reanalyse_and_wait(settings, prefix, 1, "--file", target["path"])
        restored = library / f"restored-{Path(target['path']).name}"
        shutil.copyfile(original, restored)
        cid = new_id()
        await publish_paths([restored], settings, ns=Namespace(prefix),
                            correlation_id=cid)
        await run_batch(settings, prefix, cid, 1)
        rows = await tracks_when(settings, prefix, lambda rows: any(
            r["path"] == str(restored) and r["status"] == "analysed" for r in rows.values()))
    (copy,) = [r for r in rows.values() if r["path"] == str(restored)]
    assert copy["content_hash"] == target["content_hash"]  # the very bytes analysed first
    assert copy["camelot"] == target["camelot"], (
        f"old bytes served the cached key {copy['camelot']} of the bytes that replaced them")
