"""Tag writing on every format: the analysis tags land where players read them, every
other tag and every audio sample stays as it was, a failed write leaves the old file, and
a second write of the same values writes nothing."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import mutagen
import pytest

from streams.publishing.fileinfo import content_hash
from streams.tags import files
from streams.tags.values import TagValues, key_text, tag_values

CODECS = {"mp3": ["-c:a", "libmp3lame", "-b:a", "128k"], "flac": ["-c:a", "flac"],
          "ogg": ["-c:a", "libvorbis"], "opus": ["-c:a", "libopus"],
          "m4a": ["-c:a", "aac", "-b:a", "128k"]}
VALUES = tag_values(bpm=124.4, key="A", scale="minor", camelot="8A", open_key="1m",
                    replay_gain_db=-9.1, peak_dbfs=-0.3, loudness_lufs=-8.9)


def make(tmp_path: Path, kind: str, name: str = "t") -> Path:
    out = tmp_path / f"{name} & ü.{kind}"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=2", "-metadata", "artist=Somebody",
                    "-metadata", "title=Some Song", "-metadata", "album=Album",
                    *CODECS[kind], str(out)], check=True)
    return out


def decoded(path: Path) -> str:
    pcm = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "s16le",
                          "-"], check=True, capture_output=True).stdout
    return hashlib.sha256(pcm).hexdigest()


def easy(path: Path) -> dict[str, list[str]]:
    audio = mutagen.File(path, easy=True)
    assert audio is not None and audio.tags is not None
    return {k: list(v) for k, v in audio.tags.items() if k in ("artist", "title", "album")}


@pytest.mark.parametrize("kind", list(CODECS))
def test_tags_are_written_and_nothing_else_changes(tmp_path: Path, kind: str) -> None:
    path = make(tmp_path, kind)
    audio_before, others_before = decoded(path), easy(path)
    assert files.kind_of(path) == kind
    written = files.write_tags(path, VALUES)
    assert set(written) == set(files.wanted(kind, VALUES))
    tags = files.read_tags(path)
    assert tags["bpm"] == "124" and tags["key"] == "Am"
    if kind == "opus":
        assert tags["r128_track_gain"] == str(round((-23 + 8.9) * 256))
        assert tags["replaygain_track_gain"] is None
    else:
        assert tags["replaygain_track_gain"] == "-9.10 dB"
        assert tags["replaygain_track_peak"] == "0.966051"
    assert decoded(path) == audio_before  # not one sample changed
    assert easy(path) == others_before  # every other tag kept
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tags")]


@pytest.mark.parametrize("kind", list(CODECS))
def test_writing_the_same_values_again_writes_nothing(tmp_path: Path, kind: str) -> None:
    path = make(tmp_path, kind)
    files.write_tags(path, VALUES)
    before = path.read_bytes(), path.stat().st_mtime_ns
    assert files.changes(path, VALUES) == {}
    assert files.write_tags(path, VALUES) == {}
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    other = TagValues(**{**VALUES.as_dict(), "bpm": "125"})
    assert files.changes(path, other) == {"bpm": ("124", "125")}


def test_a_failed_write_leaves_the_old_file_whole(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = make(tmp_path, "flac")
    original = path.read_bytes()

    def crash(target: Path, kind: str, tags: dict[str, str]) -> None:
        target.write_bytes(b"half a file")  # the copy is torn, the original is not
        raise OSError("disk full")

    monkeypatch.setattr(files, "_apply", crash)
    with pytest.raises(OSError, match="disk full"):
        files.write_tags(path, VALUES)
    assert path.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_key_notations() -> None:
    assert key_text("A", "minor", "8A", "1m", "standard") == "Am"
    assert key_text("F#", "major", "2B", "7d", "standard") == "F#"
    assert key_text("A", "minor", "8A", "1m", "camelot") == "8A"
    assert key_text("A", "minor", "8A", "1m", "open_key") == "1m"
    assert tag_values(120, "A", "minor", "8A", "1m", -9, -1, -9, "camelot").key == "8A"


def test_formats_without_a_writer_are_refused(tmp_path: Path) -> None:
    wav = tmp_path / "a.wav"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                    "sine=duration=1", str(wav)], check=True)
    with pytest.raises(files.UnsupportedFormat):
        files.kind_of(wav)


def test_a_prepared_write_is_abandoned_if_the_file_changes_before_the_rename(
        tmp_path: Path) -> None:
    path = make(tmp_path, "mp3")
    before = content_hash(path)
    prepared = files.prepare_write(path, VALUES)
    assert prepared is not None and prepared.source_hash == before
    assert content_hash(prepared.tmp) == prepared.written_hash != before
    edited = path.read_bytes() + b"\0"
    path.write_bytes(edited)  # someone else's edit between our copy and our rename
    with pytest.raises(files.ContentMismatch):
        prepared.commit()
    assert path.read_bytes() == edited
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_the_written_hash_is_the_hash_of_the_file_after_the_rename(tmp_path: Path) -> None:
    path = make(tmp_path, "flac")
    prepared = files.prepare_write(path, VALUES)
    assert prepared is not None
    prepared.commit()
    assert content_hash(path) == prepared.written_hash
    with pytest.raises(files.ContentMismatch):  # a refused hash writes nothing
        files.prepare_write(path, TagValues(**{**VALUES.as_dict(), "bpm": "99"}),
                            accept=lambda h: False)
    assert files.read_tags(path)["bpm"] == "124"


def test_leftover_copies_of_the_given_files_only_are_removed(tmp_path: Path) -> None:
    mine, theirs = tmp_path / ".a b.mp3.k2j4h5x1.tags", tmp_path / ".other.mp3.abcdefgh.tags"
    for p in (mine, theirs, tmp_path / "a b.mp3"):
        p.write_bytes(b"x")
    assert files.remove_leftovers(tmp_path, {"a b.mp3"}) == [mine]
    assert sorted(p.name for p in tmp_path.iterdir()) == [theirs.name, "a b.mp3"]


def test_a_linked_file_is_tagged_where_it_is_and_the_link_kept(tmp_path: Path) -> None:
    drive, lib = tmp_path / "drive", tmp_path / "lib"
    drive.mkdir()
    lib.mkdir()
    real = make(drive, "mp3")
    link = lib / "t.mp3"
    link.symlink_to(real)
    files.write_tags(link, VALUES)
    # Before, the tagged copy was renamed over the link: the link became a copy of the file
    # with tags, and the file itself (what the link pointed at) stayed untagged.
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert files.read_tags(real)["bpm"] == "124"
    assert sorted(p.name for p in lib.iterdir()) == ["t.mp3"]
