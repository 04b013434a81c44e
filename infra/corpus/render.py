"""Render MIDI to WAV with FluidSynth and encode it with ffmpeg (both Debian packages)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
RENDER_RATE = 44100

# Encoder settings per container. m4a/opus go out at 48 kHz so the corpus also
# exercises the analyser's resampling of non-44.1 kHz sources.
CODEC_ARGS: dict[str, list[str]] = {
    "mp3": ["-c:a", "libmp3lame", "-b:a", "192k"],
    "flac": ["-c:a", "flac"],
    "ogg": ["-c:a", "libvorbis", "-q:a", "5"],
    "wav": ["-c:a", "pcm_s16le"],
    "m4a": ["-c:a", "aac", "-b:a", "192k", "-ar", "48000"],
    "opus": ["-c:a", "libopus", "-b:a", "128k", "-ar", "48000"],
    "aiff": ["-c:a", "pcm_s16be"],
}


class ToolMissingError(RuntimeError):
    """fluidsynth, ffmpeg or the General MIDI soundfont is not installed."""


def check_tools() -> None:
    """Fail early with an actionable message when a rendering dependency is missing."""
    for tool in ("fluidsynth", "ffmpeg"):
        if shutil.which(tool) is None:
            raise ToolMissingError(f"{tool} not found: apt-get install {tool}")
    if not SOUNDFONT.exists():
        raise ToolMissingError(f"{SOUNDFONT} missing: apt-get install fluid-soundfont-gm")


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")


def render_wav(midi: Path, wav: Path, gain: float) -> None:
    """Synthesize `midi` to a 44.1 kHz stereo 16-bit WAV (fast, non-realtime render)."""
    _run(["fluidsynth", "-ni", "-q", "-g", f"{gain:.3f}", "-F", str(wav),
          "-r", str(RENDER_RATE), str(SOUNDFONT), str(midi)])


def encode(wav: Path, out: Path, fmt: str, seconds: float,
           tags: dict[str, str] | None = None) -> None:
    """Cut `wav` to `seconds` (short fade-out, no click) and encode it as `fmt`, tagged."""
    encode_with(wav, out, CODEC_ARGS[fmt], seconds, tags)


def encode_with(wav: Path, out: Path, codec_args: list[str], seconds: float,
                tags: dict[str, str] | None = None) -> None:
    """`encode` with explicit ffmpeg codec arguments (e.g. a given bit rate)."""
    fade = f"afade=t=out:st={max(0.0, seconds - 0.5):.3f}:d=0.5"
    metadata = [arg for k, v in (tags or {}).items() for arg in ("-metadata", f"{k}={v}")]
    _run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(wav), "-t", f"{seconds:.3f}",
          "-af", fade, *codec_args, *metadata, str(out)])
