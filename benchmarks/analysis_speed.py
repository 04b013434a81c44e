"""CPU cost per 4-minute track: our full feature set vs Essentia as-is vs decode only.

One process, the same files, methods interleaved per file and repeated (median kept), so
the comparison is side by side under the same machine load. CPU = user+system of this
process plus reaped children (our ffmpeg decoder), from getrusage: wall time on a shared
2-core box says more about the neighbours than about the code.
- ours: streams.analysis.analyse_file (tempo+beats+confidence, key, R128 loudness+LRA+peak,
  danceability, energy/arousal/valence/mood);
- essentia_recipe: AudioLoader + (Resample to 44.1 kHz if needed) + RhythmExtractor2013
  (multifeature) + KeyExtractor + LoudnessEBUR128 + Danceability, default parameters;
- decode_only: our ffmpeg decode to 22.05 kHz float chunks, nothing else;
- essentia_decode_only: MonoLoader at 44.1 kHz (what the Essentia recipe starts from).

    .venv/bin/python -m benchmarks.analysis_speed [--count 6] [--seconds 240] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.analysis_common import CORPUS_ROOT, ensure_corpus, essentia_full_recipe, timed
from benchmarks.machine import write_result
from streams.analysis.core import analyse_file
from streams.analysis.decode import DecodedStream
from streams.analysis.ess import es
from streams.analysis.version import ANALYZER_VERSION

FORMATS = ("mp3", "flac", "m4a", "ogg", "wav")  # Essentia as-is cannot decode Opus


def decode_only(path: str) -> int:
    return sum(chunk.shape[0] for chunk in DecodedStream(Path(path), 2))


METHODS: dict[str, Callable[[str], Any]] = {
    "ours": analyse_file,
    "essentia_recipe": essentia_full_recipe,
    "decode_only": decode_only,
    "essentia_decode_only": lambda p: es.MonoLoader(filename=p, sampleRate=44100)(),
}


def run(count: int, seconds: float, seed: int, repeats: int) -> dict[str, Any]:
    labels = ensure_corpus(CORPUS_ROOT / "speed", count, seconds, FORMATS, seed)
    for method in METHODS.values():  # warm-up: imports, first-call allocations
        method(labels[0]["path"])
    per_file = []
    for label in labels:
        samples: dict[str, list[float]] = {m: [] for m in METHODS}
        for _ in range(repeats):
            for name, method in METHODS.items():
                samples[name].append(timed(lambda m=method, p=label["path"]: m(p))[1])
        stage = analyse_file(label["path"]).timings
        per_file.append({"file": label["file"], "format": label["format"],
                         **{m: round(statistics.median(v), 3) for m, v in samples.items()},
                         "ours_stages": stage})
    mean = {m: round(statistics.mean(f[m] for f in per_file), 3) for m in METHODS}
    return {
        "analyzer_version": ANALYZER_VERSION,
        "corpus": {"files": len(per_file), "seconds_each": seconds, "seed": seed,
                   "repeats_per_method": repeats},
        "target_ours_cpu_s_per_4min_track": 0.8,
        "mean_cpu_s_per_file": mean,
        "ratios": {
            "essentia_recipe_over_ours": round(mean["essentia_recipe"] / mean["ours"], 2),
            "ours_over_decode_only": round(mean["ours"] / mean["decode_only"], 2),
            "ours_realtime_factor": round(seconds / mean["ours"], 1),
        },
        "per_file": per_file,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=240.0)
    parser.add_argument("--seed", type=int, default=99)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    write_result("analysis_speed", run(args.count, args.seconds, args.seed, args.repeats))


if __name__ == "__main__":
    main()
