"""Upgrading the analyser as a deployment would: the analysis worker runs with
ANALYZER_VERSION=1, is restarted with ANALYZER_VERSION=2 (environment only, no code edit),
and `tracktion reanalyse --where "analyzer_version < 2"` re-analyses exactly the tracks
whose current analysis is version 1. PostgreSQL keeps every analysis as history; its tracks
table and the Neo4j graph move to the new results.

The same code gives the same key and BPM at both versions, so to see the read models
*move*, some files also get the result an older analyser gave them: AnalysisCompleted
events of schema v1 (no tuning, written to the analysis topic as a v1 worker would have
written them) with a key a tritone away and double the tempo. They are the current
analysis of those files when the upgrade starts; afterwards the v2 results must have
replaced them everywhere.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from neo4j import AsyncGraphDatabase

from infra.settings import Settings
from projections.neo4j.apply import tempo_bucket
from schemas import headers as h
from schemas.codec import decode
from schemas.envelope import PRIORITIES, new_id, utcnow
from schemas.file_events import AnalysisRequested
from schemas.namespace import Namespace
from streams.analysis.notation import KEYS, camelot, open_key
from streams.ops.worker_process import WorkerProcess
from streams.publishing.fileinfo import is_audio
from streams.publishing.publisher import Via, publish_paths
from tests.e2e.support import free_port, generated_corpus
from tests.e2e.test_reanalysis import reanalyse, run_batch, tracks_when
from tests.integration.kafka_utils import read_topic, wait_until

PARTITIONS = 6  # the prefix fixture creates this many per topic
OLD, NEW, LEGACY = 8, 4, 4  # files analysed at v1, added at v2; v1 files with legacy results
PUBLISH_VIA: Via = "kafka"  # the bridge is not what this test is about: no bridge process


@pytest.fixture
def corpus_files() -> list[Path]:
    corpus = generated_corpus("reanalyse12", OLD + NEW, seconds=6.0)
    files = sorted(p for p in corpus.iterdir() if is_audio(p))
    assert len(files) == OLD + NEW
    return files


@contextmanager
def worker(role: str, prefix: str, log: Path, settings: Settings,
           **env: str) -> Iterator[WorkerProcess]:
    """A worker process configured only through its environment; it must exit cleanly."""
    process = WorkerProcess(role, prefix, log, env={"ANALYSIS_MAX_WORKERS": "1", **env},
                            port=free_port())
    process.start()
    try:
        yield process
    finally:
        code = process.terminate(timeout=settings.shutdown_timeout + 30)
        process.stop_quietly()
    assert code == 0, f"{role} worker exit code {code}; see {log}"


def stamped_versions(log: Path) -> list[int]:
    """The analyzer_version each start of an analysis role announced in its JSON log."""
    versions = []
    for line in log.read_text().splitlines():
        if line.startswith("{") and '"analysis_role_started"' in line:
            versions.append(json.loads(line)["analyzer_version"])
    return versions


async def publish_and_wait(settings: Settings, prefix: str, paths: list[Path],
                           files: int) -> None:
    cid = new_id()
    result = await publish_paths(paths, settings, via=PUBLISH_VIA, ns=Namespace(prefix),
                                 correlation_id=cid)
    assert result.published == result.files == files, result
    await run_batch(settings, prefix, cid, files)


async def analyses(settings: Settings, schema: str) -> dict[str, list[dict[str, Any]]]:
    """file_id -> its analyses rows, oldest first."""
    conn = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
    try:
        rows = await conn.fetch(f"SELECT * FROM {schema}.analyses ORDER BY occurred_at, "
                                f"event_id")
    finally:
        await conn.close()
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(row["file_id"], []).append(dict(row))
    return out


async def graph_tracks(settings: Settings, ns: str) -> dict[str, dict[str, Any]]:
    """file_id -> Track properties plus the Key / TempoBucket nodes it points at."""
    driver = AsyncGraphDatabase.driver(settings.neo4j_uri,
                                       auth=(settings.neo4j_user, settings.neo4j_password))
    try:
        records, _, _ = await driver.execute_query(
            "MATCH (t:Track {ns: $ns}) "
            "OPTIONAL MATCH (t)-[:IN_KEY]->(k:Key) "
            "OPTIONAL MATCH (t)-[:IN_TEMPO]->(b:TempoBucket) "
            "RETURN t {.*} AS track, collect(DISTINCT k.camelot) AS keys, "
            "collect(DISTINCT b.bpm_floor) AS tempos", ns=ns)
    finally:
        await driver.close()
    return {r["track"]["file_id"]: {**r["track"], "in_key": sorted(r["keys"]),
                                    "in_tempo": sorted(r["tempos"])} for r in records}


def legacy_result(track: dict[str, Any], analysis: dict[str, Any]) -> bytes:
    """What an older analyser said about this file, as the v1 worker wrote it: schema v1
    (no `tuning_cents`), analyzer_version 1, a key a tritone away and double the tempo."""
    key = KEYS[(KEYS.index(analysis["key"]) + 6) % 12]
    scale = analysis["scale"]
    features = {name: analysis[name] for name in (
        "duration_s", "sample_rate", "channels", "codec", "bit_rate", "beats_count",
        "bpm_confidence", "key_strength", "loudness_lufs", "loudness_range_lu", "peak_dbfs",
        "replay_gain_db", "danceability", "energy", "arousal", "valence", "mood")}
    features.update(bpm=round(analysis["bpm"] * 2, 2), key=key, scale=scale,
                    camelot=camelot(key, scale), open_key=open_key(key, scale),
                    analyzer_version=1)
    return json.dumps({
        "event_type": "AnalysisCompleted", "schema_version": 1, "event_id": new_id(),
        "occurred_at": utcnow().isoformat().replace("+00:00", "Z"),
        "file_id": track["file_id"], "correlation_id": new_id(), "causation_id": None,
        "priority": "normal",
        "payload": {"analysis_id": new_id(), "path": track["path"],
                    "content_hash": track["content_hash"], "features": features,
                    "processing_ms": 500.0, "cached": False, "worker": "legacy-host:1"},
    }).encode()


async def send_legacy_results(settings: Settings, prefix: str, values: list[bytes]) -> None:
    """Onto the analysis topic, keyed by file id with the id headers, as the agent sends."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all",
                                enable_idempotence=True)
    await producer.start()
    try:
        for value in values:
            raw = json.loads(value)
            headers = {h.EVENT_ID: raw["event_id"], h.EVENT_TYPE: raw["event_type"],
                       h.CORRELATION_ID: raw["correlation_id"], h.FILE_ID: raw["file_id"]}
            await producer.send_and_wait(Namespace(prefix).analysis_topic, value,
                                         key=raw["file_id"].encode(),
                                         headers=h.kafka_headers(headers))
    finally:
        await producer.stop()


