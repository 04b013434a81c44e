"""Export formats written from plain tracks and read back by real parsers: pyrekordbox for
Rekordbox XML, ElementTree for Traktor NML, and the M3U line structure."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from pyrekordbox.rbxml import RekordboxXml

from streams.export.m3u import M3uWriter
from streams.export.rekordbox import RekordboxWriter, file_uri
from streams.export.run import FormatWriter
from streams.export.track import ExportTrack
from streams.export.traktor import TraktorWriter, location, musical_key_value

BASE = ExportTrack(path="/music/house/track.mp3", title="Title", artist="Artist",
                   album="Album", genre="House", year=2024, track_number=3, size=4_200_000,
                   format="mp3", duration_s=241.5, bit_rate=320000, sample_rate=44100,
                   bpm=124.0, key="A", scale="minor", open_key="1m", first_beat_s=0.412,
                   downbeat_s=None, beats_per_bar=None)
AWKWARD = [
    replace(BASE, path="/music/with space/Rock & Roll.mp3", title="Rock & Roll <live>",
            artist='Simon "&" Garfunkel'),
    replace(BASE, path="/música/Beyoncé/Déjà vu \u2013 日本語.flac", title="Déjà vu", format="flac",
            artist="Beyoncé", key="F#", scale="major", open_key="8d", bit_rate=None),
    replace(BASE, path="/music/50% off/#1 hit?.wav", title=None, artist=None, album=None,
            format="wav", first_beat_s=None, bpm=None, key=None, scale=None, open_key=None),
    replace(BASE, path="/music/tabs/a.mp3", title="bad\x01ctrl\ttab", artist="line\nbreak",
            first_beat_s=0.1, downbeat_s=0.1 + 3 * 60 / 124, beats_per_bar=3),
]


def write(writer: FormatWriter, tracks: list[ExportTrack]) -> None:
    writer.header(len(tracks))
    for i, t in enumerate(tracks, 1):
        writer.track(i, t)
    writer.footer(len(tracks))


def rekordbox_file(tmp_path: Path, tracks: list[ExportTrack]) -> Path:
    out = tmp_path / "out.xml"
    with out.open("w", encoding="utf-8") as f:
        write(RekordboxWriter(f, "My & list"), tracks)
    return out


def test_pyrekordbox_reads_every_track_with_its_grid(tmp_path: Path) -> None:
    tracks = [BASE, *AWKWARD]
    xml = RekordboxXml(rekordbox_file(tmp_path, tracks))
    assert xml.num_tracks == len(tracks)
    read = xml.get_tracks()
    # pyrekordbox strips "file://localhost/" (made for "C:/..."), so POSIX paths lose the "/"
    assert ["/" + t["Location"] for t in read] == [t.path for t in tracks]
    first = read[0]
    assert (first["Name"], first["Artist"], first["Album"], first["AverageBpm"],
            first["Tonality"], first["TotalTime"], first["BitRate"], first["Kind"]) == (
        "Title", "Artist", "Album", 124.0, "Am", 242, 320, "MP3 File")
    (tempo,) = first.tempos
    assert (tempo.Inizio, tempo.Bpm, tempo.Metro, tempo.Battito) == (0.412, 124.0, "4/4", 1)
    assert (read[1]["Name"], read[1]["Artist"]) == ("Rock & Roll <live>", 'Simon "&" Garfunkel')
    assert read[2]["Tonality"] == "F#" and read[2].get("BitRate") is None
    assert read[3]["Name"] == "#1 hit?.wav" and read[3].tempos == []  # no grid, file name
    assert read[4]["Name"] == "badctrl\ttab" and read[4]["Artist"] == "line\nbreak"
    (tempo,) = read[4].tempos
    assert (tempo.Metro, tempo.Battito) == ("3/4", 1)  # downbeat one bar after first beat


def test_rekordbox_playlist_lists_the_collection_in_order(tmp_path: Path) -> None:
    xml = RekordboxXml(rekordbox_file(tmp_path, [BASE, *AWKWARD]))
    playlist = xml.get_playlist("My & list")
    assert playlist.key_type == "TrackID"
    assert playlist.get_tracks() == [1, 2, 3, 4, 5]
    assert xml.get_track_ids() == [1, 2, 3, 4, 5]


def test_locations_are_percent_encoded_file_uris() -> None:
    uri = file_uri("/music/with space/Rock & Roll é.mp3")
    assert uri == "file://localhost/music/with%20space/Rock%20%26%20Roll%20%C3%A9.mp3"


@pytest.mark.parametrize(("downbeat_beats", "bar", "battito"), [
    (0, 4, 1), (1, 4, 4), (2, 4, 3), (3, 4, 2), (4, 4, 1), (2, 3, 2)])
def test_battito_is_the_first_beats_place_in_its_bar(downbeat_beats: int, bar: int,
                                                     battito: int) -> None:
    t = replace(BASE, first_beat_s=0.3, downbeat_s=0.3 + downbeat_beats * 60 / 124,
                beats_per_bar=bar)
    assert t.bar_position() == battito
    first_downbeat = t.first_downbeat_s()
    assert first_downbeat is not None
    beats = round((first_downbeat - 0.3) * 124 / 60)
    assert beats == (downbeat_beats % bar)


def test_traktor_key_numbers_follow_traktors_table() -> None:
    # 0-11 major from C, 12-23 minor from C minor (Traktor's MUSICAL_KEY VALUE).
    assert musical_key_value("C", "major") == 0
    assert musical_key_value("F#", "major") == 6
    assert musical_key_value("B", "major") == 11
    assert musical_key_value("C", "minor") == 12
    assert musical_key_value("A", "minor") == 21
    assert musical_key_value("Bb", "minor") == 22
    assert musical_key_value("A#", "minor") == 22
    assert musical_key_value("B", "minor") == 23
    assert musical_key_value(None, None) is None


def test_traktor_location_splits_volume_dir_and_file() -> None:
    assert location("/music/a b/x & y.mp3", "") == ("", "/:music/:a b/:", "x & y.mp3")
    assert location("/x.mp3", "Macintosh HD") == ("Macintosh HD", "/:", "x.mp3")


def nml(tracks: list[ExportTrack], volume: str = "") -> ET.Element:
    buf = io.StringIO()
    write(TraktorWriter(buf, "Set & more", volume), tracks)
    return ET.fromstring(buf.getvalue().encode())


def test_traktor_nml_structure_parses_back() -> None:
    tracks = [BASE, *AWKWARD]
    root = nml(tracks, volume="Macintosh HD")
    assert root.tag == "NML" and root.get("VERSION") == "19"
    collection = root.find("COLLECTION")
    assert collection is not None and collection.get("ENTRIES") == str(len(tracks))
    entries = collection.findall("ENTRY")
    assert len(entries) == len(tracks)
    for entry, t in zip(entries, tracks, strict=True):
        loc = entry.find("LOCATION")
        assert loc is not None
        dir_, file = loc.get("DIR"), loc.get("FILE")
        assert dir_ is not None and file is not None and loc.get("VOLUME") == "Macintosh HD"
        assert dir_.replace("/:", "/") + file == t.path
    first = entries[0]
    assert first.get("TITLE") == "Title" and first.get("ARTIST") == "Artist"
    tempo, key, cue = first.find("TEMPO"), first.find("MUSICAL_KEY"), first.find("CUE_V2")
    assert tempo is not None and float(tempo.get("BPM", "")) == 124.0
    assert key is not None and key.get("VALUE") == "21"
    assert cue is not None and (cue.get("NAME"), cue.get("TYPE")) == ("AutoGrid", "4")
    assert float(cue.get("START", "")) == pytest.approx(412.0)
    info = first.find("INFO")
    assert info is not None and info.get("KEY") == "1m" and info.get("PLAYTIME") == "242"
    assert entries[1].get("TITLE") == "Rock & Roll <live>"
    assert entries[3].find("CUE_V2") is None and entries[3].find("TEMPO") is None
    # grid of the 3/4 track: downbeat a bar after the first beat -> anchored on the first beat
    cue4 = entries[4].find("CUE_V2")
    assert cue4 is not None and float(cue4.get("START", "")) == pytest.approx(100.0)


def test_traktor_playlist_keys_name_the_collection_entries() -> None:
    tracks = [BASE, *AWKWARD]
    root = nml(tracks, volume="Macintosh HD")
    node = root.find("PLAYLISTS/NODE/SUBNODES/NODE")
    assert node is not None and node.get("NAME") == "Set & more"
    playlist = node.find("PLAYLIST")
    assert playlist is not None and playlist.get("ENTRIES") == str(len(tracks))
    keys = [k.get("KEY") for k in playlist.iter("PRIMARYKEY")]
    expected = []
    for entry in root.iterfind("COLLECTION/ENTRY"):
        loc = entry.find("LOCATION")
        assert loc is not None
        expected.append(f"{loc.get('VOLUME')}{loc.get('DIR')}{loc.get('FILE')}")
    assert keys == expected


def test_m3u_lists_duration_label_and_path() -> None:
    buf = io.StringIO()
    writer = M3uWriter(buf, "x")
    tracks = [BASE, *AWKWARD, replace(BASE, path="/music/new\nline.mp3")]
    write(writer, tracks)
    lines = buf.getvalue().splitlines()
    assert lines[:2] == ["#EXTM3U", "#PLAYLIST:x"]
    pairs = list(zip(lines[2::2], lines[3::2], strict=True))
    assert pairs[0] == ("#EXTINF:242,Artist - Title", "/music/house/track.mp3")
    assert pairs[1] == ('#EXTINF:242,Simon "&" Garfunkel - Rock & Roll <live>',
                        "/music/with space/Rock & Roll.mp3")
    assert pairs[2][1] == "/música/Beyoncé/Déjà vu \u2013 日本語.flac"
    assert pairs[3] == ("#EXTINF:242,#1 hit?.wav", "/music/50% off/#1 hit?.wav")
    assert pairs[4][0] == "#EXTINF:242,line break - bad\x01ctrl tab"
    assert len(pairs) == 5 and writer.skipped == 1
