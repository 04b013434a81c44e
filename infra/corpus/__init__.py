"""Synthetic ground-truth corpus: labelled MIDI-rendered tracks and deliberately bad files."""
