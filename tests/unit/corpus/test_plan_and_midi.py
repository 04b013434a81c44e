"""Corpus plan and MIDI composition: deterministic, all keys, true labels."""

from __future__ import annotations

import itertools
from collections import Counter

import mido
import pytest

from infra.corpus.midi import DRUM_CH, TPB, compose
from infra.corpus.plan import TEMPO_RANGE, plan_corpus
from infra.corpus.styles import STYLES, styles_for_tempo
from infra.corpus.theory import KEY_NAMES, key_pc, melody_pcs, nearest_pitch, triad


def test_plan_is_deterministic_and_seed_dependent() -> None:
    assert plan_corpus(30, 20.0, seed=5) == plan_corpus(30, 20.0, seed=5)
    assert plan_corpus(30, 20.0, seed=5) != plan_corpus(30, 20.0, seed=6)


def test_plan_covers_all_keys_tempos_styles_formats() -> None:
    specs = plan_corpus(144, 25.0, ("mp3", "flac", "ogg", "wav", "m4a"), seed=1)
    keys = Counter((s.key, s.scale) for s in specs)
    assert len(keys) == 24 and set(keys.values()) == {6}  # each block of 24 has every key
    bpms = sorted(s.bpm for s in specs)
    assert TEMPO_RANGE[0] <= bpms[0] < 62 and 178 < bpms[-1] <= TEMPO_RANGE[1]
    assert max(b - a for a, b in itertools.pairwise(bpms)) < 5  # spread, no holes
    styles = Counter(s.style for s in specs)
    assert set(styles) == set(STYLES) and min(styles.values()) >= 10
    assert Counter(s.fmt for s in specs) == {f: 144 // 5 + (i < 144 % 5) for i, f in
                                             enumerate(("mp3", "flac", "ogg", "wav", "m4a"))}
    for s in specs:
        lo, hi = STYLES[s.style].tempo_range
        assert lo <= s.bpm <= hi


def test_label_bpm_is_exactly_the_midi_tempo() -> None:
    for spec in plan_corpus(50, 20.0, seed=2):
        assert 60_000_000 / spec.tempo_us == pytest.approx(spec.bpm, abs=1e-3)


def test_every_tempo_has_a_style() -> None:
    for bpm in range(60, 181):
        assert styles_for_tempo(float(bpm)), bpm


def test_unknown_format_rejected() -> None:
    with pytest.raises(ValueError):
        plan_corpus(3, 20.0, ("mp3", "wma"))


@pytest.mark.parametrize(("key", "scale", "degree", "pcs"), [
    ("C", "major", 0, ("C", "E", "G")),
    ("C", "major", 4, ("G", "B", "D")),
    ("A", "minor", 0, ("A", "C", "E")),
    ("A", "minor", 4, ("E", "Ab", "B")),  # harmonic-minor dominant: G# leading tone
    ("A", "minor", 3, ("D", "F", "A")),
])
def test_diatonic_triads(key: str, scale: str, degree: int, pcs: tuple[str, ...]) -> None:
    got = triad(key_pc(key), scale, degree)  # type: ignore[arg-type]
    assert tuple(KEY_NAMES[p] for p in got) == pcs


def test_melody_uses_leading_tone_only_over_the_dominant() -> None:
    a = key_pc("A")
    assert (a + 11) % 12 in melody_pcs(a, "minor", 4)
    assert (a + 11) % 12 not in melody_pcs(a, "minor", 0)


def test_nearest_pitch() -> None:
    assert nearest_pitch(0, 62) == 60 and nearest_pitch(0, 67) == 72


@pytest.mark.parametrize("style", sorted(STYLES))
def test_composed_midi_matches_its_spec(style: str) -> None:
    spec = next(s for s in plan_corpus(200, 20.0, seed=3) if s.style == style)
    midi = compose(spec)
    assert midi.ticks_per_beat == TPB
    track = midi.tracks[0]
    tempos = [m.tempo for m in track if m.type == "set_tempo"]
    signatures = [(m.numerator, m.denominator) for m in track if m.type == "time_signature"]
    assert tempos == [spec.tempo_us]
    assert signatures == [(STYLES[style].beats_per_bar, 4)]
    notes = [m for m in track if m.type == "note_on"]
    assert any(m.channel == DRUM_CH for m in notes)
    assert midi.length >= spec.seconds  # enough bars to cut `seconds` of audio from
    pitched = [m.note for m in notes if m.channel != DRUM_CH]
    tonic = key_pc(spec.key)
    allowed = set(melody_pcs(tonic, spec.scale, 0)) | set(melody_pcs(tonic, spec.scale, 4))
    assert {p % 12 for p in pitched} <= allowed  # diatonic (plus the leading tone in minor)
    last_lead = [m.note for m in notes if m.channel == 2][-1]
    assert last_lead % 12 == tonic  # every piece ends on the tonic


def test_midi_round_trips_through_a_file(tmp_path: object) -> None:
    spec = plan_corpus(1, 20.0, seed=4)[0]
    path = f"{tmp_path}/x.mid"
    compose(spec).save(path)
    assert mido.MidiFile(path).length == pytest.approx(compose(spec).length)