async def requested_ids(settings: Settings, prefix: str, cid: str) -> list[str]:
    """File ids of the AnalysisRequested events of one re-analysis run, from the lanes."""
    ids: list[str] = []
    for lane in PRIORITIES:
        for record in await read_topic(settings.kafka_bootstrap_servers,
                                       Namespace(prefix).lane_topic(lane)):
            event = decode(record.value)
            if isinstance(event, AnalysisRequested) and event.correlation_id == cid:
                ids.append(event.file_id)
    return ids


async def graph_when(settings: Settings, ns: str, ready: Any) -> dict[str, dict[str, Any]]:
    graph: dict[str, dict[str, Any]] = {}

    async def check() -> bool:
        nonlocal graph
        graph = await graph_tracks(settings, ns)
        return bool(ready(graph))

    await wait_until(check, 60)
    return graph


async def test_upgrade_reanalyses_exactly_the_old_version(
        settings: Settings, prefix: str, corpus_files: list[Path], tmp_path: Path) -> None:
    library = tmp_path / "library"
    library.mkdir()
    old_files, new_files = corpus_files[:OLD], corpus_files[OLD:]
    for path in old_files:
        shutil.copyfile(path, library / path.name)
    logs = tmp_path

    with worker("projections", prefix, logs / "projections.log", settings):
        # --- the old deployment: ANALYZER_VERSION=1 (the code's constant is 2) ------------
        with worker("analysis", prefix, logs / "analysis-v1.log", settings,
                    ANALYZER_VERSION="1"):
            await publish_and_wait(settings, prefix, [library], OLD)
            v1 = await tracks_when(settings, prefix, lambda rows: len(rows) == OLD and all(
                r["status"] == "analysed" and r["analyses_rows"] == 1 for r in rows.values()))
        history = await analyses(settings, prefix)
        assert {a["analyzer_version"] for rows in history.values() for a in rows} == {1}
        assert stamped_versions(logs / "analysis-v1.log") == [1]
        old_ids = set(v1)

        # An older analyser's results for some of them: the current analysis at upgrade time.
        legacy_ids = sorted(old_ids)[:LEGACY]
        legacy = {fid: legacy_result(v1[fid], history[fid][0]) for fid in legacy_ids}
        await send_legacy_results(settings, prefix, list(legacy.values()))
        said = {fid: json.loads(v)["payload"] for fid, v in legacy.items()}
        before = await tracks_when(settings, prefix, lambda rows: all(
            rows[fid]["current_analysis_id"] == said[fid]["analysis_id"] for fid in legacy))
        for fid in legacy_ids:
            assert (before[fid]["camelot"], before[fid]["bpm"]) == (
                said[fid]["features"]["camelot"], said[fid]["features"]["bpm"])
            assert before[fid]["tuning_cents"] is None  # upcast from v1: not measured
        graph = await graph_when(settings, prefix, lambda g: all(
            g.get(fid, {}).get("in_key") == [said[fid]["features"]["camelot"]]
            for fid in legacy))
        for fid in legacy_ids:
            assert graph[fid]["in_key"] == [said[fid]["features"]["camelot"]], graph[fid]
            assert graph[fid]["in_tempo"] == [tempo_bucket(said[fid]["features"]["bpm"])]

        # --- the upgrade: same code, the analysis worker restarted with version 2 --------
        with worker("analysis", prefix, logs / "analysis-v2.log", settings,
                    ANALYZER_VERSION="2"):
            for path in new_files:
                shutil.copyfile(path, library / path.name)
            # Only the new files (a file argument's library root is its folder, as before):
            # publishing the folder again would analyse the old files at v2 by discovery.
            await publish_and_wait(settings, prefix, [library / p.name for p in new_files],
                                   NEW)
            added = await tracks_when(settings, prefix, lambda rows: len(rows) == OLD + NEW
                                      and all(r["status"] == "analysed" for r in rows.values()))
            new_ids = set(added) - old_ids
            assert len(new_ids) == NEW
            pre_reanalyse = {fid: added[fid]["current_analysis_id"] for fid in new_ids}

            dry = reanalyse(prefix, "--where", "analyzer_version < 2", "--dry-run")
            assert f"{OLD} file(s) would be re-analysed" in dry, dry
            out = reanalyse(prefix, "--where", "analyzer_version < 2")
            match = re.search(rf"re-analysis of {OLD} file\(s\); correlation id (\w+)", out)
            assert match, out
            requested = await requested_ids(settings, prefix, match.group(1))
            assert sorted(requested) == sorted(old_ids), "re-analysis requested other tracks"
            await run_batch(settings, prefix, match.group(1), OLD)
            after = await tracks_when(settings, prefix, lambda rows: all(
                r["analyses_rows"] == (3 if fid in legacy else 2 if fid in old_ids else 1)
                and r["status"] == "analysed" for fid, r in rows.items()))
            nothing_left = reanalyse(prefix, "--where", "analyzer_version < 2", "--dry-run")
            assert "0 file(s) would be re-analysed" in nothing_left, nothing_left

        assert stamped_versions(logs / "analysis-v2.log") == [2]
        history = await analyses(settings, prefix)
        graph = await graph_when(settings, prefix, lambda g: all(
            g.get(fid, {}).get("analyzer_version") == 2
            and g[fid].get("in_key") == [after[fid]["camelot"]] for fid in after))

    for fid in legacy_ids:
        old = said[fid]["features"]
        print(f"\n{Path(after[fid]['path']).name}: legacy v1 {old['camelot']} {old['bpm']} BPM "
              f"-> v2 {after[fid]['camelot']} {after[fid]['bpm']} BPM "
              f"(graph {graph[fid]['in_key']}, tempo {graph[fid]['in_tempo']})")
    assert_history(history, after, old_ids, legacy_ids, pre_reanalyse)
    assert_moved(after, graph, said)


