from __future__ import annotations

from pathlib import Path

import pytest

from streams.publishing.fileinfo import content_hash, iter_audio_files, read_file_info
from streams.publishing.priority import priority_for
from streams.publishing.publisher import build_event
from streams.publishing.sinks import EventTooLarge, encode_bounded


def test_priority_rule() -> None:
    assert priority_for(1_000) == "high"
    assert priority_for(10 * 1024 * 1024) == "normal"
    assert priority_for(200 * 1024 * 1024) == "low"
    assert priority_for(200 * 1024 * 1024, "high") == "high"


def test_scan_finds_audio_only_recursively_in_order(tmp_path: Path) -> None:
    for name in ["b/2.flac", "a/1.mp3", "a/notes.txt", "c/.hidden.mp3", "c/X.OGG"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"data")
    found = [p.relative_to(tmp_path).as_posix() for _, p in iter_audio_files([tmp_path])]
    assert found == ["a/1.mp3", "b/2.flac", "c/X.OGG"]


def test_file_info_hash_changes_with_content(tmp_path: Path) -> None:
    f = tmp_path / "x.mp3"
    f.write_bytes(b"abc")
    first = read_file_info(tmp_path, f)
    assert first.relative_path == "x.mp3" and first.size == 3 and first.format == "mp3"
    assert first.content_hash == content_hash(f)
    f.write_bytes(b"abd")
    assert read_file_info(tmp_path, f).content_hash != first.content_hash


def test_force_turns_discovery_into_reanalysis_request(tmp_path: Path) -> None:
    f = tmp_path / "x.mp3"
    f.write_bytes(b"abc")
    info = read_file_info(tmp_path, f)
    assert build_event(info, "c", "auto", False).event_type == "FileDiscovered"
    forced = build_event(info, "c", "low", True)
    assert forced.event_type == "AnalysisRequested" and forced.priority == "low"
    assert forced.payload.force is True  # type: ignore[attr-defined]


def test_an_event_above_max_event_bytes_is_refused_with_the_setting_named(
        tmp_path: Path) -> None:
    f = tmp_path / "x.mp3"
    f.write_bytes(b"abc")
    event = build_event(read_file_info(tmp_path, f), "c", "auto", False)
    body = encode_bounded(event, 10_000)
    with pytest.raises(EventTooLarge, match=f"{len(body)} bytes encoded, above MAX_EVENT_BYTES"):
        encode_bounded(event, len(body) - 1)
