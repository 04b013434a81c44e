"""The Progress page in a real browser while `tracktion publish` runs through the whole
pipeline (bridge, Essentia analysis, projections): it reaches 100 % without a reload."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import urllib.parse
import uuid
from pathlib import Path

from infra.polling import poll_or_fail, poll_until
from streams.ops.worker_process import WorkerProcess
from tests.e2e.support import free_port, generated_corpus
from tests.integration.kafka_utils import REPO
from tests.integration.pages.browser import chromium
from tests.integration.pages.library import get_json

FILES = 12
CREATE_TOPICS = False  # the worker creates its own (the prefix fixture drops them)
# Read in one script call: the page replaces its rows on every event (no stale handles).
PERCENT = ("const c = document.querySelector('table.batches .pct');"
           "return c ? c.textContent.trim() : '';")


async def _ready(base: str, worker: WorkerProcess) -> None:
    def ready() -> bool:  # blocking: polled in a thread
        try:
            return bool(get_json(f"{base}/ready")["status"] == "ready")
        except OSError:  # not listening yet
            return False

    def alive() -> None:
        assert worker.alive(), f"worker exited: {worker.log_path.read_text()[-2000:]}"

    await poll_or_fail(lambda: asyncio.to_thread(ready), 120, "the worker to be ready",
                       alive=alive)


async def test_progress_page_reaches_100_percent_during_a_real_publish(
        prefix: str, tmp_path: Path) -> None:
    corpus = generated_corpus("reanalyse12", FILES, seconds=6.0)  # shared with test_reanalysis
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    worker = WorkerProcess("all", prefix, tmp_path / "worker.log", port=port)
    worker.start()
    browser = chromium()
    try:
        await _ready(base, worker)
        cid = f"{prefix}-{uuid.uuid4().hex[:8]}"
        browser.get(f"{base}/progress?" + urllib.parse.urlencode({"batch": cid}))
        browser.execute_script("window.__notReloaded = true;")
        publish = subprocess.Popen(
            [sys.executable, "-m", "streams.cli.main", "publish", str(corpus), "--prefix",
             prefix, "--correlation-id", cid, "--wait", "--timeout", "600"], cwd=REPO,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        seen: list[str] = []

        def full() -> bool:
            text = browser.execute_script(PERCENT)
            if text and (not seen or seen[-1] != text):
                seen.append(text)
            if text == "100.0 %":
                return True
            assert publish.poll() in (None, 0), publish.stdout.read() if publish.stdout else ""
            return False

        await poll_until(full, 600, 0.2)  # on a timeout the assertions below say what was seen
        out, _ = await asyncio.to_thread(publish.communicate, timeout=600)
        assert publish.returncode == 0, out.decode()[-2000:]
        assert seen and seen[-1] == "100.0 %", seen
        assert len(seen) >= 2, f"no intermediate state shown: {seen}"
        print("progress page showed", seen)
        assert browser.execute_script("return window.__notReloaded") is True
        finished = browser.execute_script(
            "return document.querySelector('table.batches tbody td:nth-child(3)').textContent")
        assert finished == str(FILES)
        assert worker.terminate(timeout=90) == 0, "worker did not shut down cleanly"
    finally:
        browser.quit()
        worker.stop_quietly()
