"""Container metadata (codec, native rate, channels, bit rate, declared length) via mutagen."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mutagen
from mutagen.mp3 import BitrateMode

from streams.analysis.errors import AnalysisError


@dataclass(frozen=True)
class Probe:
    """What the container says. `declared_s` is authoritative only when the header stores
    the length (FLAC STREAMINFO, MP4 moov, WAV/AIFF chunk sizes, MP3 Xing/VBRI frame
    count); otherwise mutagen estimates it from the file size and it cannot reveal
    truncation."""

    codec: str
    sample_rate: int | None
    channels: int | None
    bit_rate: int | None
    declared_s: float | None
    authoritative: bool


_CODECS = {"MP3": "mp3", "FLAC": "flac", "OggVorbis": "vorbis", "OggOpus": "opus",
           "OggFLAC": "flac", "OggSpeex": "speex", "OggTheora": "theora", "WAVE": "pcm",
           "AIFF": "pcm", "AAC": "aac", "ASF": "wma", "MonkeysAudio": "ape",
           "WavPack": "wavpack", "TrueAudio": "tta", "Musepack": "musepack",
           "OptimFROG": "optimfrog", "DSF": "dsd", "DSDIFF": "dsd", "SMF": "midi"}
_NOT_DECODABLE = {"theora", "midi"}  # recognised containers that hold no decodable audio
_AUTHORITATIVE = {"FLAC", "WAVE", "AIFF", "MP4"}  # containers whose header stores the length


def check_file(path: Path) -> int:
    """Size of the file, or the precise AnalysisError for a path that cannot be read."""
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise AnalysisError("not_found", f"{path} does not exist") from exc
    except OSError as exc:
        raise AnalysisError("io_error", f"cannot stat {path}: {exc.strerror}", True) from exc
    if not path.is_file():
        raise AnalysisError("not_audio", f"{path} is not a regular file")
    if st.st_size == 0:
        raise AnalysisError("empty", f"{path} has zero bytes")
    if not os.access(path, os.R_OK):
        raise AnalysisError("io_error", f"{path} is not readable (permission denied)", True)
    return st.st_size


def _mp4_codec(info: Any) -> str:
    codec = str(getattr(info, "codec", "") or "")
    return "aac" if codec.startswith("mp4a") else (codec or "mp4")


def _authoritative(kind: str, info: Any) -> bool:
    if kind == "MP3":  # mutagen knows the bitrate mode only from a Xing/Info/VBRI header
        mode = getattr(info, "bitrate_mode", None)
        return mode is not None and mode != BitrateMode.UNKNOWN
    return kind in _AUTHORITATIVE


def probe(path: Path) -> Probe | None:
    """Metadata, or None when mutagen does not recognise the container (ffmpeg may still)."""
    try:
        parsed = mutagen.File(str(path))
    except FileNotFoundError as exc:
        raise AnalysisError("not_found", f"{path} vanished while probing") from exc
    except PermissionError as exc:
        raise AnalysisError("io_error", f"permission denied reading {path}", True) from exc
    except OSError as exc:
        raise AnalysisError("io_error", f"read error probing {path}: {exc}", True) from exc
    except Exception:  # mutagen raises many parser errors for non-audio bytes
        return None
    if parsed is None:
        return None
    info = parsed.info
    kind = type(parsed).__name__
    codec = _mp4_codec(info) if kind == "MP4" else _CODECS.get(kind, kind.lower())
    if codec in _NOT_DECODABLE:
        raise AnalysisError("unsupported", f"{kind} container holds no decodable audio")
    rate = getattr(info, "sample_rate", None) or (48000 if codec == "opus" else None)
    bit_rate = getattr(info, "bitrate", None)
    length = getattr(info, "length", None)
    return Probe(
        codec=codec,
        sample_rate=int(rate) if rate else None,
        channels=int(info.channels) if getattr(info, "channels", None) else None,
        bit_rate=int(bit_rate) if bit_rate else None,
        declared_s=float(length) if length else None,
        authoritative=bool(length) and _authoritative(kind, info),
    )
