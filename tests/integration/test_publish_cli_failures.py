"""`tracktion publish` when things go wrong: a clear message and exit code, never a traceback,
and nothing left open behind it. A port nothing listens on stands for a stopped broker, so
the stack's own stays up."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from infra.settings import Settings
from schemas.codec import decode
from schemas.namespace import Namespace
from streams.publishing.publisher import publish_paths
from tests.e2e.support import cli_output, free_port
from tests.integration.kafka_utils import read_topic


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


async def test_files_that_cannot_be_events_are_listed_and_the_rest_published(
        settings: Settings, prefix: str, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    os.mkfifo(lib / "pipe.mp3")
    (lib / os.fsdecode(b"caf\xe9.mp3")).write_bytes(b"a Latin-1 name")
    (lib / "link.mp3").symlink_to(tmp_path / "unplugged.mp3")
    (lib / "song.mp3").write_bytes(b"fine")
    # Before: the pipe hung publish for ever; without it, the Latin-1 name ended publish
    # with a UnicodeEncodeError traceback.
    code, out = cli_output("--prefix", prefix, "publish", str(lib), "--via", "kafka",
                           timeout=60)
    assert code == 1, out
    assert "Traceback" not in out, out
    for line in ("pipe.mp3: not a regular file but a named pipe",
                 "caf\\xe9.mp3: the file name is not valid UTF-8",
                 "link.mp3: a broken symbolic link"):
        assert line in out, out
    assert "files=4 published=1" in out, out
    lanes = Namespace(prefix).lane_topics
    events = [decode(r.value) for lane in lanes
              for r in await read_topic(settings.kafka_bootstrap_servers, lane)]
    assert [(e.event_type, e.payload.file.relative_path)  # type: ignore[union-attr]
            for e in events] == [("FileDiscovered", "song.mp3")]


async def test_a_folder_that_cannot_be_listed_is_reported(
        settings: Settings, prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "locked").mkdir()
    (tmp_path / "song.mp3").write_bytes(b"fine")
    real_scandir = os.scandir

    def scandir(path: object) -> object:  # a folder without read permission, as non-root
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    result = await publish_paths([tmp_path], settings, via="kafka", ns=Namespace(prefix))
    assert (result.files, result.published) == (1, 1)
    assert result.errors == [(str(tmp_path.resolve() / "locked"), "cannot list this folder "
                              "(Permission denied): its files are skipped")]
