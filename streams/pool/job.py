"""What a pool child runs per file by default: the analysis, then the fingerprint.

The analyser is imported with this module, so a child has Essentia loaded before it says
it is ready (the per-file timeout then measures the work, not the imports).
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from streams.analysis.core import FileAnalysis, analyse_file
from streams.pool.fingerprint import fingerprint


def analyse_and_fingerprint(path: str | Path) -> FileAnalysis:
    """The analysis, then (only if it succeeded) the fingerprint, so an undecodable file
    fails with the analyser's precise reason."""
    analysis = analyse_file(path)
    return msgspec.structs.replace(analysis, fingerprint=fingerprint(path))
