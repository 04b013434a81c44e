"""One exported track, built from a read-model row, and the text helpers every format shares."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

# Characters XML 1.0 cannot carry at all, even escaped (tags sometimes hold them).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ATTR_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
                               "\t": "&#9;", "\n": "&#10;", "\r": "&#13;"})


def xml_attr(value: object) -> str:
    """A value as the inside of a double-quoted XML attribute (whitespace kept exactly)."""
    return _NOT_XML.sub("", str(value)).translate(_ATTR_ESCAPES)


@dataclass(frozen=True, slots=True)
class ExportTrack:
    """What the formats write; None where the read model does not know it."""

    path: str
    title: str | None
    artist: str | None
    album: str | None
    genre: str | None
    year: int | None
    track_number: int | None
    size: int | None
    format: str | None
    duration_s: float | None
    bit_rate: int | None
    sample_rate: int | None
    bpm: float | None
    key: str | None
    scale: str | None
    open_key: str | None
    first_beat_s: float | None
    downbeat_s: float | None
    beats_per_bar: int | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any], relocate: tuple[str, str] | None = None
                 ) -> ExportTrack:
        path = str(row["path"])
        if relocate is not None and path.startswith(relocate[0]):
            path = relocate[1] + path[len(relocate[0]):]
        bpm = row["bpm"]
        valid_bpm = bpm if bpm is not None and math.isfinite(bpm) and bpm > 0 else None
        return cls(path=path, title=row["title"], artist=row["artist"], album=row["album"],
                   genre=row["genre"], year=row["year"], track_number=row["track_number"],
                   size=row["size"], format=row["format"], duration_s=row["duration_s"],
                   bit_rate=row["bit_rate"], sample_rate=row["sample_rate"], bpm=valid_bpm,
                   key=row["key"], scale=row["scale"], open_key=row["open_key"],
                   first_beat_s=row["first_beat_s"] if valid_bpm else None,
                   downbeat_s=row["downbeat_s"], beats_per_bar=row["beats_per_bar"])

    @property
    def name(self) -> str:
        """The title, or the file name for untagged files (what a DJ recognises them by)."""
        return self.title or PurePosixPath(self.path).name

    @property
    def key_name(self) -> str | None:
        """'Am', 'F#', 'Bb': the key as DJ software spells it."""
        if self.key is None:
            return None
        return f"{self.key}{'m' if self.scale == 'minor' else ''}"

    def bar_position(self) -> int:
        """Which beat of its bar the grid's first beat is (1 = a downbeat); 1 when unknown."""
        if (self.first_beat_s is None or self.downbeat_s is None or not self.beats_per_bar
                or self.bpm is None):
            return 1
        beats_to_downbeat = round((self.downbeat_s - self.first_beat_s) * self.bpm / 60.0)
        return (-beats_to_downbeat) % self.beats_per_bar + 1

    def first_downbeat_s(self) -> float | None:
        """The earliest grid beat that starts a bar (the first beat when bars are unknown)."""
        if self.first_beat_s is None or self.bpm is None:
            return None
        position = self.bar_position()
        if position == 1 or not self.beats_per_bar:
            return self.first_beat_s
        return self.first_beat_s + (self.beats_per_bar - position + 1) * 60.0 / self.bpm
