"""`tracktion publish` when things go wrong: a clear message and exit code, never a traceback,
and nothing left open behind it. A port nothing listens on stands for a stopped broker, so
the stack's own stays up."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.support import cli_output, free_port


def test_publish_via_kafka_with_kafka_down_fails_cleanly(tmp_path: Path) -> None:
    (tmp_path / "a.mp3").write_bytes(b"not decoded by publish")
    code, out = cli_output("publish", str(tmp_path), "--via", "kafka",
                           KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}")
    assert code != 0, out
    assert "Unable to bootstrap" in out and "tracktion stack up" in out, out
    # Before: the producer whose start() failed was never stopped.
    assert "Unclosed AIOKafkaProducer" not in out, out


def test_publish_wait_timeout_says_what_to_do(prefix: str, tmp_path: Path) -> None:
    # No worker runs in this namespace, so the batch cannot finish within the timeout.
    (tmp_path / "a.mp3").write_bytes(b"never analysed here")
    code, out = cli_output("--prefix", prefix, "publish", str(tmp_path), "--wait",
                           "--timeout", "2")
    # Before: a TimeoutError traceback (exit 1) with the progress record's repr.
    assert code == 3, out
    assert "Traceback" not in out, out
    assert "not done after 2 s: 0 of 1 finished (1 queued" in out, out
    assert "tracktion progress" in out and "--follow" in out, out
