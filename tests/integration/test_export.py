"""`tracktion export` against the real PostgreSQL (and Neo4j for --playlist): generated
tracks projected by the real writers, exported through the CLI, read back by pyrekordbox,
ElementTree and line by line; the selection equals what `query tracks` / `query playlist`
return for the same options."""

from __future__ import annotations

import json
import random
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest
from pyrekordbox.rbxml import RekordboxXml
from typer.testing import CliRunner

from infra.settings import Settings
from projections.base import Positioned
from projections.neo4j.writer import Neo4jWriter
from projections.postgres.apply import PostgresProjector
from projections.postgres.writer import PostgresWriter
from schemas.codec import AnyEvent
from schemas.file_events import Tags
from streams.cli.main import app
from tests import builders as build
from tests.builders import file_info
from tests.integration.projections.neo4j_support import feed
from tests.unit.schemas.samples import FEATURES

SERVICES = ("postgres", "neo4j")

pytestmark = pytest.mark.integration

ROOT = "/srv/Music Library"
KEYS = [("A", "minor", "8A", "1m"), ("E", "minor", "9A", "2m"), ("C", "major", "8B", "1d"),
        ("D", "minor", "7A", "12m"), ("F#", "major", "2B", "7d")]
NAMES = ["Rock & Roll", "Déjà vu \u2013 日本語", "50% off #1", "plain", "a  b  c", "<tag> \"q\""]


def generated(n: int, seed: int = 7) -> list[AnyEvent]:
    """n tracks, each discovered and analysed; awkward paths, tags and grids."""
    rng = random.Random(seed)
    events: list[AnyEvent] = []
    for i in range(n):
        name = NAMES[i % len(NAMES)]
        rel = f"{name}/{i:03d} {name}.{('mp3', 'flac', 'wav')[i % 3]}"
        info = file_info(rel, root=ROOT, size=1_000_000 + i, content_hash=f"{i:032x}",
                         format=rel.rsplit(".", 1)[1],
                         tags=Tags(artist=f"Artist & {i % 4}", title=f"{name} {i}",
                                   album="Ålbum"))
        key, scale, camelot, open_key = KEYS[i % len(KEYS)]
        gridless = i % 7 == 0
        features = msgspec.structs.replace(
            FEATURES, bpm=round(rng.uniform(118, 130), 2), key=key, scale=scale,
            camelot=camelot, open_key=open_key, duration_s=180.0 + i,
            first_beat_s=None if gridless else round(rng.uniform(0, 0.5), 3),
            grid_confidence=0.0 if gridless else 0.9, downbeat_s=None, beats_per_bar=None)
        events += [build.discovered(info), build.completed(info, features, f"an-{i}")]
    return events


@pytest.fixture
async def library(settings: Settings, uid: str) -> AsyncIterator[str]:
    """A schema holding 60 generated tracks, written by the real projection writer."""
    schema = f"t_{uid}_export"
    writer = PostgresWriter(settings, schema)
    await writer.setup()
    events = generated(60)
    batch = [Positioned(e, "t", 0, i) for i, e in enumerate(events)]
    await writer.write("postgres", PostgresProjector().apply(batch), {("t", 0): len(batch)})
    await writer.close()
    yield schema
    conn = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await conn.close()


