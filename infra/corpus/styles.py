"""Style definitions: metre, tempo range, drum/bass/comping patterns and General MIDI instruments.

Patterns are strings on a 16th-note grid (4 steps per beat): 'X' accent, 'x' normal,
'o' soft, '.' rest. Every style keeps its quarter-note pulse explicit (bass, hats or
comping on the beat), so the labelled tempo (quarter notes per minute) is the tempo a
listener taps; the waltz is labelled in quarter notes too (3 beats per bar).
"""

from __future__ import annotations

from dataclasses import dataclass

# General MIDI percussion keys (channel 10).
KICK, SIDE_STICK, SNARE, CLAP, CLOSED_HAT, PEDAL_HAT, OPEN_HAT, CRASH, RIDE = (
    36, 37, 38, 39, 42, 44, 46, 49, 51,
)
_VELOCITY = {"X": 118, "x": 96, "o": 68}


@dataclass(frozen=True)
class Style:
    name: str
    tempo_range: tuple[float, float]
    beats_per_bar: int
    drums: dict[int, str]
    bass: str
    comp: str
    comp_mode: str  # "block" (held chord), "stab" (short chord) or "arp" (broken chord)
    programs: tuple[int, int, int]  # GM programs (bass, comp, lead), 0-based
    melody_density: float  # probability of an eighth-note subdivision per beat
    crash_every: int = 4

    @property
    def steps_per_bar(self) -> int:
        return self.beats_per_bar * 4


def hits(pattern: str) -> list[tuple[int, int]]:
    """(step, velocity) for each non-rest cell of a pattern string."""
    return [(i, _VELOCITY[c]) for i, c in enumerate(pattern) if c != "."]


STYLES: dict[str, Style] = {
    s.name: s
    for s in (
        Style("ballad", (60, 84), 4,
              {KICK: "x.......x.......", SIDE_STICK: "....x.......x...",
               CLOSED_HAT: "o.o.o.o.o.o.o.o."},
              bass="x.......x.......", comp="x.x.x.x.x.x.x.x.", comp_mode="arp",
              programs=(32, 0, 73), melody_density=0.3),
        Style("hiphop", (72, 100), 4,
              {KICK: "x.....x...x.....", SNARE: "....X.......X...",
               CLOSED_HAT: "x.o.x.o.x.o.x.o."},
              bass="x.....x...x.....", comp="x.......x.......", comp_mode="block",
              programs=(33, 4, 11), melody_density=0.4),
        Style("funk", (92, 116), 4,
              {KICK: "x.....x.x.....x.", SNARE: "....X.......X...",
               CLOSED_HAT: "xoxoxoxoxoxoxoxo"},
              bass="x..x..x.x..x..x.", comp="..x...x...x...x.", comp_mode="stab",
              programs=(36, 16, 61), melody_density=0.5),
        Style("waltz", (96, 180), 3,
              {KICK: "x...........", PEDAL_HAT: "....o...o..."},
              bass="x...........", comp="....x...x...", comp_mode="stab",
              programs=(32, 0, 40), melody_density=0.3, crash_every=0),
        Style("rock", (90, 180), 4,
              {KICK: "x.......x.x.....", SNARE: "....X.......X...",
               CLOSED_HAT: "x.o.x.o.x.o.x.o."},
              bass="x.x.x.x.x.x.x.x.", comp="x...x...x...x...", comp_mode="block",
              programs=(33, 29, 30), melody_density=0.4),
        Style("house", (116, 132), 4,
              {KICK: "x...x...x...x...", CLAP: "....x.......x...",
               CLOSED_HAT: "..o...o...o...o.", OPEN_HAT: "..............o."},
              bass="..x...x...x...x.", comp="..x.....x..x....", comp_mode="stab",
              programs=(38, 4, 80), melody_density=0.5),
        Style("halftime", (130, 170), 4,
              {KICK: "x.........x.....", SNARE: "........X.......",
               CLOSED_HAT: "x.o.x.o.x.o.x.o."},
              bass="x...x...x...x...", comp="x...............", comp_mode="block",
              programs=(38, 89, 80), melody_density=0.3),
        Style("dnb", (160, 180), 4,
              {KICK: "x.........x.....", SNARE: "....X.......X...",
               CLOSED_HAT: "x.o.x.o.x.o.x.o."},
              bass="x.......x.x.....", comp="x...............", comp_mode="block",
              programs=(39, 89, 81), melody_density=0.2),
    )
}


def styles_for_tempo(bpm: float) -> list[Style]:
    """Styles whose tempo range contains `bpm` (every bpm in 60-180 has at least one)."""
    return [s for s in STYLES.values() if s.tempo_range[0] <= bpm <= s.tempo_range[1]]
