"""A folder of real recordings with human labels (laid out like gtzan-dev): labels and genres.

The folder holds audio files and `labels.json` mapping each file name to
{"bpm": float, "key": "G", "scale": "minor"} (key and scale absent where unlabelled). The
genre, where the folder gives one, is the file-name prefix before the first dot
("blues.00000.wav" -> "blues"): used for per-genre scores and cross-validation folds only,
never as an input to the analysis. The audio stays where it is: never copied anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LABELS = "labels.json"


def load_real_labels(folder: Path) -> dict[str, dict[str, Any]]:
    """File name -> label, for the files that exist; raises with a clear message otherwise."""
    labels_path = folder / LABELS
    if not labels_path.is_file():
        raise SystemExit(f"{labels_path} not found: --real takes a folder of audio files "
                         f"with a {LABELS} (see benchmarks/README.md)")
    labels: dict[str, dict[str, Any]] = json.loads(labels_path.read_text())
    missing = [name for name in labels if not (folder / name).is_file()]
    if missing:
        raise SystemExit(f"{len(missing)} labelled files missing in {folder}, e.g. {missing[0]}")
    return dict(sorted(labels.items()))


def genre_of(name: str) -> str:
    """The genre prefix of a file name, or "" when the name has none."""
    stem = Path(name).stem
    return stem.split(".", 1)[0] if "." in stem else ""
