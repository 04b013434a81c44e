"""Re-publishing an unchanged file is served from the result cache; --force re-analyses it."""

from __future__ import annotations

from pathlib import Path

from infra.corpus.bad_files import click_track
from infra.settings import Settings
from schemas.analysis_events import AnalysisCompleted
from schemas.codec import decode
from schemas.namespace import Namespace
from streams.ops.worker_process import WorkerProcess
from streams.publishing.publisher import publish_paths
from tests.integration.kafka_utils import read_topic, wait_until

SERVICES = ("kafka", "redis")


async def completed(settings: Settings, prefix: str) -> list[AnalysisCompleted]:
    records = await read_topic(settings.kafka_bootstrap_servers, Namespace(prefix).analysis_topic)
    events = [decode(r.value) for r in records]
    return sorted((e for e in events if isinstance(e, AnalysisCompleted)),
                  key=lambda e: e.occurred_at)


async def test_unchanged_file_is_not_reanalysed_unless_forced(settings: Settings, prefix: str,
                                                               tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    click_track(lib / "song.mp3", 12.0, 44100, "128k")
    worker = WorkerProcess("analysis", prefix, tmp_path / "analysis.log",
                           env={"TRACKTION_TRACING": "off"})
    worker.start()
    try:
        for n, force in enumerate((False, False, True), start=1):
            await publish_paths([lib], settings, via="kafka", ns=Namespace(prefix),
                                force=force)

            async def arrived(n: int = n) -> bool:
                return len(await completed(settings, prefix)) >= n

            assert await wait_until(arrived, 120), f"result {n} missing"
    finally:
        worker.stop_quietly()
    first, again, forced = await completed(settings, prefix)
    assert [first.payload.cached, again.payload.cached, forced.payload.cached] == \
        [False, True, False]
    assert again.payload.features == first.payload.features
    assert len({first.payload.analysis_id, again.payload.analysis_id,
                forced.payload.analysis_id}) == 3
