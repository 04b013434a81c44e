"""The Camelot wheel: the 24 keys, their names, and which keys mix harmonically (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Relation = Literal["same", "relative", "adjacent"]

# Score rank of each relation: lower mixes better (used by queries to order candidates).
RELATION_RANK: dict[Relation, int] = {"same": 0, "relative": 1, "adjacent": 2}

# Spelled as the analyser (Essentia's key profiles) spells tonics, so a Key node's name
# equals the `key` feature of the tracks in it.
KEY_NAMES: tuple[str, ...] = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_ENHARMONIC = {"Db": "C#", "D#": "Eb", "Gb": "F#", "G#": "Ab", "A#": "Bb", "Cb": "B", "E#": "F",
               "Fb": "E", "B#": "C"}


@dataclass(frozen=True)
class CamelotKey:
    camelot: str  # "1A".."12A" (minor), "1B".."12B" (major)
    name: str  # tonic, e.g. "A"
    scale: Literal["major", "minor"]


@dataclass(frozen=True)
class Compatibility:
    src: str
    dst: str
    relation: Relation


def _major_number(pc: int) -> int:
    # One step clockwise on the wheel is a fifth up (7 semitones); C major is 8B.
    return (pc * 7 + 7) % 12 + 1


def camelot_of(pc: int, scale: Literal["major", "minor"]) -> str:
    """Camelot code of the key with tonic pitch class `pc` (C=0)."""
    if scale == "major":
        return f"{_major_number(pc)}B"
    # A minor key shares the number of its relative major, three semitones up.
    return f"{_major_number((pc + 3) % 12)}A"


def all_keys() -> tuple[CamelotKey, ...]:
    """The 24 keys ordered by Camelot number then letter (1A, 1B, 2A, ...)."""
    keys = [CamelotKey(camelot_of(pc, scale), KEY_NAMES[pc], scale)
            for pc in range(12) for scale in ("minor", "major")]
    return tuple(sorted(keys, key=lambda k: (int(k.camelot[:-1]), k.camelot[-1])))


def compatible(code: str) -> tuple[Compatibility, ...]:
    """Keys that mix with `code`: itself, its relative (other letter), and ±1 on the same ring."""
    number, letter = int(code[:-1]), code[-1]
    other = "B" if letter == "A" else "A"
    up, down = number % 12 + 1, (number - 2) % 12 + 1
    return (Compatibility(code, code, "same"),
            Compatibility(code, f"{number}{other}", "relative"),
            Compatibility(code, f"{up}{letter}", "adjacent"),
            Compatibility(code, f"{down}{letter}", "adjacent"))


def all_compatibilities() -> tuple[Compatibility, ...]:
    return tuple(c for k in all_keys() for c in compatible(k.camelot))


CAMELOT_CODES: frozenset[str] = frozenset(k.camelot for k in all_keys())


def normalise_camelot(camelot: str | None, key: str | None, scale: str | None) -> str | None:
    """A valid Camelot code from the analyser's output, or None if it names no real key.

    The analyser already sends `camelot`; it is trusted when well-formed and otherwise
    derived from `key` + `scale`, so one bad field does not drop the track from the wheel.
    """
    code = (camelot or "").strip().upper()
    if code in CAMELOT_CODES:
        return code
    tonic = _ENHARMONIC.get((key or "").strip(), (key or "").strip())
    if tonic in KEY_NAMES and scale in ("major", "minor"):
        return camelot_of(KEY_NAMES.index(tonic), "major" if scale == "major" else "minor")
    return None