def run(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def queried(schema: str, *options: str) -> list[dict[str, Any]]:
    out = run("query", "tracks", "--schema", schema, "--limit", "1000", "--json", *options)
    return list(json.loads(out.stdout))


def test_rekordbox_export_reads_back_with_pyrekordbox(library: str, tmp_path: Path) -> None:
    out = tmp_path / "my export & co.xml"
    result = json.loads(run("export", "rekordbox", str(out), "--schema", library,
                            "--json").stdout)
    assert result["tracks"] == 60 and result["format"] == "rekordbox"
    expected = queried(library)
    xml = RekordboxXml(out)
    tracks = xml.get_tracks()
    assert ["/" + t["Location"] for t in tracks] == [r["path"] for r in expected]
    for track, row in zip(tracks, expected, strict=True):
        assert track["AverageBpm"] == pytest.approx(row["bpm"], abs=0.005)
        assert track["Name"] == row["title"] and track["Artist"] == row["artist"]
        assert track["Tonality"] == row["key"] + ("m" if row["scale"] == "minor" else "")
        if row["first_beat_s"] is None:
            assert track.tempos == []
        else:
            (tempo,) = track.tempos
            assert tempo.Inizio == pytest.approx(row["first_beat_s"], abs=5e-4)
            assert (tempo.Metro, tempo.Battito) == ("4/4", 1)
    assert any(t.tempos == [] for t in tracks) and any(t.tempos for t in tracks)
    assert xml.get_playlist("Tracktion export").get_tracks() == list(range(1, 61))
    assert not list(tmp_path.glob(".*.tmp"))  # written via a temporary file, renamed


def test_exports_take_the_query_tracks_filters(library: str, tmp_path: Path) -> None:
    options = ("--compatible-with", "8A", "--bpm", "120..127")
    expected = [r["path"] for r in queried(library, *options)]
    assert 0 < len(expected) < 60
    out = tmp_path / "filtered.m3u8"
    run("export", "m3u", str(out), "--schema", library, *options)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#EXTM3U"
    assert [line for line in lines if not line.startswith("#")] == expected
    first = next(r for r in queried(library, *options))
    assert lines[2] == f"#EXTINF:{round(180.0 + int(first['path'].split('/')[-1][:3]))}," \
                       f"{first['artist']} - {first['title']}"
    limited = tmp_path / "three.m3u8"
    run("export", "m3u", str(limited), "--schema", library, "--limit", "3", *options)
    assert [ln for ln in limited.read_text().splitlines() if not ln.startswith("#")] == \
        expected[:3]


def test_traktor_export_has_locations_keys_and_grids(library: str, tmp_path: Path) -> None:
    out = tmp_path / "collection.nml"
    run("export", "traktor", str(out), "--schema", library, "--key", "Am",
        "--volume", "Macintosh HD", "--relocate", f"{ROOT}=/Volumes/DJ USB")
    expected = queried(library, "--key", "Am")
    root = ET.parse(out).getroot()
    entries = root.findall("COLLECTION/ENTRY")
    assert root.find("COLLECTION").get("ENTRIES") == str(len(expected)) == str(len(entries))  # type: ignore[union-attr]
    for entry, row in zip(entries, expected, strict=True):
        loc = entry.find("LOCATION")
        assert loc is not None and loc.get("VOLUME") == "Macintosh HD"
        path = (loc.get("DIR") or "").replace("/:", "/") + (loc.get("FILE") or "")
        assert path == row["path"].replace(ROOT, "/Volumes/DJ USB", 1)
        assert entry.find("MUSICAL_KEY").get("VALUE") == "21"  # type: ignore[union-attr]
        assert float(entry.find("TEMPO").get("BPM")) == pytest.approx(row["bpm"])  # type: ignore[union-attr,arg-type]
        cue = entry.find("CUE_V2")
        if row["first_beat_s"] is None:
            assert cue is None
        else:
            assert cue is not None and cue.get("TYPE") == "4" and cue.get("NAME") == "AutoGrid"
            assert float(cue.get("START", "")) == pytest.approx(row["first_beat_s"] * 1e3)
    keys = [k.get("KEY") for k in root.iter("PRIMARYKEY")]
    assert len(keys) == len(entries) and all(k and k.startswith("Macintosh HD/:Volumes/:DJ USB/:")
                                             for k in keys)


@pytest.fixture
async def graph(settings: Settings, uid: str, library: str) -> AsyncIterator[str]:
    """The same 60 tracks in a Neo4j namespace, for `query playlist` seeds."""
    writer = Neo4jWriter(settings, f"t_{uid}_export")
    await writer.setup()
    events = generated(60)
    await feed(writer, [Positioned(e, "t", 0, i) for i, e in enumerate(events)])
    yield writer.ns
    await writer.drop_namespace()
    await writer.close()


def test_playlist_export_keeps_the_query_playlist_order(graph: str, library: str,
                                                        tmp_path: Path) -> None:
    seed = f"{ROOT}/plain/003 plain.mp3"
    path = json.loads(run("query", "playlist", seed, "--length", "6", "--json",
                          "--namespace", graph).stdout)
    order = [step["track"]["path"] for step in path["tracks"]]
    assert len(order) >= 3 and order[0] == seed
    out = tmp_path / "set.xml"
    run("export", "rekordbox", str(out), "--schema", library, "--playlist", seed,
        "--length", "6", "--namespace", graph)
    xml = RekordboxXml(out)
    assert ["/" + t["Location"] for t in xml.get_tracks()] == order
    (playlist,) = xml.root_playlist_folder.get_playlists()
    assert playlist.name.startswith("Tracktion playlist from plain 3")
    assert playlist.get_tracks() == list(range(1, len(order) + 1))
    bad = CliRunner().invoke(app, ["export", "m3u", str(tmp_path / "x.m3u8"), "--schema",
                                   library, "--playlist", seed, "--key", "8A"])
    assert bad.exit_code != 0 and "no filters" in bad.output


def test_an_unreachable_database_fails_with_a_hint(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from infra.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://x:y@127.0.0.1:1/none")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["export", "m3u", str(tmp_path / "x.m3u8")])
        assert result.exit_code != 0
        assert not (tmp_path / "x.m3u8").exists()
    finally:
        get_settings.cache_clear()

