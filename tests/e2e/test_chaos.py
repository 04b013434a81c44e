"""Chaos: 500 files in flight while the analysis worker is stopped (SIGTERM) and the
projections worker is killed (SIGKILL); after restarts every file is analysed exactly once in
every read model, none is missing and none is counted twice."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from infra.settings import Settings
from projections.redis.side_writes import record_expected_total
from projections.redis.writer import connect
from schemas.envelope import file_id_for, new_id
from schemas.namespace import Namespace
from streams.publishing.fileinfo import iter_audio_files
from streams.publishing.publisher import publish_paths
from tests.e2e.batch import (
    assert_exactly_once,
    settle,
    spawn,
    stop_all,
    wait_for_progress,
    wait_ready,
)
from tests.e2e.support import generated_corpus

PARTITIONS = 6  # the prefix fixture creates this many per topic
FILES = 500
KILL_AFTER = 60  # analyses finished before the chaos starts (well short of FILES)


@pytest.fixture(scope="module")
def corpus() -> Path:
    return generated_corpus("chaos500", FILES, seconds=6.0)


@pytest.mark.timeout(1800)
async def test_kill_and_restart_workers_mid_batch(settings: Settings, prefix: str,
                                                  corpus: Path, tmp_path: Path) -> None:
    expected_ids = {file_id_for(str(root), path.relative_to(root).as_posix())
                    for root, path in iter_audio_files([corpus])}
    assert len(expected_ids) == FILES
    t0 = time.monotonic()
    workers = {role: spawn(role, prefix, tmp_path, 0)
               for role in ("bridge", "analysis", "projections")}
    redis = connect(settings.redis_url)
    try:
        for worker in workers.values():
            await wait_ready(worker)
        timings = {"workers_ready": time.monotonic() - t0}
        cid = new_id()
        await record_expected_total(redis, f"{prefix}:", cid, FILES)
        result = await publish_paths([corpus], settings, via="rabbitmq", ns=Namespace(prefix),
                                     correlation_id=cid)
        assert (result.files, result.published) == (FILES, FILES), result.errors
        timings["published"] = time.monotonic() - t0

        at_kill = await wait_for_progress(redis, prefix, cid, KILL_AFTER, workers)
        assert at_kill.finished < FILES, f"batch finished before the chaos: {at_kill}"
        timings["chaos_at"] = time.monotonic() - t0
        stopping = time.monotonic()
        code = workers["analysis"].terminate(timeout=settings.shutdown_timeout + 30)
        timings["analysis_sigterm_exit"] = time.monotonic() - stopping
        log = workers["analysis"].log_path.read_text()
        assert code == 0 and "role_stop_timeout" not in log, f"unclean stop ({code}): {log[-800:]}"
        workers["projections"].kill()
        print(f"\nchaos after {at_kill.finished}/{FILES} finished "
              f"({at_kill.in_progress} in progress)")

        workers["analysis"] = spawn("analysis", prefix, tmp_path, 1)
        workers["projections"] = spawn("projections", prefix, tmp_path, 1)
        settled = await settle(settings, redis, prefix, {cid: FILES}, workers)
        timings["stores_settled"] = time.monotonic() - t0
    finally:
        await redis.aclose()
        codes = stop_all(workers, settings.shutdown_timeout + 30)
    assert all(c == 0 for c in codes.values()), codes

    assert_exactly_once(settled, expected_ids)
    print(f"redelivered analyses (at-least-once): {settled.redelivered}")
    print("timings (s): " + ", ".join(f"{k}={v:.1f}" for k, v in timings.items()))
