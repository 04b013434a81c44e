"""Accuracy of tempo and key, ours beside Essentia as-is and Percival, on rendered and real music.

Every method runs on the same files in the same run:
- ours: streams.analysis.analyse_file;
- essentia: MonoLoader(44.1 kHz) + RhythmExtractor2013(method="multifeature") + KeyExtractor()
  with default parameters (Essentia as-is);
- percival: MonoLoader(44.1 kHz) + PercivalBpmEstimator + KeyExtractor();
- librosa (unless --skip-librosa): beat_track and Krumhansl-Schmuckler profiles on chroma_cqt.
Two corpora in one report:
- synthetic: the labelled rendered corpus (generated on first use, deterministic by seed:
  144 tracks of 30 s, all 24 keys x6, 60-180 BPM, 8 styles, 5 formats);
- real (with --real DIR): a folder of recordings with human labels laid out like gtzan-dev
  (audio + labels.json, genre as the file-name prefix). The files are read where they are.
  The report adds the genre-fold cross-validation of every parameter tuned on such music
  (benchmarks/analysis_tuning.py) unless --no-cv.
Tempo: Acc1 (within 4 %), Acc2 (also x2, x1/2, x3, x1/3), and the kind of each miss. Key:
MIREX weighted score (1 correct, 0.5 fifth, 0.3 relative, 0.2 parallel) and the kinds of
misses. CPU seconds per clip are process + children (ffmpeg) per method. For ours, the
accuracy of the most confident 80 % against the least confident 20 %.

    .venv/bin/python -m benchmarks.analysis_accuracy --real ../shared/realmusic/gtzan-dev
"""

from __future__ import annotations

import argparse
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.accuracy_report import side_by_side, summarise
from benchmarks.analysis_common import (
    CORPUS_ROOT,
    FORMATS,
    ensure_corpus,
    essentia_loudness_reference,
    essentia_tempo_key,
    percival_tempo_key,
    timed,
)
from benchmarks.machine import write_result
from benchmarks.real_music import genre_of, load_real_labels
from streams.analysis.core import analyse_file
from streams.analysis.notation import KEYS
from streams.analysis.version import ANALYZER_VERSION

# Krumhansl-Kessler probe-tone profiles (C major / C minor).
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
TARGETS = {
    "real": {"tempo_acc1": 0.82, "tempo_acc2": 0.96, "key_mirex": 0.75,
             "cpu_vs_essentia_max": 1 / 3},
    "synthetic": {"tempo_acc1": 0.95, "tempo_acc2": 0.99, "key_mirex": 0.90},
}
Estimate = dict[str, Any]


def librosa_tempo_key(path: str) -> tuple[float, str, str]:
    import librosa

    y, sr = librosa.load(path, sr=22050, mono=True)
    tempo, _ = librosa.beat.beat_track(y=y, sr=sr)
    chroma = librosa.feature.chroma_cqt(y=y, sr=sr).mean(axis=1)  # index 0 = C
    best = max(((np.corrcoef(chroma, np.roll(profile, tonic))[0, 1], tonic, scale)
                for scale, profile in (("major", KK_MAJOR), ("minor", KK_MINOR))
                for tonic in range(12)), key=lambda t: t[0])
    return float(np.atleast_1d(tempo)[0]), KEYS[best[1]], best[2]


def ours(path: str) -> Estimate:
    f = analyse_file(path)
    return {"bpm": f.bpm, "key": f.key, "scale": f.scale, "bpm_confidence": f.bpm_confidence,
            "key_confidence": f.key_strength, "tuning_cents": f.tuning_cents,
            "lufs": f.loudness_lufs}


def as_estimate(fn: Callable[[str], tuple[float, str, str]]) -> Callable[[str], Estimate]:
    def run(path: str) -> Estimate:
        bpm, key, scale = fn(path)
        return {"bpm": bpm, "key": key, "scale": scale}
    return run


def methods(skip_librosa: bool) -> dict[str, Callable[[str], Estimate]]:
    chosen = {"ours": ours, "essentia": as_estimate(essentia_tempo_key),
              "percival": as_estimate(percival_tempo_key)}
    if not skip_librosa:
        chosen["librosa"] = as_estimate(librosa_tempo_key)
    return chosen


