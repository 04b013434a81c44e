"""Accuracy of tempo and key on the labelled synthetic corpus: ours vs Essentia as-is vs librosa.

All three run in the same process on the same files (generated on first use, deterministic
by seed: 144 tracks of 30 s, all 24 keys x6, 60-180 BPM, 8 styles, 5 formats):
- ours: streams.analysis.analyse_file;
- essentia: MonoLoader(44.1 kHz) + RhythmExtractor2013(method="multifeature") + KeyExtractor()
  with default parameters;
- librosa: librosa.beat.beat_track and Krumhansl-Schmuckler profiles on mean chroma_cqt.
Tempo: Acc1 (within 4 %) and Acc2 (also x2, x1/2, x3, x1/3). Key: MIREX weighted score
(1 correct, 0.5 fifth, 0.3 relative, 0.2 parallel). Loudness: |ours - Essentia
LoudnessEBUR128 at the native rate|. CPU seconds are process+children per method.

    .venv/bin/python -m benchmarks.analysis_accuracy [--count 144] [--seconds 30] [--seed 2024]
"""

from __future__ import annotations

import argparse
import warnings
from collections import Counter, defaultdict
from typing import Any

import numpy as np

from benchmarks.analysis_common import (
    ACC2_FACTORS,
    CORPUS_ROOT,
    MIREX_WEIGHTS,
    ensure_corpus,
    essentia_loudness_reference,
    essentia_tempo_key,
    mirex_category,
    tempo_hit,
    timed,
)
from benchmarks.machine import write_result
from streams.analysis.core import analyse_file
from streams.analysis.notation import KEYS
from streams.analysis.version import ANALYZER_VERSION

# Opus is left out: Essentia's bundled FFmpeg cannot decode it ("Unsupported codec"), so the
# as-is baseline would fail those files outright (ours decodes them; see the unit tests).
FORMATS = ("mp3", "flac", "ogg", "wav", "m4a")
# Krumhansl-Kessler probe-tone profiles (C major / C minor).
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def librosa_tempo_key(path: str) -> tuple[float, str, str]:
    import librosa

    y, sr = librosa.load(path, sr=22050, mono=True)
    tempo, _ = librosa.beat.beat_track(y=y, sr=sr)
    chroma = librosa.feature.chroma_cqt(y=y, sr=sr).mean(axis=1)  # index 0 = C
    best = max(((np.corrcoef(chroma, np.roll(profile, tonic))[0, 1], tonic, scale)
                for scale, profile in (("major", KK_MAJOR), ("minor", KK_MINOR))
                for tonic in range(12)), key=lambda t: t[0])
    return float(np.atleast_1d(tempo)[0]), KEYS[best[1]], best[2]


def ours(path: str) -> tuple[float, str, str, float]:
    f = analyse_file(path)
    return f.bpm, f.key, f.scale, f.loudness_lufs


def summarise(rows: list[dict[str, Any]], method: str) -> dict[str, Any]:
    acc1 = [tempo_hit(r[method]["bpm"], r["bpm"]) for r in rows]
    acc2 = [tempo_hit(r[method]["bpm"], r["bpm"], factors=ACC2_FACTORS) for r in rows]
    cats = [mirex_category(r[method]["key"], r[method]["scale"], r["key"], r["scale"])
            for r in rows]
    by_style: dict[str, list[bool]] = defaultdict(list)
    for row, hit in zip(rows, acc1, strict=True):
        by_style[row["style"]].append(hit)
    return {
        "tempo_acc1": round(float(np.mean(acc1)), 4),
        "tempo_acc2": round(float(np.mean(acc2)), 4),
        "tempo_acc1_by_style": {s: round(float(np.mean(h)), 3)
                                for s, h in sorted(by_style.items())},
        "key_mirex": round(float(np.mean([MIREX_WEIGHTS[c] for c in cats])), 4),
        "key_categories": dict(Counter(cats)),
        "cpu_s_total": round(sum(r[method]["cpu_s"] for r in rows), 2),
        "tempo_errors": [{"file": r["file"], "true": r["bpm"], "got": r[method]["bpm"]}
                         for r, hit in zip(rows, acc1, strict=True) if not hit],
        "key_errors": [{"file": r["file"], "true": f"{r['key']} {r['scale']}",
                        "got": f"{r[method]['key']} {r[method]['scale']}", "category": c}
                       for r, c in zip(rows, cats, strict=True) if c != "correct"],
    }


def run(count: int, seconds: float, seed: int, skip_librosa: bool) -> dict[str, Any]:
    labels = ensure_corpus(CORPUS_ROOT / "accuracy", count, seconds, FORMATS, seed)
    if not skip_librosa:
        librosa_tempo_key(labels[0]["path"])  # JIT warm-up outside the timed loop
    rows: list[dict[str, Any]] = []
    for label in labels:
        path = label["path"]
        row = {k: label[k] for k in ("file", "bpm", "key", "scale", "style", "format")}
        (bpm, key, scale, lufs), cpu = timed(lambda p=path: ours(p))
        row["ours"] = {"bpm": bpm, "key": key, "scale": scale, "cpu_s": cpu}
        row["loudness_error_lu"] = abs(lufs - essentia_loudness_reference(path))
        (bpm, key, scale), cpu = timed(lambda p=path: essentia_tempo_key(p))
        row["essentia"] = {"bpm": bpm, "key": key, "scale": scale, "cpu_s": cpu}
        if not skip_librosa:
            (bpm, key, scale), cpu = timed(lambda p=path: librosa_tempo_key(p))
            row["librosa"] = {"bpm": bpm, "key": key, "scale": scale, "cpu_s": cpu}
        rows.append(row)
    methods = ["ours", "essentia"] + ([] if skip_librosa else ["librosa"])
    loud_err = [r["loudness_error_lu"] for r in rows]
    return {
        "analyzer_version": ANALYZER_VERSION,
        "corpus": {"files": len(rows), "seconds_each": seconds, "seed": seed,
                   "formats": dict(Counter(r["format"] for r in rows)),
                   "styles": dict(Counter(r["style"] for r in rows)),
                   "keys": len({(r["key"], r["scale"]) for r in rows}),
                   "bpm_range": [min(r["bpm"] for r in rows), max(r["bpm"] for r in rows)]},
        "targets": {"tempo_acc1": 0.95, "tempo_acc2": 0.99, "key_mirex": 0.90},
        "results": {m: summarise(rows, m) for m in methods},
        "loudness_vs_essentia_ebur128_lu": {
            "mean_abs": round(float(np.mean(loud_err)), 3),
            "max_abs": round(float(np.max(loud_err)), 3)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=144)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--skip-librosa", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # librosa/audioread deprecation chatter
    write_result("analysis_accuracy", run(args.count, args.seconds, args.seed, args.skip_librosa))


if __name__ == "__main__":
    main()
