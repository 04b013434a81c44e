"""Extended M3U (UTF-8, .m3u8): #EXTM3U, then per track #EXTINF:<seconds>,Artist - Title
and the path. A path with a line break cannot be written in M3U; such tracks are skipped
and counted."""

from __future__ import annotations

from typing import TextIO

from streams.export.track import ExportTrack


def _one_line(text: str) -> str:
    return " ".join(text.split())


class M3uWriter:
    suffix = ".m3u8"

    def __init__(self, out: TextIO, playlist_name: str) -> None:
        self._out, self._playlist = out, playlist_name
        self.skipped = 0

    def header(self, count: int) -> None:
        self._out.write(f"#EXTM3U\n#PLAYLIST:{_one_line(self._playlist)}\n")

    def track(self, track_id: int, t: ExportTrack) -> None:
        if "\n" in t.path or "\r" in t.path:
            self.skipped += 1
            return
        seconds = -1 if t.duration_s is None else round(t.duration_s)
        label = _one_line(f"{t.artist} - {t.name}" if t.artist else t.name)
        self._out.write(f"#EXTINF:{seconds},{label}\n{t.path}\n")

    def footer(self, count: int) -> None:
        """Nothing closes an M3U."""
