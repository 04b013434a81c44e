"""Compose a labelled track as a General MIDI file: drums, bass, chords and a diatonic melody."""

from __future__ import annotations

import math
import random

import mido

from infra.corpus.plan import TrackSpec
from infra.corpus.styles import CRASH, STYLES, Style, hits
from infra.corpus.theory import (
    PROGRESSIONS,
    key_pc,
    melody_pcs,
    nearest_pitch,
    triad,
    voicing,
)

TPB = 480  # ticks per quarter note
STEP = TPB // 4  # one 16th note
DRUM_CH, BASS_CH, COMP_CH, LEAD_CH = 9, 0, 1, 2

Event = tuple[int, int, mido.Message]  # (tick, order, message); note-offs sort before note-ons


class _Score:
    """Collects absolute-time notes and turns them into one type-0 MIDI track."""

    def __init__(self, rng: random.Random) -> None:
        self.events: list[Event] = []
        self.rng = rng

    def note(self, ch: int, pitch: int, start: int, length: int, vel: int) -> None:
        vel = max(1, min(127, vel + self.rng.randint(-6, 6)))  # light humanisation
        length = max(STEP // 2, length)
        on = mido.Message("note_on", channel=ch, note=pitch, velocity=vel)
        self.events.append((start, 1, on))
        self.events.append((start + length, 0, mido.Message("note_off", channel=ch, note=pitch)))

    def track(self, header: list[mido.Message | mido.MetaMessage]) -> mido.MidiTrack:
        track = mido.MidiTrack(header)
        now = 0
        for tick, _, msg in sorted(self.events, key=lambda e: (e[0], e[1])):
            track.append(msg.copy(time=tick - now))
            now = tick
        track.append(mido.MetaMessage("end_of_track", time=TPB))
        return track


def _pattern_notes(score: _Score, style: Style, pattern: str, bar_start: int, ch: int,
                   pitches: list[int], length: int | None = None) -> None:
    cells = hits(pattern)
    for i, (step, vel) in enumerate(cells):
        nxt = cells[i + 1][0] if i + 1 < len(cells) else style.steps_per_bar
        dur = length if length is not None else (nxt - step) * STEP - STEP // 4
        for p in pitches:
            score.note(ch, p, bar_start + step * STEP, dur, vel)


def _drums(score: _Score, style: Style, bar: int, bar_start: int) -> None:
    for pitch, pattern in style.drums.items():
        _pattern_notes(score, style, pattern, bar_start, DRUM_CH, [pitch], STEP)
    if style.crash_every and bar % (style.crash_every * 2) == 0:
        score.note(DRUM_CH, CRASH, bar_start, STEP, 90)


def _comp(score: _Score, style: Style, chord: tuple[int, int, int], bar_start: int) -> None:
    notes = voicing(chord, 64)
    if style.comp_mode == "arp":
        for i, (step, vel) in enumerate(hits(style.comp)):
            score.note(COMP_CH, notes[i % len(notes)], bar_start + step * STEP, 2 * STEP, vel - 15)
    elif style.comp_mode == "stab":
        _pattern_notes(score, style, style.comp, bar_start, COMP_CH, notes, STEP + STEP // 2)
    else:
        _pattern_notes(score, style, style.comp, bar_start, COMP_CH, notes)


def _melody(score: _Score, style: Style, spec: TrackSpec, degree: int, bar_start: int,
            last: int, final: bool) -> int:
    """One bar of melody: chord tones on beats, stepwise scale motion in between."""
    tonic = key_pc(spec.key)
    pcs = melody_pcs(tonic, spec.scale, degree)
    scale_notes = [p for p in range(60, 85) if p % 12 in pcs]
    chord = triad(tonic, spec.scale, degree)
    for beat in range(style.beats_per_bar):
        start = bar_start + beat * TPB
        if final and beat == 0:  # end every piece on the tonic
            pitch = nearest_pitch(tonic, last)
            score.note(LEAD_CH, pitch, start, style.beats_per_bar * TPB - STEP, 100)
            return pitch
        target = nearest_pitch(score.rng.choice(chord), last)
        target = min(scale_notes, key=lambda p: abs(p - target))
        if score.rng.random() < style.melody_density:
            idx = scale_notes.index(target)
            step = idx + score.rng.choice((-1, 1))
            passing = scale_notes[max(0, min(len(scale_notes) - 1, step))]
            score.note(LEAD_CH, target, start, TPB // 2 - STEP // 4, 100)
            score.note(LEAD_CH, passing, start + TPB // 2, TPB // 2 - STEP // 4, 80)
            last = passing
        else:
            score.note(LEAD_CH, target, start, TPB - STEP // 4, 96)
            last = target
    return last


def compose(spec: TrackSpec) -> mido.MidiFile:
    """The MIDI file for `spec`: enough bars to cover spec.seconds, ending on the tonic."""
    style = STYLES[spec.style]
    rng = random.Random(spec.seed)
    score = _Score(rng)
    tonic = key_pc(spec.key)
    progression = PROGRESSIONS[spec.scale][spec.progression]
    bars = math.ceil(spec.seconds * spec.bpm / 60 / style.beats_per_bar) + 1
    bass_prog, comp_prog, lead_prog = style.programs
    header: list[mido.Message | mido.MetaMessage] = [
        mido.MetaMessage("set_tempo", tempo=spec.tempo_us),
        mido.MetaMessage("time_signature", numerator=style.beats_per_bar, denominator=4),
        mido.Message("program_change", channel=BASS_CH, program=bass_prog),
        mido.Message("program_change", channel=COMP_CH, program=comp_prog),
        mido.Message("program_change", channel=LEAD_CH, program=lead_prog),
        mido.Message("control_change", channel=COMP_CH, control=7, value=85),
        mido.Message("control_change", channel=LEAD_CH, control=7, value=90),
    ]
    last = 72
    for bar in range(bars):
        bar_start = bar * style.steps_per_bar * STEP
        final = bar == bars - 1
        degree = 0 if final else progression[bar % len(progression)]
        chord = triad(tonic, spec.scale, degree)
        _drums(score, style, bar, bar_start)
        _pattern_notes(score, style, style.bass, bar_start, BASS_CH, [nearest_pitch(chord[0], 40)])
        _comp(score, style, chord, bar_start)
        if bar >= 1:  # one bar of groove before the melody enters
            last = _melody(score, style, spec, degree, bar_start, last, final)
    midi = mido.MidiFile(type=0, ticks_per_beat=TPB)
    midi.tracks.append(score.track(header))
    return midi
