"""Key notations: pitch-class spelling, Camelot wheel and Open Key codes."""

from __future__ import annotations

from typing import Literal

Scale = Literal["major", "minor"]

KEYS: tuple[str, ...] = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_ALIASES = {"Db": "C#", "D#": "Eb", "Gb": "F#", "G#": "Ab", "A#": "Bb", "Cb": "B", "B#": "C",
            "Fb": "E", "E#": "F"}


def normalize_key(name: str) -> str:
    """Spell a key name the way this project does (Essentia says 'G#'/'A#'; we say Ab/Bb)."""
    name = name.strip()
    if name in KEYS:
        return name
    if name in _ALIASES:
        return _ALIASES[name]
    raise ValueError(f"unknown key name {name!r}")


def _fifths_from_c(key: str, scale: Scale) -> int:
    """Steps clockwise round the circle of fifths from C major (major) / A minor (minor)."""
    pc = KEYS.index(normalize_key(key))
    ref = 0 if scale == "major" else 9  # C major and A minor share the top of both wheels
    return ((pc - ref) * 7) % 12


def camelot(key: str, scale: Scale) -> str:
    """Camelot code: C major = 8B, A minor = 8A; +1 per fifth clockwise (B major, A minor)."""
    number = (_fifths_from_c(key, scale) + 7) % 12 + 1
    return f"{number}{'B' if scale == 'major' else 'A'}"


def open_key(key: str, scale: Scale) -> str:
    """Open Key code: C major = 1d, A minor = 1m; +1 per fifth clockwise (d major, m minor)."""
    number = _fifths_from_c(key, scale) % 12 + 1
    return f"{number}{'d' if scale == 'major' else 'm'}"
