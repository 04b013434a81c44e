"""Generate the labelled corpus: compose, render, encode tracks in parallel; write labels.json."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from infra.corpus.midi import compose
from infra.corpus.plan import DEFAULT_FORMATS, TrackSpec, plan_corpus
from infra.corpus.render import check_tools, encode, render_wav

LABELS_FILE = "labels.json"
GENERATOR_VERSION = 1

Progress = Callable[[int, int], None]


def build_track(spec: TrackSpec, out_dir: Path) -> Path:
    """Compose, synthesize and encode one track; returns the encoded file."""
    out = out_dir / spec.file
    with tempfile.TemporaryDirectory(prefix="corpus-", dir=out_dir) as tmp:
        midi_path, wav_path = Path(tmp) / "track.mid", Path(tmp) / "track.wav"
        compose(spec).save(str(midi_path))
        render_wav(midi_path, wav_path, spec.gain)
        encode(wav_path, out, spec.fmt, spec.seconds, spec.tags())
    return out


def generate_corpus(out_dir: str | Path, count: int = 120, seconds: float = 25.0,
                    formats: tuple[str, ...] = DEFAULT_FORMATS, seed: int = 0,
                    workers: int | None = None, progress: Progress | None = None,
                    ) -> list[dict[str, Any]]:
    """Write `count` labelled tracks plus labels.json into `out_dir`; returns the labels.

    The work is subprocess-bound (fluidsynth, ffmpeg), so threads parallelise it across
    cores without pickling. Output is deterministic for a given seed.
    """
    check_tools()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    specs = plan_corpus(count, seconds, formats, seed)
    done = 0
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        futures = [pool.submit(build_track, spec, out) for spec in specs]
        for future in as_completed(futures):
            future.result()
            done += 1
            if progress is not None:
                progress(done, len(specs))
    labels = [spec.label() for spec in specs]
    # "tagged": files carry artist/title/album (older corpora lack them; the demo regenerates).
    document = {"generator_version": GENERATOR_VERSION, "tagged": True, "seed": seed,
                "count": count,
                "seconds": seconds, "tempo_unit": "quarter notes per minute", "tracks": labels}
    (out / LABELS_FILE).write_text(json.dumps(document, indent=1) + "\n")
    return labels


def load_labels(corpus_dir: str | Path) -> list[dict[str, Any]]:
    """The track labels of a generated corpus, each with an absolute `path`."""
    root = Path(corpus_dir)
    document = json.loads((root / LABELS_FILE).read_text())
    return [{**t, "path": str(root / t["file"])} for t in document["tracks"]]
