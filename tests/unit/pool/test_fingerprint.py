"""fpcalc in the pool child: a real fingerprint of a real file, None when it cannot be had."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.corpus.generate import generate_corpus
from streams.pool import fingerprint as fp


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One rendered 28 s track of the module's own: the benchmark corpus under
    benchmarks/corpus/ is generated, so a fresh clone does not have it when unit tests run."""
    root = tmp_path_factory.mktemp("fingerprint")
    generate_corpus(root, count=1, seconds=28.0, formats=("flac",), seed=11, workers=1)
    (track,) = sorted(root.glob("*.flac"))
    return track


def test_a_real_file_gets_about_eight_sub_fingerprints_per_second(clip: Path) -> None:
    text = fp.fingerprint(clip)
    assert text is not None, "fpcalc missing? infra/bootstrap.sh installs libchromaprint-tools"
    items = fp.decode_raw(text)
    assert 6 * 25 <= len(items) <= 9 * 31  # the clip is 28 s
    assert fp.fingerprint(clip) == text  # deterministic
    assert len(fp.decode_raw(fp.fingerprint(clip, seconds=10) or "")) < len(items)


def test_raw_items_round_trip_signed_or_not() -> None:
    assert fp.decode_raw(fp.encode_raw([1, -1, 2**31])) == [1, 2**32 - 1, 2**31]


def test_no_tool_or_no_audio_gives_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        clip: Path) -> None:
    text_file = tmp_path / "notes.flac"
    text_file.write_text("not audio at all")
    assert fp.fingerprint(text_file) is None
    assert fp.fingerprint(tmp_path / "missing.mp3") is None
    monkeypatch.setattr(fp, "FPCALC", "fpcalc-not-installed")
    assert fp.fingerprint(clip) is None
