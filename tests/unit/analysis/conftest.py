"""Fixtures: a few short labelled clips and the bad-file zoo, generated once per session."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from infra.corpus.bad_files import generate_bad_files
from infra.corpus.generate import build_track
from infra.corpus.plan import TrackSpec

TOOLS = all(shutil.which(t) for t in ("ffmpeg", "fluidsynth")) and Path(
    "/usr/share/sounds/sf2/FluidR3_GM.sf2").exists()

# Chosen to cover the octave-correction edge cases: a ballad below 75 BPM (must not be
# doubled), fast rock (must not be halved) and four-on-the-floor house.
CLIP_SPECS = (
    TrackSpec(index=0, file="ballad_68_Ebmaj.flac", key="Eb", scale="major", bpm=68.0,
              style="ballad", seconds=20.0, fmt="flac", seed=11, progression=0, gain=0.6),
    TrackSpec(index=1, file="rock_172_F#min.ogg", key="F#", scale="minor", bpm=172.0,
              style="rock", seconds=20.0, fmt="ogg", seed=12, progression=1, gain=0.6),
    TrackSpec(index=2, file="house_124_Amin.mp3", key="A", scale="minor", bpm=124.0,
              style="house", seconds=20.0, fmt="mp3", seed=13, progression=3, gain=0.6),
)


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[TrackSpec, Path]]:
    if not TOOLS:
        pytest.fail("ffmpeg, fluidsynth or the SoundFont is missing: run `make bootstrap`",
                    pytrace=False)
    out = tmp_path_factory.mktemp("clips")
    with ThreadPoolExecutor() as pool:  # renders are subprocesses: threads use both cores
        paths = list(pool.map(lambda spec: build_track(spec, out), CLIP_SPECS))
    return list(zip(CLIP_SPECS, paths, strict=True))


@pytest.fixture(scope="session")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if not TOOLS:
        pytest.fail("ffmpeg, fluidsynth or the SoundFont is missing: run `make bootstrap`",
                    pytrace=False)
    return generate_bad_files(tmp_path_factory.mktemp("bad"), long_seconds=30.0)
