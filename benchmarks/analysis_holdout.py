"""Ours on a rendered corpus that no parameter was chosen on (a hold-out seed).

The tempo and key parameters were chosen with the rendered corpus of seed 2024 as a
constraint (benchmarks/analysis_tuning.py), so its score there is in-sample. This renders
the same generator with another seed into benchmarks/corpus/holdout-<seed> and scores the
analyser there, with the same report as analysis_accuracy (Essentia as-is beside it
unless --ours-only).

    .venv/bin/python -m benchmarks.analysis_holdout [--seed 555] [--count 144] [--ours-only]
"""

from __future__ import annotations

import argparse
from typing import Any

from benchmarks.analysis_accuracy import as_estimate, corpus_report, measure, ours
from benchmarks.analysis_common import CORPUS_ROOT, FORMATS, ensure_corpus, essentia_tempo_key
from benchmarks.machine import write_result
from streams.analysis.version import ANALYZER_VERSION


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=555)
    parser.add_argument("--count", type=int, default=144)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--ours-only", action="store_true")
    args = parser.parse_args()
    labels = ensure_corpus(CORPUS_ROOT / f"holdout-{args.seed}", args.count, args.seconds,
                           FORMATS, args.seed)
    items = [{"file": t["file"], "group": t["style"], "path": t["path"], "bpm": t["bpm"],
              "key": t["key"], "scale": t["scale"]} for t in labels]
    run = {"ours": ours} if args.ours_only else {"ours": ours,
                                                  "essentia": as_estimate(essentia_tempo_key)}
    report: dict[str, Any] = {"analyzer_version": ANALYZER_VERSION, "seed": args.seed,
                              "files": len(items)}
    rows = measure(items, run)
    if args.ours_only:
        from benchmarks.accuracy_report import summarise
        report["results"] = {"ours": summarise(rows, "ours")}
    else:
        report.update(corpus_report(rows, list(run)))
    write_result("analysis_holdout", report)


if __name__ == "__main__":
    main()
