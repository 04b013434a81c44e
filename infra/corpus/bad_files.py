"""Deliberately broken or extreme files for testing the analyser's error handling."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

from infra.corpus.render import check_tools

# A decaying 880 Hz blip every 0.5 s: a 120 BPM click track that costs nothing to make.
_CLICKS = "0.6*sin(2*PI*880*t)*exp(-40*mod(t\\,0.5))"


def _ffmpeg(*args: str) -> None:
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed: {proc.stderr.strip()[-500:]}")


def click_track(out: Path, seconds: float, sample_rate: int = 8000, bitrate: str = "24k") -> Path:
    """A mono 120 BPM click track, encoded by extension (fast: low rate, lavfi source)."""
    source = f"aevalsrc={_CLICKS}:s={sample_rate}:d={seconds}"
    _ffmpeg("-f", "lavfi", "-i", source, "-ac", "1", "-b:a", bitrate, str(out))
    return out


def tone_mp3(out: Path, seconds: float = 20.0) -> Path:
    """A 44.1 kHz stereo mp3 of a chord over clicks (source for the truncated file)."""
    chord = "+".join(f"0.15*sin(2*PI*{f}*t)" for f in (261.63, 329.63, 392.0))
    source = f"aevalsrc={_CLICKS}+{chord}:s=44100:d={seconds}"
    _ffmpeg("-f", "lavfi", "-i", source, "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k",
            str(out))
    return out


def generate_bad_files(out_dir: str | Path, long_seconds: float = 7200.0,
                       seed: int = 0) -> dict[str, Path]:
    """Write the bad-file zoo into `out_dir`; returns kind -> path.

    Kinds: empty (0-byte .mp3), truncated (first 30 % of an mp3), random (random bytes
    named .mp3), text (a text file named .flac), silent (20 s of digital silence),
    short (1 s of clicks) and long (`long_seconds` of clicks, 8 kHz mono mp3; the default
    two hours stands in for a DJ set).
    """
    check_tools()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {kind: out / name for kind, name in (
        ("empty", "empty.mp3"), ("truncated", "truncated.mp3"), ("random", "random.mp3"),
        ("text", "text.flac"), ("silent", "silent.wav"), ("short", "short.mp3"),
        ("long", "long.mp3"),
    )}
    files["empty"].write_bytes(b"")
    whole = tone_mp3(out / "whole.mp3")
    data = whole.read_bytes()
    files["truncated"].write_bytes(data[: int(len(data) * 0.3)])
    whole.unlink()
    files["random"].write_bytes(random.Random(seed).randbytes(256 * 1024))
    files["text"].write_text("This is not a FLAC file, just some text.\n" * 200)
    _ffmpeg("-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo", "-t", "20", str(files["silent"]))
    click_track(files["short"], 1.0, 44100, "128k")
    click_track(files["long"], long_seconds)
    return files
