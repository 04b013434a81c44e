"""Deterministic corpus plan: which key, scale, tempo, style and format each track gets."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from infra.corpus.styles import styles_for_tempo
from infra.corpus.theory import KEY_NAMES, PROGRESSIONS, Scale

FORMATS: tuple[str, ...] = ("mp3", "flac", "ogg", "wav", "m4a", "opus", "aiff")
DEFAULT_FORMATS: tuple[str, ...] = ("mp3", "flac", "ogg", "wav", "m4a")
TEMPO_RANGE = (60.0, 180.0)


@dataclass(frozen=True)
class TrackSpec:
    """One track to generate; `bpm` is exact (derived from the integer MIDI tempo)."""

    index: int
    file: str
    key: str
    scale: Scale
    bpm: float
    style: str
    seconds: float
    fmt: str
    seed: int
    progression: int
    gain: float

    @property
    def tempo_us(self) -> int:
        """MIDI tempo (microseconds per quarter note)."""
        return round(60_000_000 / self.bpm)

    def tags(self) -> dict[str, str]:
        """Artist, title and album, so a generated library reads like one in every table."""
        style = self.style.replace("_", " ").title()
        return {"artist": f"The {style} Machines", "title": f"{style} Study No. {self.index + 1}",
                "album": "Tracktion Demo Library"}

    def label(self) -> dict[str, Any]:
        data = asdict(self)
        data["duration_s"] = data.pop("seconds")
        data["format"] = data.pop("fmt")
        return data


def all_keys() -> list[tuple[str, Scale]]:
    """The 24 major and minor keys."""
    scales: tuple[Scale, Scale] = ("major", "minor")
    return [(k, s) for s in scales for k in KEY_NAMES]


def _keys(count: int, rng: random.Random) -> list[tuple[str, Scale]]:
    """Each block of 24 tracks covers all 24 keys once, in a seeded order."""
    out: list[tuple[str, Scale]] = []
    while len(out) < count:
        block = all_keys()
        rng.shuffle(block)
        out.extend(block)
    return out[:count]


def _tempos(count: int, rng: random.Random) -> list[float]:
    """Stratified uniform tempos over 60-180 BPM (one per equal-width stratum, shuffled)."""
    lo, hi = TEMPO_RANGE
    strata = list(range(count))
    rng.shuffle(strata)
    return [lo + (hi - lo) * (s + rng.random()) / count for s in strata]


def plan_corpus(count: int, seconds: float, formats: tuple[str, ...] = DEFAULT_FORMATS,
                seed: int = 0) -> list[TrackSpec]:
    """The full, seed-deterministic list of tracks to generate."""
    unknown = set(formats) - set(FORMATS)
    if unknown or not formats:
        raise ValueError(f"unknown formats {sorted(unknown)}; choose from {FORMATS}")
    rng = random.Random(seed)
    keys, tempos = _keys(count, rng), _tempos(count, rng)
    specs: list[TrackSpec] = []
    used: Counter[str] = Counter()
    for i in range(count):
        key, scale = keys[i]
        # Least-used eligible style (ties broken by the seeded rng) keeps styles balanced
        # even though their tempo ranges overlap unevenly.
        eligible = styles_for_tempo(tempos[i])
        rng.shuffle(eligible)
        style = min(eligible, key=lambda s: used[s.name])
        used[style.name] += 1
        exact_bpm = 60_000_000 / round(60_000_000 / round(tempos[i], 1))
        fmt = formats[i % len(formats)]
        specs.append(TrackSpec(
            index=i, file=f"{i:04d}_{style.name}.{fmt}", key=key, scale=scale,
            bpm=round(exact_bpm, 4), style=style.name, seconds=seconds, fmt=fmt,
            seed=rng.randrange(2**31), progression=rng.randrange(len(PROGRESSIONS[scale])),
            gain=round(rng.uniform(0.35, 0.8), 3),
        ))
    return specs