def measure(items: list[dict[str, Any]], run: dict[str, Callable[[str], Estimate]]
            ) -> list[dict[str, Any]]:
    """Every method on every item, interleaved per file (so load drifts hit all alike)."""
    rows = []
    for item in items:
        row = {k: item[k] for k in ("file", "group", "bpm", "key", "scale")}
        for name, fn in run.items():
            estimate, cpu = timed(lambda p=item["path"], f=fn: f(p))
            row[name] = {**estimate, "cpu_s": cpu}
        rows.append(row)
    return rows


def synthetic_items(count: int, seconds: float, seed: int) -> list[dict[str, Any]]:
    labels = ensure_corpus(CORPUS_ROOT / "accuracy", count, seconds, FORMATS, seed)
    return [{"file": t["file"], "group": t["style"], "path": t["path"], "bpm": t["bpm"],
             "key": t["key"], "scale": t["scale"], "format": t["format"]} for t in labels]


def real_items(folder: Path) -> list[dict[str, Any]]:
    return [{"file": name, "group": genre_of(name) or "all", "path": str(folder / name),
             "bpm": float(label["bpm"]), "key": label.get("key"), "scale": label.get("scale")}
            for name, label in load_real_labels(folder).items()]


def corpus_report(rows: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    results = {m: summarise(rows, m) for m in names}
    return {"side_by_side": side_by_side(results), "results": results}


def synthetic_report(items: list[dict[str, Any]], rows: list[dict[str, Any]],
                     names: list[str], seconds: float, seed: int) -> dict[str, Any]:
    loud_err = [abs(r["ours"]["lufs"] - essentia_loudness_reference(i["path"]))
                for i, r in zip(items, rows, strict=True)]
    return {
        "corpus": {"files": len(rows), "seconds_each": seconds, "seed": seed,
                   "formats": dict(Counter(i["format"] for i in items)),
                   "styles": dict(Counter(r["group"] for r in rows)),
                   "keys": len({(r["key"], r["scale"]) for r in rows}),
                   "bpm_range": [min(r["bpm"] for r in rows), max(r["bpm"] for r in rows)]},
        **corpus_report(rows, names),
        "loudness_vs_essentia_ebur128_lu": {"mean_abs": round(float(np.mean(loud_err)), 3),
                                            "max_abs": round(float(np.max(loud_err)), 3)},
    }


def cross_validation(folder: Path, seed: int) -> dict[str, Any]:
    from benchmarks.analysis_tuning import calibrate, load_clips, tune_key, tune_tempo

    real, synth = load_clips(folder, seed)
    tempo, key = tune_tempo(real, synth), tune_key(real, synth)
    return {"tempo": {k: tempo[k] for k in ("folds", "cross_validated", "all_folds_choice",
                                            "all_folds_choice_score", "defaults")},
            "key": {k: key[k] for k in ("folds", "cross_validated", "all_folds_choice",
                                        "defaults", "real_mirex_by_profile")},
            "confidence": calibrate(real, tempo)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    run_methods = methods(args.skip_librosa)
    names = list(run_methods)
    items = synthetic_items(args.count, args.seconds, args.seed)
    if not args.skip_librosa:
        librosa_tempo_key(items[0]["path"])  # JIT warm-up outside the timed loop
    report: dict[str, Any] = {"analyzer_version": ANALYZER_VERSION, "targets": TARGETS}
    report["synthetic"] = synthetic_report(items, measure(items, run_methods), names,
                                           args.seconds, args.seed)
    if args.real is not None:
        real = real_items(args.real)
        report["real"] = {"folder": args.real.name, "clips": len(real),
                          **corpus_report(measure(real, run_methods), names)}
        if not args.no_cv:
            report["real"]["cross_validation"] = cross_validation(args.real, args.seed)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, default=None,
                        help="folder of recordings with human labels (audio + labels.json)")
    parser.add_argument("--no-cv", action="store_true",
                        help="skip the genre-fold cross-validation of the tuned parameters")
    parser.add_argument("--count", type=int, default=144)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--skip-librosa", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # librosa/audioread deprecation chatter
    write_result("analysis_accuracy", run(args))


if __name__ == "__main__":
    main()
