"""Publishing while the broker is down: a clear error, and nothing left open behind it. A port
nothing listens on stands for the stopped broker, so the stack's own stays up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
