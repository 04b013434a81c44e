"""Rendering and bad files (needs fluidsynth, ffmpeg and the GM soundfont)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mutagen
import pytest

from infra.corpus.bad_files import generate_bad_files
from infra.corpus.generate import generate_corpus, load_labels
from infra.corpus.render import SOUNDFONT
from streams.publishing.fileinfo import read_tags


@pytest.fixture(autouse=True)
def _tools() -> None:
    """Missing audio tools are a broken setup, not a reason to skip: say how to fix it."""
    if not (shutil.which("ffmpeg") and shutil.which("fluidsynth") and SOUNDFONT.exists()):
        pytest.fail("ffmpeg, fluidsynth or the SoundFont is missing: run `make bootstrap`",
                    pytrace=False)


def test_generate_corpus_writes_files_and_labels(tmp_path: Path) -> None:
    seen: list[int] = []
    labels = generate_corpus(tmp_path, count=3, seconds=6.0, formats=("mp3", "flac", "m4a"),
                             seed=9, progress=lambda done, total: seen.append(done))
    assert seen == [1, 2, 3]
    document = json.loads((tmp_path / "labels.json").read_text())
    assert document["seed"] == 9 and len(document["tracks"]) == 3
    for label in load_labels(tmp_path):
        info = mutagen.File(label["path"]).info
        assert info.length == pytest.approx(6.0, abs=0.1)
        assert info.channels == 2
        assert set(label) >= {"file", "bpm", "key", "scale", "style", "duration_s", "format"}
    assert [t["format"] for t in labels] == ["mp3", "flac", "m4a"]
    # Tagged like a real library (the demo's tables showed truncated file names before).
    assert document["tagged"] is True
    for label in load_labels(tmp_path):
        tags = read_tags(Path(label["path"]))
        assert tags.artist and tags.title and tags.album == "Tracktion Demo Library", label
        assert tags.title.endswith(f"No. {label['index'] + 1}")


def test_bad_files(tmp_path: Path) -> None:
    files = generate_bad_files(tmp_path, long_seconds=12.0)
    assert files["empty"].stat().st_size == 0
    assert files["text"].read_text().startswith("This is not a FLAC file")
    assert 0 < files["truncated"].stat().st_size < 200_000
    assert mutagen.File(files["long"]).info.length == pytest.approx(12.0, abs=0.2)
    assert len(files["random"].read_bytes()) == 256 * 1024
