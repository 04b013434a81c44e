"""Turn ffmpeg's diagnostics into AnalysisError reasons and native stream facts."""

from __future__ import annotations

import re
from dataclasses import dataclass

from streams.analysis.decode import DecodeStats
from streams.analysis.errors import AnalysisError
from streams.analysis.probe import Probe

# First input audio stream line, e.g. "Stream #0:0: Audio: mp3, 44100 Hz, stereo, fltp, 192 kb/s"
_STREAM = re.compile(r"Stream #0:\d+(?:\[\w+\])?(?:\(\w+\))?: Audio: (\w+)[^,\n]*, (\d+) Hz, "
                     r"([^,\n]+)(?:,[^,\n]*)?(?:, (\d+) kb/s)?")
_LAYOUT_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "4.0": 4, "5.0": 5, "5.1": 6,
                    "6.1": 7, "7.1": 8}
_TRUNCATION_TOLERANCE_S = 1.0
_TRUNCATION_TOLERANCE_FRACTION = 0.02

_NOT_FOUND = ("No such file or directory",)
_IO = ("Input/output error", "Permission denied", "Stale file handle")
_UNSUPPORTED = ("Decoder (codec", "not supported", "Unsupported codec", "is not implemented",
                "Unknown decoder", "DRM")
_BROKEN = ("moov atom not found", "Invalid data found", "could not find codec parameters",
           "Could not find codec parameters", "Header missing", "invalid frame",
           "Error while decoding", "misdetection possible", "matches no streams",
           "Failed to read frame size", "Cannot determine format")


@dataclass(frozen=True)
class NativeFormat:
    codec: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    bit_rate: int | None = None


def native_format(stderr: str) -> NativeFormat:
    """The input stream as ffmpeg describes it (fallback when mutagen cannot parse)."""
    match = _STREAM.search(stderr.split("Output #0", 1)[0])
    if match is None:
        return NativeFormat()
    codec, rate, layout, kbps = match.groups()
    layout = layout.strip().split("(")[0]
    channels = _LAYOUT_CHANNELS.get(layout)
    if channels is None and layout.endswith("channels"):
        channels = int(layout.split()[0])
    return NativeFormat(codec, int(rate), channels, int(kbps) * 1000 if kbps else None)


def _tail(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "no decoder output"


def decode_failure(stats: DecodeStats, meta: Probe | None) -> AnalysisError:
    """Why a file produced no audio at all."""
    err = stats.stderr
    if any(s in err for s in _NOT_FOUND):
        return AnalysisError("not_found", "file vanished during decoding")
    if any(s in err for s in _IO):
        return AnalysisError("io_error", f"read error while decoding: {_tail(err)}", True)
    if any(s in err for s in _UNSUPPORTED):
        return AnalysisError("unsupported", f"no decoder for this audio: {_tail(err)}")
    if meta is None:  # neither mutagen nor ffmpeg recognise an audio container
        return AnalysisError("not_audio", "not a recognised audio file")
    if any(s in err for s in _BROKEN) or stats.returncode:
        return AnalysisError("corrupt", f"{meta.codec} stream does not decode: {_tail(err)}")
    return AnalysisError("corrupt", f"{meta.codec} stream holds no audio samples")


def check_truncation(decoded_s: float, meta: Probe | None) -> None:
    """Raise `corrupt` when an authoritative header promises much more audio than decodes.

    Decision: a truncated file fails instead of being analysed. Features of the first
    30 % of a track (key of the intro, wrong duration) would be stored as if they
    described the track, silently; failing tells the user to re-copy the file. Files
    whose length is only estimated (CBR mp3 without a Xing header, Ogg) cannot reveal
    truncation and are analysed as far as they decode.
    """
    if meta is None or not meta.authoritative or meta.declared_s is None:
        return
    slack = max(_TRUNCATION_TOLERANCE_S, _TRUNCATION_TOLERANCE_FRACTION * meta.declared_s)
    if decoded_s < meta.declared_s - slack:
        raise AnalysisError(
            "corrupt",
            f"truncated: decoded {decoded_s:.1f} s of the {meta.declared_s:.1f} s in its header")
