"""Music theory for the corpus: keys, diatonic triads and tonic-anchored chord progressions."""

from __future__ import annotations

from typing import Literal

Scale = Literal["major", "minor"]

KEY_NAMES: tuple[str, ...] = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

_MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
# Natural minor for melody/harmony, but the dominant (V) is always built on the
# harmonic-minor leading tone: a major V resolving to i is what makes a minor key
# distinguishable from its relative major (same pitch set otherwise).
_MINOR_STEPS = (0, 2, 3, 5, 7, 8, 10)

# Progressions as 0-based scale degrees; every one starts on the tonic and contains
# the dominant or subdominant so the tonal centre is unambiguous.
PROGRESSIONS: dict[Scale, tuple[tuple[int, ...], ...]] = {
    "major": ((0, 3, 4, 0), (0, 5, 3, 4), (0, 3, 0, 4), (0, 4, 5, 3), (0, 1, 4, 0)),
    "minor": ((0, 3, 4, 0), (0, 5, 3, 4), (0, 3, 0, 4), (0, 5, 4, 0), (0, 3, 5, 4)),
}


def key_pc(key: str) -> int:
    """Pitch class (C=0) of a key name from KEY_NAMES."""
    return KEY_NAMES.index(key)


def scale_pcs(tonic: int, scale: Scale) -> tuple[int, ...]:
    """The seven pitch classes of the scale, tonic first."""
    steps = _MAJOR_STEPS if scale == "major" else _MINOR_STEPS
    return tuple((tonic + s) % 12 for s in steps)


def melody_pcs(tonic: int, scale: Scale, degree: int) -> tuple[int, ...]:
    """Scale used by the melody over the chord on `degree` (leading tone over V in minor)."""
    pcs = list(scale_pcs(tonic, scale))
    if scale == "minor" and degree == 4:
        pcs[6] = (tonic + 11) % 12
    return tuple(pcs)


def triad(tonic: int, scale: Scale, degree: int) -> tuple[int, int, int]:
    """Pitch classes (root, third, fifth) of the diatonic triad on `degree`."""
    pcs = melody_pcs(tonic, scale, degree)
    return pcs[degree % 7], pcs[(degree + 2) % 7], pcs[(degree + 4) % 7]


def nearest_pitch(pc: int, around: int) -> int:
    """The MIDI note with pitch class `pc` closest to `around`."""
    base = around - ((around - pc) % 12)
    return base if around - base <= 6 else base + 12


def voicing(chord: tuple[int, int, int], around: int) -> list[int]:
    """A close-position voicing of the triad near `around`, root doubled an octave below."""
    root = nearest_pitch(chord[0], around - 5)
    third = nearest_pitch(chord[1], root + 4)
    fifth = nearest_pitch(chord[2], root + 7)
    return sorted({root, third, fifth})
