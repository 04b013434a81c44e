"""Chromaprint fingerprint of a file, computed in the pool child after the analysis.

`fpcalc` (Debian libchromaprint-tools) decodes the first `FINGERPRINT_SECONDS` of audio
and prints the raw fingerprint: one 32-bit sub-fingerprint per ~0.124 s. It travels as
base64 of the little-endian uint32 array (about 5 KB for 120 s), the form the duplicate
search compares bit by bit. A missing tool or an undecodable file gives None: the
analysis result stands without it, and the track is left out of duplicate search.
"""

from __future__ import annotations

import base64
import json
import shutil
import struct
import subprocess
from pathlib import Path

FPCALC = "fpcalc"
FINGERPRINT_SECONDS = 120  # Chromaprint's (and AcoustID's) default
TIMEOUT_S = 60.0


def encode_raw(items: list[int]) -> str:
    """Raw sub-fingerprints (signed or unsigned 32-bit) -> base64 of uint32 LE."""
    return base64.b64encode(struct.pack(f"<{len(items)}I", *(i & 0xFFFFFFFF for i in items))
                            ).decode("ascii")


def decode_raw(text: str) -> list[int]:
    data = base64.b64decode(text)
    return list(struct.unpack(f"<{len(data) // 4}I", data[:len(data) // 4 * 4]))


def fingerprint(path: str | Path, seconds: int = FINGERPRINT_SECONDS,
                timeout_s: float = TIMEOUT_S) -> str | None:
    """The file's raw Chromaprint fingerprint (base64), or None if fpcalc cannot give one."""
    tool = shutil.which(FPCALC)
    if tool is None:
        return None
    try:
        proc = subprocess.run([tool, "-raw", "-json", "-length", str(seconds), str(path)],
                              capture_output=True, text=True, timeout=timeout_s, check=False)
        items = json.loads(proc.stdout)["fingerprint"] if proc.stdout.strip() else None
    except (OSError, subprocess.TimeoutExpired, ValueError, KeyError, TypeError):
        return None
    if not items:
        return None
    return encode_raw([int(i) for i in items])