def assert_history(history: dict[str, list[dict[str, Any]]], tracks: dict[str, dict[str, Any]],
                   old_ids: set[str], legacy_ids: list[str],
                   pre_reanalyse: dict[str, str]) -> None:
    """Every analysis is kept; the tracks row is the newest one, which is version 2."""
    for fid, track in tracks.items():
        versions = [a["analyzer_version"] for a in history[fid]]
        expected = [1, 1, 2] if fid in legacy_ids else [1, 2] if fid in old_ids else [2]
        assert versions == expected, (track["path"], versions)
        newest = history[fid][-1]
        assert track["current_analysis_id"] == newest["analysis_id"], track["path"]
        for column in ("bpm", "key", "scale", "camelot", "energy", "danceability",
                       "loudness_lufs", "bpm_confidence", "key_strength", "tuning_cents"):
            assert track[column] == newest[column], (track["path"], column)
        assert isinstance(newest["tuning_cents"], float)  # v2 events carry the measurement
        if fid in pre_reanalyse:  # added at v2: left alone by the re-analysis
            assert track["current_analysis_id"] == pre_reanalyse[fid]
    for fid in legacy_ids:
        assert history[fid][1]["worker"] == "legacy-host:1"
        assert history[fid][1]["tuning_cents"] is None


def assert_moved(tracks: dict[str, dict[str, Any]], graph: dict[str, dict[str, Any]],
                 said: dict[str, dict[str, Any]]) -> None:
    """PostgreSQL and Neo4j left the legacy key and tempo for the new analysis' ones."""
    for fid, legacy in said.items():
        old = legacy["features"]
        assert tracks[fid]["camelot"] != old["camelot"], "Postgres kept the legacy key"
        assert tracks[fid]["bpm"] != old["bpm"], "Postgres kept the legacy BPM"
        assert graph[fid]["in_key"] != [old["camelot"]], "Neo4j kept the legacy key"
        assert graph[fid]["in_tempo"] != [tempo_bucket(old["bpm"])], "Neo4j kept the tempo"
    for fid, track in tracks.items():
        node = graph[fid]
        assert (node["camelot"], node["bpm"], node["analyzer_version"]) == (
            track["camelot"], track["bpm"], 2), track["path"]
        assert (node.get("tuning_cents"), node["bpm_confidence"], node["key_strength"]) == (
            track["tuning_cents"], track["bpm_confidence"], track["key_strength"])
        assert node["in_key"] == [track["camelot"]], (track["path"], node["in_key"])
        assert node["in_tempo"] == [tempo_bucket(track["bpm"])], track["path"]
