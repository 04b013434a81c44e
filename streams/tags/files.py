"""Read and write the analysis tags of one file with mutagen, atomically.

Per format: mp3 ID3 TBPM, TKEY, TXXX:REPLAYGAIN_TRACK_GAIN/_PEAK; flac, ogg (Vorbis) and
opus Vorbis comments BPM, INITIALKEY, REPLAYGAIN_TRACK_GAIN/_PEAK (opus: R128_TRACK_GAIN
instead of the ReplayGain pair, which Opus players ignore); m4a `tmpo`,
----:com.apple.iTunes:initialkey and ----:com.apple.iTunes:replaygain_track_gain/_peak.
Every other tag is left as it is, and mutagen rewrites only the tag blocks.

A write goes to a copy in the same folder, is flushed to disk, then renamed over the
file: a kill at any moment leaves the old file or the new one, never a torn one (and at
worst a hidden `.<name>.<random>.tags` copy, which `remove_leftovers` deletes).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mutagen
import mutagen.id3
import mutagen.mp4
from mutagen.flac import FLAC
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

from streams.publishing.fileinfo import content_hash
from streams.tags.values import TagValues

TMP_SUFFIX = ".tags"

VORBIS = {"bpm": "BPM", "key": "INITIALKEY", "replaygain_track_gain": "REPLAYGAIN_TRACK_GAIN",
          "replaygain_track_peak": "REPLAYGAIN_TRACK_PEAK", "r128_track_gain": "R128_TRACK_GAIN"}
ID3_TXXX = {"replaygain_track_gain": "REPLAYGAIN_TRACK_GAIN",
            "replaygain_track_peak": "REPLAYGAIN_TRACK_PEAK"}
# Parts of mutagen are untyped; these are used through Any.
_id3: Any = mutagen.id3
_mp4: Any = mutagen.mp4
MP4_FREEFORM = {"key": "----:com.apple.iTunes:initialkey",
                "replaygain_track_gain": "----:com.apple.iTunes:replaygain_track_gain",
                "replaygain_track_peak": "----:com.apple.iTunes:replaygain_track_peak"}


class UnsupportedFormat(ValueError):
    """Not a format whose tags we write (wav, aiff, ...)."""


def kind_of(path: Path) -> str:
    """mp3 | flac | ogg | opus | m4a, from the file's contents (not its name)."""
    audio = mutagen.File(path)
    if isinstance(audio, OggOpus):
        return "opus"
    if isinstance(audio, OggVorbis):
        return "ogg"
    if isinstance(audio, FLAC):
        return "flac"
    if isinstance(audio, _mp4.MP4):
        return "m4a"
    if audio is not None and type(audio).__name__ == "MP3":
        return "mp3"
    raise UnsupportedFormat(f"no tag writer for {path.name} ({type(audio).__name__})")


def wanted(kind: str, values: TagValues) -> dict[str, str]:
    """The normalised tags this format gets."""
    tags = values.as_dict()
    if kind == "opus":
        tags.pop("replaygain_track_gain")
        tags.pop("replaygain_track_peak")
    else:
        tags.pop("r128_track_gain")
    return tags


def read_tags(path: Path, kind: str | None = None) -> dict[str, str | None]:
    """The file's current analysis tags, by normalised name (None where absent)."""
    kind = kind or kind_of(path)
    names = ("bpm", "key", "replaygain_track_gain", "replaygain_track_peak", "r128_track_gain")
    out: dict[str, str | None] = dict.fromkeys(names)
    if kind == "mp3":
        try:
            id3 = _id3.ID3(path)
        except _id3.ID3NoHeaderError:
            return out
        for name, frame in (("bpm", "TBPM"), ("key", "TKEY")):
            if frame in id3:
                out[name] = str(id3[frame].text[0])
        for name, desc in ID3_TXXX.items():
            if f"TXXX:{desc}" in id3:
                out[name] = str(id3[f"TXXX:{desc}"].text[0])
    elif kind == "m4a":
        mp4 = _mp4.MP4(path)
        tags: Any = mp4.tags or {}
        if "tmpo" in tags:
            out["bpm"] = str(tags["tmpo"][0])
        for name, atom in MP4_FREEFORM.items():
            if atom in tags:
                out[name] = bytes(tags[atom][0]).decode("utf-8")
    else:
        audio: Any = mutagen.File(path)
        for name, comment in VORBIS.items():
            found = audio.tags.get(comment) if audio.tags is not None else None
            if found:
                out[name] = str(found[0])
    return out


