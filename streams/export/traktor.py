"""Traktor NML (version 19): COLLECTION of ENTRYs and one playlist of PRIMARYKEYs.

LOCATION splits the path into VOLUME (the disk's name on macOS, "C:" on Windows; empty on
Linux unless given), DIR with "/:" before every component and FILE. MUSICAL_KEY VALUE is
Traktor's 0-23 numbering: 0-11 the major keys from C up in semitones, 12-23 the minor keys
from C minor (21 = A minor). The grid is a CUE_V2 of TYPE 4 named AutoGrid, START in ms;
Traktor counts bars from it, so it sits on the first downbeat where bars were heard.
Playlist keys repeat each location; they are spooled to a temporary file while the
collection streams, so memory stays flat.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import PurePosixPath
from typing import TextIO

from projections.postgres.queries import parse_key
from streams.export.track import ExportTrack, xml_attr


def musical_key_value(key: str | None, scale: str | None) -> int | None:
    """Traktor's key number: C major 0 ... B major 11, C minor 12 ... B minor 23."""
    if key is None:
        return None
    try:
        pitch = parse_key(f"{key}{'m' if scale == 'minor' else ''}").pitch
    except ValueError:
        return None
    return pitch + (12 if scale == "minor" else 0)


def location(path: str, volume: str) -> tuple[str, str, str]:
    """(VOLUME, DIR, FILE): /music/a b/x.mp3 -> (volume, '/:music/:a b/:', 'x.mp3')."""
    p = PurePosixPath(path)
    parts = [part for part in p.parent.parts if part != "/"]
    return volume, "".join(f"/:{part}" for part in parts) + "/:", p.name


class TraktorWriter:
    suffix = ".nml"

    def __init__(self, out: TextIO, playlist_name: str, volume: str = "") -> None:
        self._out, self._playlist, self._volume = out, playlist_name, volume
        self._keys = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115

    def header(self, count: int) -> None:
        self._out.write('<?xml version="1.0" encoding="UTF-8" standalone="no" ?>\n'
                        '<NML VERSION="19"><HEAD COMPANY="www.native-instruments.com" '
                        'PROGRAM="Traktor"></HEAD>\n<MUSICFOLDERS></MUSICFOLDERS>\n'
                        f'<COLLECTION ENTRIES="{count}">\n')

    def track(self, track_id: int, t: ExportTrack) -> None:
        volume, dir_, file = location(t.path, self._volume)
        out = self._out
        head = f'<ENTRY TITLE="{xml_attr(t.name)}"'
        if t.artist:
            head += f' ARTIST="{xml_attr(t.artist)}"'
        out.write(f'{head}>\n<LOCATION DIR="{xml_attr(dir_)}" FILE="{xml_attr(file)}" '
                  f'VOLUME="{xml_attr(volume)}" VOLUMEID="{xml_attr(volume)}"></LOCATION>\n')
        if t.album:
            out.write(f'<ALBUM TITLE="{xml_attr(t.album)}"></ALBUM>\n')
        info = [("GENRE", t.genre), ("KEY", t.open_key),
                ("BITRATE", t.bit_rate), ("FILESIZE", None if t.size is None else t.size // 1024),
                ("PLAYTIME", None if t.duration_s is None else round(t.duration_s)),
                ("PLAYTIME_FLOAT", None if t.duration_s is None else f"{t.duration_s:.6f}"),
                ("RELEASE_DATE", None if t.year is None else f"{t.year}/1/1")]
        out.write("<INFO " + " ".join(f'{k}="{xml_attr(v)}"' for k, v in info if v is not None)
                  + "></INFO>\n")
        if t.bpm is not None:
            out.write(f'<TEMPO BPM="{t.bpm:.6f}" BPM_QUALITY="100.000000"></TEMPO>\n')
        key = musical_key_value(t.key, t.scale)
        if key is not None:
            out.write(f'<MUSICAL_KEY VALUE="{key}"></MUSICAL_KEY>\n')
        start = t.first_downbeat_s()
        if start is not None:
            out.write(f'<CUE_V2 NAME="AutoGrid" DISPL_ORDER="0" TYPE="4" START="{start * 1e3:.6f}" '
                      'LEN="0.000000" REPEATS="-1" HOTCUE="0"></CUE_V2>\n')
        out.write("</ENTRY>\n")
        self._keys.write(f'<ENTRY><PRIMARYKEY TYPE="TRACK" '
                         f'KEY="{xml_attr(volume + dir_ + file)}"></PRIMARYKEY></ENTRY>\n')

    def footer(self, count: int) -> None:
        out = self._out
        out.write('</COLLECTION>\n<SETS ENTRIES="0"></SETS>\n<PLAYLISTS>\n'
                  '<NODE TYPE="FOLDER" NAME="$ROOT"><SUBNODES COUNT="1">\n'
                  f'<NODE TYPE="PLAYLIST" NAME="{xml_attr(self._playlist)}">'
                  f'<PLAYLIST ENTRIES="{count}" TYPE="LIST" UUID="">\n')
        self._keys.seek(0)
        shutil.copyfileobj(self._keys, out)
        self._keys.close()
        out.write("</PLAYLIST></NODE>\n</SUBNODES></NODE>\n</PLAYLISTS>\n</NML>\n")
