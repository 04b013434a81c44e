"""Labelled duplicate sets: one rendering encoded several ways (the same recording), beside
decoys: other renderings with the same key, tempo, style and chord progression (different
recordings that a key/tempo match would confuse with the original)."""

from __future__ import annotations

import json
import os
import random
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from infra.corpus.midi import compose
from infra.corpus.plan import TrackSpec, plan_corpus
from infra.corpus.render import check_tools, encode_with, render_wav

# name -> (extension, ffmpeg codec arguments)
VARIANTS: dict[str, tuple[str, list[str]]] = {
    "flac": ("flac", ["-c:a", "flac"]),
    "mp3_320": ("mp3", ["-c:a", "libmp3lame", "-b:a", "320k"]),
    "mp3_128": ("mp3", ["-c:a", "libmp3lame", "-b:a", "128k"]),
    "ogg": ("ogg", ["-c:a", "libvorbis", "-q:a", "5"]),
}
LABELS_FILE = "duplicates.json"


def render_variants(spec: TrackSpec, out_dir: Path, group: str,
                    variants: tuple[str, ...]) -> list[dict[str, Any]]:
    """Render `spec` once and encode it as each variant; one label per file."""
    labels = []
    with tempfile.TemporaryDirectory(prefix="dup-", dir=out_dir) as tmp:
        midi_path, wav_path = Path(tmp) / "t.mid", Path(tmp) / "t.wav"
        compose(spec).save(str(midi_path))
        render_wav(midi_path, wav_path, spec.gain)
        for name in variants:
            ext, args = VARIANTS[name]
            out = out_dir / f"{group} {name}.{ext}"
            encode_with(wav_path, out, args, spec.seconds, spec.tags())
            labels.append({"path": str(out), "group": group, "variant": name, "key": spec.key,
                           "scale": spec.scale, "bpm": spec.bpm, "style": spec.style})
    return labels


def generate_duplicate_sets(out_dir: str | Path, originals: int, seconds: float = 30.0,
                            seed: int = 0, decoy_variants: tuple[str, ...] = ("flac", "mp3_128"),
                            workers: int | None = None) -> list[dict[str, Any]]:
    """`originals` recordings in every variant, each with one decoy recording (same key,
    tempo, style, progression; another seed) in `decoy_variants`. Writes duplicates.json."""
    check_tools()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    jobs: list[tuple[TrackSpec, str, tuple[str, ...]]] = []
    for spec in plan_corpus(originals, seconds, ("flac",), seed):
        jobs.append((spec, f"g{spec.index:03d}", tuple(VARIANTS)))
        decoy = replace(spec, seed=rng.randrange(2**31), index=spec.index + originals)
        jobs.append((decoy, f"g{spec.index:03d}-decoy", decoy_variants))
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        results = list(pool.map(lambda job: render_variants(job[0], out, *job[1:]), jobs))
    labels = [label for batch in results for label in batch]
    (out / LABELS_FILE).write_text(json.dumps({"seed": seed, "seconds": seconds,
                                               "files": labels}, indent=1) + "\n")
    return labels