def changes(path: Path, values: TagValues,
            kind: str | None = None) -> dict[str, tuple[str | None, str]]:
    """name -> (current, wanted) for the tags a write would change; empty if none.
    `kind` if the caller knows it already (each kind_of parses the file)."""
    kind = kind or kind_of(path)
    current = read_tags(path, kind)
    return {name: (current[name], value) for name, value in wanted(kind, values).items()
            if current[name] != value}


def _apply(path: Path, kind: str, tags: dict[str, str]) -> None:
    if kind == "mp3":
        try:
            id3 = _id3.ID3(path)
        except _id3.ID3NoHeaderError:
            id3 = _id3.ID3()
        if "bpm" in tags:
            id3.setall("TBPM", [_id3.TBPM(encoding=3, text=[tags["bpm"]])])
        if "key" in tags:
            id3.setall("TKEY", [_id3.TKEY(encoding=3, text=[tags["key"]])])
        for name, desc in ID3_TXXX.items():
            if name in tags:
                id3.setall(f"TXXX:{desc}", [_id3.TXXX(encoding=3, desc=desc, text=[tags[name]])])
        id3.save(path)
    elif kind == "m4a":
        mp4 = _mp4.MP4(path)
        if mp4.tags is None:
            mp4.add_tags()
        assert mp4.tags is not None
        if "bpm" in tags:
            mp4.tags["tmpo"] = [int(tags["bpm"])]
        for name, atom in MP4_FREEFORM.items():
            if name in tags:
                mp4.tags[atom] = [_mp4.MP4FreeForm(tags[name].encode("utf-8"))]
        mp4.save()
    else:
        audio: Any = mutagen.File(path)
        if audio.tags is None:
            audio.add_tags()
        for name, value in tags.items():
            audio.tags[VORBIS[name]] = [value]
        audio.save()


class ContentMismatch(ValueError):
    """The file's bytes are not those the tags were computed for (edited by someone else)."""

    def __init__(self, path: Path, actual: str) -> None:
        super().__init__(f"{path.name}: content hash is now {actual}")
        self.actual = actual


def _identity(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns


@dataclass
class PreparedWrite:
    """A tagged copy beside the file, flushed to disk, not yet renamed over it.

    Between `prepare_write` and `commit` the caller can act on `written_hash` (the hash the
    file will have): the tags projection records it as its own write, so that the watcher
    does not mistake the rename for an edit.
    """

    path: Path
    tmp: Path
    changes: dict[str, tuple[str | None, str]]
    source_hash: str
    written_hash: str
    _source: tuple[int, int, int]

    def commit(self) -> None:
        """Rename the copy over the file; refuse if the file changed since it was read."""
        try:
            if _identity(self.path) != self._source:
                raise ContentMismatch(self.path, "changed while being tagged")
            os.replace(self.tmp, self.path)
        finally:
            self.tmp.unlink(missing_ok=True)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the rename itself survives a crash
        finally:
            os.close(dir_fd)

    def discard(self) -> None:
        self.tmp.unlink(missing_ok=True)


def prepare_write(path: Path, values: TagValues,
                  accept: Callable[[str], bool] = lambda _: True) -> PreparedWrite | None:
    """Check, then tag a copy: None if the tags already match; ContentMismatch if
    `accept` refuses the file's current content hash (checked before anything is written).

    A symbolic link is followed: the copy is renamed over the file it points to. Renamed
    over the link, it replaced the link with a tagged copy and left the file untagged.
    """
    path = path.resolve()
    source = _identity(path)
    current = content_hash(path)
    if not accept(current):
        raise ContentMismatch(path, current)
    kind = kind_of(path)
    todo = changes(path, values, kind)
    if not todo:
        return None
    # A unique name: a write abandoned by a timeout may still run beside its retry.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        shutil.copy2(path, tmp)
        _apply(tmp, kind, {name: new for name, (_, new) in todo.items()})
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        written = content_hash(tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return PreparedWrite(path, tmp, todo, current, written, source)


def write_tags(path: Path, values: TagValues) -> dict[str, tuple[str | None, str]]:
    """Write what differs (nothing if the tags already match), atomically; returns it."""
    prepared = prepare_write(path, values)
    if prepared is None:
        return {}
    prepared.commit()
    return prepared.changes


def remove_leftovers(directory: Path, names: Collection[str]) -> list[Path]:
    """Delete tagged copies of the files `names` left in `directory` by a killed writer.

    Only copies of those files: another writer may be tagging other files of the folder.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        if not (entry.name.startswith(".") and entry.name.endswith(TMP_SUFFIX)):
            continue
        stem = entry.name[1:-len(TMP_SUFFIX)].rpartition(".")[0]  # drop mkstemp's random part
        if stem in names:
            Path(entry.path).unlink(missing_ok=True)
            removed.append(Path(entry.path))
    return removed
