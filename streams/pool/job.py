"""What a pool child runs per file by default: the analysis, then the fingerprint.

The analyser is imported with this module, so a child has Essentia loaded before it says
it is ready (the per-file timeout then measures the work, not the imports).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams.analysis.core import Features, analyse_file
from streams.pool.fingerprint import fingerprint


@dataclass(frozen=True)
class Fingerprinted:
    """An analysis result with the file's fingerprint beside it (what a pool child sends)."""

    features: Features
    fingerprint: str | None

    def to_dict(self) -> dict[str, Any]:
        return {**self.features.to_dict(), "fingerprint": self.fingerprint}


def analyse_and_fingerprint(path: str | Path) -> Fingerprinted:
    """The analysis, then (only if it succeeded) the fingerprint, so an undecodable file
    fails with the analyser's precise reason."""
    features = analyse_file(path)
    return Fingerprinted(features, fingerprint(path))
