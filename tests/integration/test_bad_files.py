"""The bad-file zoo through the real analysis worker: every file accounted for, none missing,
failures carry a reason and land in the dead-letter topic, good files still get analysed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from infra.corpus.bad_files import click_track, generate_bad_files
from infra.settings import Settings
from schemas.analysis_events import AnalysisCompleted, AnalysisFailed
from schemas.codec import decode
from schemas.envelope import file_id_for
from schemas.file_events import FileDiscovered, FileDiscoveredPayload, FileInfo
from schemas.namespace import Namespace
from streams.ops.worker_process import WorkerProcess
from streams.publishing.fileinfo import read_file_info
from streams.publishing.sinks import KafkaSink, event_headers
from tests.integration.kafka_utils import read_topic, wait_until

SERVICES = ("kafka", "redis")
# Permanent failures must say why; which reason is the analyser's call, but it must be one
# of these for each kind (a truncated mp3 may still decode what is left).
EXPECTED: dict[str, set[str]] = {
    "empty": {"empty"}, "random": {"not_audio", "corrupt", "unsupported"},
    "text": {"not_audio", "corrupt", "unsupported"}, "vanished": {"not_found"},
    "truncated": {"completed", "corrupt"}, "silent": {"silent"},
    "short": {"completed", "too_short"}, "long": {"completed"}, "good": {"completed"},
}


async def publish(settings: Settings, prefix: str, files: dict[str, Path]) -> dict[str, str]:
    """One FileDiscovered per file; returns file_id -> kind."""
    sink = KafkaSink(settings.kafka_bootstrap_servers, Namespace(prefix))
    await sink.start()
    ids: dict[str, str] = {}
    try:
        for kind, path in files.items():
            if path.exists():
                info = read_file_info(path.parent, path)
            else:  # deleted between the event and the analysis
                info = FileInfo(path=str(path), library_root=str(path.parent),
                                relative_path=path.name, size=1234, mtime=1.0,
                                content_hash=kind, format="mp3")
            fid = file_id_for(info.library_root, info.relative_path)
            ids[fid] = kind
            event = FileDiscovered.create(file_id=fid, correlation_id="bad-files",
                                          payload=FileDiscoveredPayload(file=info))
            await sink.send(event, event_headers(event, {}))
        await sink.flush()
    finally:
        await sink.close()
    return ids


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("zoo")
    files = generate_bad_files(root, long_seconds=7200.0)
    files["good"] = click_track(root / "good.mp3", 30.0, 44100, "128k")
    files["vanished"] = root / "vanished.mp3"
    return files


async def outcomes(settings: Settings, prefix: str, ids: dict[str, str], timeout_s: float,
                   worker: WorkerProcess) -> dict[str, str]:
    """kind -> "completed" or the failure reason, once every file has a result."""
    outcome: dict[str, str] = {}

    async def all_done() -> bool:
        records = await read_topic(settings.kafka_bootstrap_servers,
                                   Namespace(prefix).analysis_topic)
        for record in records:
            event = decode(record.value)
            if isinstance(event, AnalysisCompleted):
                outcome[event.file_id] = "completed"
            elif isinstance(event, AnalysisFailed):
                outcome[event.file_id] = event.payload.reason
        return set(outcome) >= set(ids)

    try:
        assert await wait_until(all_done, timeout_s, 1.0), \
            f"missing: {[ids[f] for f in set(ids) - set(outcome)]}"
        assert worker.alive(), "a bad file took the worker down"
    finally:
        worker.stop_quietly()
    return {ids[fid]: reason for fid, reason in outcome.items()}


async def test_every_bad_file_is_accounted_for(settings: Settings, prefix: str,
                                               zoo: dict[str, Path], tmp_path: Path) -> None:
    ids = await publish(settings, prefix, zoo)
    worker = WorkerProcess("analysis", prefix, tmp_path / "analysis.log",
                           env={"TRACKTION_TRACING": "off", "ANALYSIS_TIMEOUT": "300"})
    worker.start()
    by_kind = await outcomes(settings, prefix, ids, 600, worker)
    for kind, allowed in EXPECTED.items():
        assert by_kind[kind] in allowed, f"{kind}: got {by_kind[kind]}, expected {allowed}"
    await asyncio.sleep(0)
    dead = await read_topic(settings.kafka_bootstrap_servers, Namespace(prefix).deadletter_topic)
    dead_reasons = sorted(r.headers["deadletter_reason"].decode().split(":")[0] for r in dead)
    failed = sorted(r for r in by_kind.values() if r != "completed")
    assert dead_reasons == failed


async def test_a_stuck_analysis_times_out_without_blocking_others(
        settings: Settings, prefix: str, zoo: dict[str, Path], tmp_path: Path) -> None:
    ids = await publish(settings, prefix, {k: zoo[k] for k in ("long", "good", "short")})
    worker = WorkerProcess("analysis", prefix, tmp_path / "analysis.log",
                           env={"TRACKTION_TRACING": "off", "ANALYSIS_TIMEOUT": "1.5",
                                "ANALYSIS_MAX_WORKERS": "1"})
    worker.start()
    by_kind = await outcomes(settings, prefix, ids, 180, worker)
    assert by_kind["long"] == "timeout"
    assert by_kind["good"] == "completed"  # the replaced worker carried on
