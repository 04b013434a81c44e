"""A file moved before its discovery's turn (a tagger renaming an import at once, a worker
hours behind) is analysed at its new path, by the real analysis worker on the real Kafka.
Before, moves were not analysed: the discovery failed with not_found at the old path, and
the moved track inherited that failure for ever."""

from __future__ import annotations

from pathlib import Path

from infra.corpus.bad_files import click_track
from infra.settings import Settings
from schemas.analysis_events import AnalysisCompleted, AnalysisFailed
from schemas.codec import decode
from schemas.envelope import file_id_for
from schemas.file_events import FileMoved, FileMovedPayload
from schemas.namespace import Namespace
from streams.ops.worker_process import WorkerProcess
from streams.publishing.fileinfo import read_file_info
from streams.publishing.publisher import open_sink, publish_paths, send_traced
from tests.integration.kafka_utils import read_topic, wait_until

SERVICES = ("kafka", "redis")


async def test_a_file_moved_before_its_analysis_is_analysed_at_its_new_place(
        settings: Settings, prefix: str, tmp_path: Path) -> None:
    ns = Namespace(prefix)
    lib = (tmp_path / "lib").resolve()
    lib.mkdir()
    click_track(lib / "import.mp3", 8.0, 44100, "128k")
    # No worker yet: the discovery waits in its lane, as behind a backlog.
    await publish_paths([lib], settings, via="kafka", ns=ns)
    (lib / "sorted").mkdir()
    (lib / "import.mp3").rename(lib / "sorted" / "track.mp3")
    info = read_file_info(lib, lib / "sorted" / "track.mp3")
    old_id, new_id = file_id_for(str(lib), "import.mp3"), file_id_for(str(lib), info.relative_path)
    sink = await open_sink(settings, "kafka", ns)
    try:  # what tracktion watch publishes for the rename
        await send_traced(sink, FileMoved.create(
            file_id=new_id, correlation_id="watch", priority="high",
            payload=FileMovedPayload(file=info, previous_file_id=old_id,
                                     previous_path=str(lib / "import.mp3"))))
        await sink.flush()
    finally:
        await sink.close()

    async def outcomes() -> dict[str, str]:
        records = await read_topic(settings.kafka_bootstrap_servers, ns.analysis_topic)
        events = [decode(r.value) for r in records]
        return {e.file_id: e.event_type for e in events
                if isinstance(e, AnalysisCompleted | AnalysisFailed)}

    async def both_answered() -> bool:
        return {old_id, new_id} <= set(await outcomes())

    worker = WorkerProcess("analysis", prefix, tmp_path / "analysis.log",
                           env={"TRACKTION_TRACING": "off"})
    worker.start()
    try:
        assert await wait_until(both_answered, 120), await outcomes()
    finally:
        worker.stop_quietly()
    assert await outcomes() == {old_id: "AnalysisFailed", new_id: "AnalysisCompleted"}
