from __future__ import annotations

import pytest

from streams.analysis.notation import KEYS, camelot, normalize_key, open_key

# The published Camelot and Open Key wheels, written out (not derived) so that a
# regression in the arithmetic cannot also regress the expectation.
CAMELOT = {
    ("C", "major"): "8B", ("G", "major"): "9B", ("D", "major"): "10B", ("A", "major"): "11B",
    ("E", "major"): "12B", ("B", "major"): "1B", ("F#", "major"): "2B", ("C#", "major"): "3B",
    ("Ab", "major"): "4B", ("Eb", "major"): "5B", ("Bb", "major"): "6B", ("F", "major"): "7B",
    ("A", "minor"): "8A", ("E", "minor"): "9A", ("B", "minor"): "10A", ("F#", "minor"): "11A",
    ("C#", "minor"): "12A", ("Ab", "minor"): "1A", ("Eb", "minor"): "2A", ("Bb", "minor"): "3A",
    ("F", "minor"): "4A", ("C", "minor"): "5A", ("G", "minor"): "6A", ("D", "minor"): "7A",
}
OPEN_KEY = {
    ("C", "major"): "1d", ("G", "major"): "2d", ("D", "major"): "3d", ("A", "major"): "4d",
    ("E", "major"): "5d", ("B", "major"): "6d", ("F#", "major"): "7d", ("C#", "major"): "8d",
    ("Ab", "major"): "9d", ("Eb", "major"): "10d", ("Bb", "major"): "11d", ("F", "major"): "12d",
    ("A", "minor"): "1m", ("E", "minor"): "2m", ("B", "minor"): "3m", ("F#", "minor"): "4m",
    ("C#", "minor"): "5m", ("Ab", "minor"): "6m", ("Eb", "minor"): "7m", ("Bb", "minor"): "8m",
    ("F", "minor"): "9m", ("C", "minor"): "10m", ("G", "minor"): "11m", ("D", "minor"): "12m",
}


def test_tables_cover_all_24_keys() -> None:
    assert set(CAMELOT) == set(OPEN_KEY) == {(k, s) for k in KEYS for s in ("major", "minor")}


@pytest.mark.parametrize(("key", "scale"), sorted(CAMELOT))
def test_camelot(key: str, scale: str) -> None:
    assert camelot(key, scale) == CAMELOT[(key, scale)]  # type: ignore[arg-type]


@pytest.mark.parametrize(("key", "scale"), sorted(OPEN_KEY))
def test_open_key(key: str, scale: str) -> None:
    assert open_key(key, scale) == OPEN_KEY[(key, scale)]  # type: ignore[arg-type]


def test_relative_keys_share_a_number() -> None:
    for key, scale in CAMELOT:
        if scale == "major":
            relative_minor = KEYS[(KEYS.index(key) + 9) % 12]
            assert camelot(key, "major")[:-1] == camelot(relative_minor, "minor")[:-1]
            assert open_key(key, "major")[:-1] == open_key(relative_minor, "minor")[:-1]


@pytest.mark.parametrize(("alias", "name"), [("G#", "Ab"), ("A#", "Bb"), ("D#", "Eb"),
                                             ("Db", "C#"), ("Gb", "F#"), ("C", "C")])
def test_essentia_spellings_are_normalised(alias: str, name: str) -> None:
    assert normalize_key(alias) == name
    assert camelot(alias, "minor") == camelot(name, "minor")


def test_unknown_key_is_rejected() -> None:
    with pytest.raises(ValueError):
        normalize_key("H")
