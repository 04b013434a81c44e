"""Every bad-file kind maps to its documented AnalysisError reason."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from streams.analysis.classify import check_truncation, native_format
from streams.analysis.core import analyse_file
from streams.analysis.errors import REASONS, AnalysisError
from streams.analysis.probe import Probe


@pytest.mark.parametrize(("kind", "reason"), [
    ("empty", "empty"),
    ("random", "not_audio"),
    ("text", "not_audio"),
    ("truncated", "corrupt"),
    ("silent", "silent"),
    ("short", "too_short"),
])
def test_bad_file_reasons(bad_files: dict[str, Path], kind: str, reason: str) -> None:
    with pytest.raises(AnalysisError) as info:
        analyse_file(bad_files[kind])
    assert info.value.reason == reason
    assert info.value.transient is False
    assert str(info.value).startswith(f"{reason}: ")


def test_truncated_message_names_both_durations(bad_files: dict[str, Path]) -> None:
    with pytest.raises(AnalysisError, match=r"truncated: decoded \d+\.\d s of the 20\.0 s"):
        analyse_file(bad_files["truncated"])


def test_vanished_path(tmp_path: Path) -> None:
    with pytest.raises(AnalysisError) as info:
        analyse_file(tmp_path / "gone.mp3")
    assert info.value.reason == "not_found"


def test_directory_is_not_audio(tmp_path: Path) -> None:
    with pytest.raises(AnalysisError) as info:
        analyse_file(tmp_path)
    assert info.value.reason == "not_audio"


def test_unreadable_file_is_transient_io_error(bad_files: dict[str, Path], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.access", lambda *_: False)
    with pytest.raises(AnalysisError) as info:
        analyse_file(bad_files["short"])
    assert (info.value.reason, info.value.transient) == ("io_error", True)


def test_error_pickles_with_its_fields() -> None:
    err = pickle.loads(pickle.dumps(AnalysisError("io_error", "disk went away", True)))
    assert (err.reason, err.message, err.transient) == ("io_error", "disk went away", True)


def test_unknown_reason_is_a_bug() -> None:
    with pytest.raises(ValueError):
        AnalysisError("timeout", "x")  # type: ignore[arg-type]
    assert set(REASONS) == {"not_found", "empty", "not_audio", "corrupt", "unsupported",
                            "too_short", "silent", "io_error"}


def probe(declared: float, authoritative: bool) -> Probe:
    return Probe("mp3", 44100, 2, 128000, declared, authoritative)


def test_truncation_needs_an_authoritative_length() -> None:
    check_truncation(6.0, probe(20.0, authoritative=False))  # estimated length: analyse
    check_truncation(19.7, probe(20.0, authoritative=True))  # within tolerance
    with pytest.raises(AnalysisError, match="truncated"):
        check_truncation(6.0, probe(20.0, authoritative=True))


def test_native_format_from_ffmpeg_banner() -> None:
    banner = ("Input #0, mp3, from 'x.mp3':\n  Duration: 00:04:00.03, bitrate: 192 kb/s\n"
              "  Stream #0:0: Audio: mp3, 44100 Hz, stereo, fltp, 192 kb/s\n"
              "Output #0, f32le, to 'pipe:1':\n"
              "  Stream #0:0: Audio: pcm_f32le, 22050 Hz, stereo, flt, 1411 kb/s\n")
    fmt = native_format(banner)
    assert (fmt.codec, fmt.sample_rate, fmt.channels, fmt.bit_rate) == ("mp3", 44100, 2, 192000)
    surround = "  Stream #0:1(und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, 5.1, fltp"
    assert native_format(surround).channels == 6
    assert native_format("garbage").codec is None
