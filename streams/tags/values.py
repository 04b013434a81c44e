"""Which tag values an analysis gives (pure): BPM, initial key in the chosen notation, and
ReplayGain (plus R128 gain for Opus), as the text each format stores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

KeyNotation = Literal["standard", "camelot", "open_key"]
NOTATIONS: tuple[KeyNotation, ...] = ("standard", "camelot", "open_key")
R128_REFERENCE_LUFS = -23.0  # RFC 7845: R128 gains are relative to -23 LUFS


@dataclass(frozen=True)
class TagValues:
    """Normalised names -> text, the same for every format (writers map them)."""

    bpm: str
    key: str
    replaygain_track_gain: str
    replaygain_track_peak: str
    r128_track_gain: str

    def as_dict(self) -> dict[str, str]:
        return {"bpm": self.bpm, "key": self.key,
                "replaygain_track_gain": self.replaygain_track_gain,
                "replaygain_track_peak": self.replaygain_track_peak,
                "r128_track_gain": self.r128_track_gain}


def key_text(key: str, scale: str, camelot: str, open_key: str, notation: KeyNotation) -> str:
    """'Am' (standard), '8A' (Camelot) or '1m' (Open Key)."""
    if notation == "camelot":
        return camelot
    if notation == "open_key":
        return open_key
    return f"{key}{'m' if scale == 'minor' else ''}"


def tag_values(bpm: float, key: str, scale: str, camelot: str, open_key: str,
               replay_gain_db: float, peak_dbfs: float, loudness_lufs: float,
               notation: KeyNotation = "standard") -> TagValues:
    """BPM as a whole number (what ID3 TBPM and MP4 tmpo hold), the gains as players read
    them: "-9.10 dB", a linear peak, and R128 gain in Q7.8 steps of 1/256 dB."""
    peak = 10 ** (peak_dbfs / 20)
    r128 = max(-32768, min(32767, round((R128_REFERENCE_LUFS - loudness_lufs) * 256)))
    return TagValues(bpm=str(round(bpm)), key=key_text(key, scale, camelot, open_key, notation),
                     replaygain_track_gain=f"{replay_gain_db:+.2f} dB",
                     replaygain_track_peak=f"{peak:.6f}", r128_track_gain=str(r128))
