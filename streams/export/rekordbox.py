"""Rekordbox XML (DJ_PLAYLISTS 1.0.0): COLLECTION of TRACKs with a TEMPO grid, one playlist.

Rekordbox reads `Location` as a file URI (file://localhost/ + the percent-encoded path),
`TotalTime` in whole seconds, `BitRate` in kbit/s, and a TEMPO element per grid section:
`Inizio` (s), `Bpm`, `Metro` ("4/4") and `Battito` (which beat of the bar Inizio is).
Playlist entries refer to TrackIDs (KeyType 0), which are 1..N in collection order here,
so the playlist costs no memory however long it is.
"""

from __future__ import annotations

import urllib.parse
from typing import TextIO

from streams.export.track import ExportTrack, xml_attr

KINDS = {"mp3": "MP3 File", "flac": "FLAC File", "wav": "WAV File", "aiff": "AIFF File",
         "aif": "AIFF File", "m4a": "M4A File", "aac": "AAC File", "ogg": "OGG File",
         "opus": "OPUS File"}


def file_uri(path: str) -> str:
    """file://localhost/... with everything but the separators percent-encoded (UTF-8)."""
    return "file://localhost" + urllib.parse.quote(path if path.startswith("/") else "/" + path,
                                                   safe="/:")


def _attrs(pairs: list[tuple[str, object]]) -> str:
    return " ".join(f'{k}="{xml_attr(v)}"' for k, v in pairs if v is not None and v != "")


class RekordboxWriter:
    suffix = ".xml"

    def __init__(self, out: TextIO, playlist_name: str) -> None:
        self._out, self._playlist = out, playlist_name

    def header(self, count: int) -> None:
        self._out.write('<?xml version="1.0" encoding="UTF-8"?>\n<DJ_PLAYLISTS Version="1.0.0">\n'
                        '  <PRODUCT Name="tracktion" Version="1" Company="Tracktion Streams"/>\n'
                        f'  <COLLECTION Entries="{count}">\n')

    def track(self, track_id: int, t: ExportTrack) -> None:
        bit_rate = round(t.bit_rate / 1000) if t.bit_rate else None
        attrs = _attrs([
            ("TrackID", track_id), ("Name", t.name), ("Artist", t.artist), ("Album", t.album),
            ("Genre", t.genre), ("Kind", KINDS.get((t.format or "").lower())), ("Size", t.size),
            ("TotalTime", None if t.duration_s is None else round(t.duration_s)),
            ("TrackNumber", t.track_number), ("Year", t.year),
            ("AverageBpm", None if t.bpm is None else f"{t.bpm:.2f}"), ("BitRate", bit_rate),
            ("SampleRate", t.sample_rate), ("Tonality", t.key_name),
            ("Location", file_uri(t.path))])
        if t.first_beat_s is None or t.bpm is None:
            self._out.write(f"    <TRACK {attrs}/>\n")
            return
        metro = f"{t.beats_per_bar or 4}/4"
        self._out.write(f'    <TRACK {attrs}>\n      <TEMPO Inizio="{t.first_beat_s:.3f}" '
                        f'Bpm="{t.bpm:.2f}" Metro="{metro}" Battito="{t.bar_position()}"/>\n'
                        "    </TRACK>\n")

    def footer(self, count: int) -> None:
        out = self._out
        out.write('  </COLLECTION>\n  <PLAYLISTS>\n    <NODE Type="0" Name="ROOT" Count="1">\n'
                  f'      <NODE Name="{xml_attr(self._playlist)}" Type="1" KeyType="0" '
                  f'Entries="{count}">\n')
        for track_id in range(1, count + 1):
            out.write(f'        <TRACK Key="{track_id}"/>\n')
        out.write("      </NODE>\n    </NODE>\n  </PLAYLISTS>\n</DJ_PLAYLISTS>\n")
