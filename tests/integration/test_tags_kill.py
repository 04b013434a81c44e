"""SIGKILL the `tracktion worker --role tags` process while it writes tags: every file still
parses and decodes to the same audio, and after a restart every file gets its tags."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from pathlib import Path

import mutagen
import pytest

from infra.settings import Settings
from streams.ops.worker_process import WorkerProcess
from streams.tags import files
from tests.e2e.support import free_port
from tests.integration.kafka_utils import produce_events, wait_until
from tests.integration.tags_support import completed, copies, make
from tests.unit.tags.test_files import decoded

SERVICES = ("kafka", "redis")
pytestmark = pytest.mark.integration
PER_FORMAT = 300


def written_so_far(port: int) -> float:
    """tags_written_total from the worker's /metrics (0 while it is not serving yet)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1) as resp:
            text = resp.read().decode()
    except OSError:
        return 0.0
    for line in text.splitlines():
        if line.startswith("tags_written_total "):
            return float(line.split()[1])
    return 0.0


def tagged(path: Path) -> bool:
    return files.read_tags(path)["bpm"] == "124"


async def test_sigkill_mid_run_leaves_whole_files_and_a_restart_finishes(
        settings: Settings, prefix: str, tmp_path: Path) -> None:
    templates = [make(tmp_path / "t.mp3"), make(tmp_path / "t.flac")]
    pcm = {t.suffix: decoded(t) for t in templates}
    root = tmp_path / "lib"
    paths = [p for t in templates for p in copies(t, root / t.suffix[1:], PER_FORMAT)]
    await produce_events(settings.kafka_bootstrap_servers, prefix,
                         [completed(root, p) for p in paths])
    port = free_port()
    worker = WorkerProcess("tags", prefix, tmp_path / "worker.log", port=port)
    worker.start()
    try:
        deadline = time.monotonic() + 120
        while (done := written_so_far(port)) < 16 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        worker.kill()
        assert 16 <= done < len(paths), f"not killed mid-run: {done} of {len(paths)} written"
        partly = sum(tagged(p) for p in paths)
        assert 0 < partly < len(paths)
        for path in paths:  # old file or new file, never a torn one
            assert mutagen.File(path) is not None, path
            assert decoded(path) == pcm[path.suffix], path

        worker = WorkerProcess("tags", prefix, tmp_path / "worker.log", port=free_port())
        worker.start()

        async def all_tagged() -> bool:
            return all(tagged(p) for p in paths)

        assert await wait_until(all_tagged, 120, interval=1.0), \
            f"{sum(tagged(p) for p in paths)} of {len(paths)} tagged after the restart"
        assert worker.terminate() == 0
    finally:
        worker.stop_quietly()
    assert not [p for p in root.rglob("*.tags")]  # leftovers of the kill cleaned up
    for path in paths[::50]:
        assert decoded(path) == pcm[path.suffix]
