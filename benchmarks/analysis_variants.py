"""Accuracy and cost of the analysis variants that were weighed, on real and rendered music at once.

Each variant is a (tempo, key) parameter set of streams.analysis; every one is scored on the
same clips in the same run: the real folder (human labels) and the rendered corpus. CPU is
measured per stage where the variants differ in cost (key: frame hop; tempo: with or
without the octave check). The first row approximates the analyser before the real-music
work (main 6298f70: walk thresholds for the rendered corpus, no octave check, Essentia's
loudness-weighted chroma every other frame with the bgate profile).

    .venv/bin/python -m benchmarks.analysis_variants --real ../shared/realmusic/gtzan-dev
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.analysis_common import (
    ACC2_FACTORS,
    CORPUS_ROOT,
    FORMATS,
    ensure_corpus,
    tempo_hit,
)
from benchmarks.analysis_tuning import Clip as TempoClip
from benchmarks.analysis_tuning import key_strength_and_score, tempo_of
from benchmarks.machine import write_result
from benchmarks.real_music import genre_of, load_real_labels
from streams.analysis.decode import DecodedStream
from streams.analysis.key import (
    DEFAULT_KEY_PARAMS,
    KeyAccumulator,
    KeyParams,
)
from streams.analysis.onset import OnsetAccumulator
from streams.analysis.tempo import DEFAULT_TEMPO_PARAMS, TempoParams, normalise, periodicity
from streams.analysis.tempo_prior import OctavePrior

NO_CHECK = OctavePrior(walk_bonus=1e9)  # the walk's level always wins
V1_TEMPO = TempoParams(q_fast=0.2, max_bpm=190.0, octave=NO_CHECK)
V1_KEY = KeyParams(profile="bgate", hop=8192, unit_sum_frames=False)


@dataclass(frozen=True)
class Variant:
    name: str
    tempo: TempoParams
    key: KeyParams


VARIANTS = (
    Variant("before (6298f70-like): rendered-corpus walk, no octave check; bgate, "
            "loudness-weighted, hop 8192", V1_TEMPO, V1_KEY),
    Variant("walk retuned (q_fast 0.4, max 250), no octave check",
            replace(DEFAULT_TEMPO_PARAMS, octave=NO_CHECK), DEFAULT_KEY_PARAMS),
    Variant("octave check without the walk's bonus (prior decides)",
            replace(DEFAULT_TEMPO_PARAMS, octave=replace(DEFAULT_TEMPO_PARAMS.octave,
                                                         walk_bonus=1.0)), DEFAULT_KEY_PARAMS),
    Variant("shipped", DEFAULT_TEMPO_PARAMS, DEFAULT_KEY_PARAMS),
    Variant("shipped, key every other frame (hop 8192)", DEFAULT_TEMPO_PARAMS,
            replace(DEFAULT_KEY_PARAMS, hop=8192)),
    Variant("shipped, loudness-weighted chroma (no unit-sum frames)", DEFAULT_TEMPO_PARAMS,
            replace(DEFAULT_KEY_PARAMS, unit_sum_frames=False)),
    Variant("shipped, bgate profile", DEFAULT_TEMPO_PARAMS,
            replace(DEFAULT_KEY_PARAMS, profile="bgate")),
    Variant("shipped, edma profile", DEFAULT_TEMPO_PARAMS,
            replace(DEFAULT_KEY_PARAMS, profile="edma")),
)


@dataclass
class VariantClip:
    tempo: TempoClip
    chroma: dict[tuple[int, bool], np.ndarray]  # (hop, unit_sum) -> 120-bin chroma
    key_cpu: dict[tuple[int, bool], float]


def _chroma_modes() -> set[tuple[int, bool]]:
    return {(v.key.hop, v.key.unit_sum_frames) for v in VARIANTS}


def reduce_clip(path: Path, name: str, group: str, label: dict[str, Any]) -> VariantClip:
    chunks = [np.ascontiguousarray(c[:, 0]) for c in DecodedStream(path, 1)]
    onsets = OnsetAccumulator()
    for chunk in chunks:
        onsets.feed(chunk)
    frames = onsets.result()
    odf, low = normalise(frames.flux), normalise(frames.flux_low)
    chroma, cpu = {}, {}
    for hop, unit in sorted(_chroma_modes()):
        start = time.thread_time()
        acc = KeyAccumulator(KeyParams(hop=hop, unit_sum_frames=unit))
        for chunk in chunks:
            acc.feed(chunk)
        chroma[(hop, unit)] = acc.chroma()
        cpu[(hop, unit)] = time.thread_time() - start
    clip = TempoClip(name, group, float(label["bpm"]), label.get("key"), label.get("scale"),
                     odf, (low, normalise(frames.flux_high)), periodicity(odf, low),
                     chroma[(DEFAULT_KEY_PARAMS.hop, True)], {})
    return VariantClip(clip, chroma, cpu)


def score(clips: list[VariantClip], variant: Variant) -> dict[str, Any]:
    acc1, acc2, mirex = [], [], []
    for c in clips:
        bpm = tempo_of(c.tempo, variant.tempo)
        acc1.append(tempo_hit(bpm, c.tempo.bpm))
        acc2.append(tempo_hit(bpm, c.tempo.bpm, factors=ACC2_FACTORS))
        chroma = c.chroma[(variant.key.hop, variant.key.unit_sum_frames)]
        scored = key_strength_and_score(chroma, c.tempo.key, c.tempo.scale, variant.key)
        if scored is not None:
            mirex.append(scored[1])
    mode = (variant.key.hop, variant.key.unit_sum_frames)
    return {"tempo_acc1": round(float(np.mean(acc1)), 3),
            "tempo_acc2": round(float(np.mean(acc2)), 3),
            "key_mirex": round(float(np.mean(mirex)), 3),
            "key_cpu_s_per_clip": round(float(np.mean([c.key_cpu[mode] for c in clips])), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, required=True,
                        help="folder of labelled recordings laid out like gtzan-dev")
    parser.add_argument("--seed", type=int, default=2024, help="rendered corpus seed")
    args = parser.parse_args()
    real = [reduce_clip(args.real / n, n, genre_of(n), label)
            for n, label in load_real_labels(args.real).items()]
    labels = ensure_corpus(CORPUS_ROOT / "accuracy", 144, 30.0, FORMATS, args.seed)
    synth = [reduce_clip(Path(t["path"]), t["file"], "synthetic", t) for t in labels]
    rows = [{"variant": v.name, "tempo": asdict(v.tempo), "key": asdict(v.key),
             "real": score(real, v), "synthetic": score(synth, v)} for v in VARIANTS]
    write_result("analysis_variants", {"real_folder": args.real.name, "real_clips": len(real),
                                       "synthetic_clips": len(synth), "variants": rows})


if __name__ == "__main__":
    main()
