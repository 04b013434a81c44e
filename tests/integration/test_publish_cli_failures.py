"""`tracktion publish` when things go wrong: a clear message and exit code, never a traceback,
and nothing left open behind it. A port nothing listens on stands for a stopped broker, so
the stack's own stays up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from infra.settings import Settings
from tests.e2e.support import free_port


def test_publish_via_kafka_with_kafka_down_fails_cleanly(tmp_path: Path) -> None:
    (tmp_path / "a.mp3").write_bytes(b"not decoded by publish")
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}"}
    done = subprocess.run([sys.executable, "-m", "streams.cli.main", "publish", str(tmp_path),
                           "--via", "kafka"], timeout=120, capture_output=True, text=True,
                          env=env)
    out = " ".join((done.stdout + done.stderr).split())  # rich wraps long lines
    assert done.returncode != 0, out
    assert "Unable to bootstrap" in out and "tracktion stack up" in out, out
    # Before: the producer whose start() failed was never stopped.
    assert "Unclosed AIOKafkaProducer" not in out, out


def test_publish_wait_timeout_says_what_to_do(settings: Settings, prefix: str,
                                              tmp_path: Path) -> None:
    # No worker runs in this namespace, so the batch cannot finish within the timeout.
    (tmp_path / "a.mp3").write_bytes(b"never analysed here")
    done = subprocess.run([sys.executable, "-m", "streams.cli.main", "--prefix", prefix,
                           "publish", str(tmp_path), "--wait", "--timeout", "2"], timeout=120,
                          capture_output=True, text=True)
    out = " ".join((done.stdout + done.stderr).split())
    # Before: a TimeoutError traceback (exit 1) with the progress record's repr.
    assert done.returncode == 3, out
    assert "Traceback" not in out, out
    assert "not done after 2 s: 0 of 1 finished (1 queued" in out, out
    assert "tracktion progress" in out and "--follow" in out, out
