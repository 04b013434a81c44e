"""A two-hour DJ-set-length file: CPU seconds and peak RSS of one analysis, beside a short file.

Each analysis runs in a fresh interpreter so that ru_maxrss (a high-water mark) belongs to
it alone; the short (30 s) file of the same source is analysed in the same way in the same
run, so the growth with length is read off side by side. The file is a 120 BPM click track
at 8 kHz mono (ffmpeg lavfi source: made in seconds, kept under benchmarks/corpus/).

`--baseline DIR` also runs the long file with the analyser of another source tree (e.g.
`git worktree add /tmp/v1 6298f70`), alternating with ours, so that "no slower and no
larger than before" is a same-run comparison (medians of `--repeats`).

    .venv/bin/python -m benchmarks.analysis_long_file [--seconds 7200] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.analysis_common import CORPUS_ROOT
from benchmarks.machine import write_result
from infra.corpus.bad_files import click_track

CHILD = """
import json, resource, sys
from streams.analysis.core import analyse_file
f = analyse_file(sys.argv[1])
own = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"duration_s": f.duration_s, "bpm": f.bpm, "beats": f.beats_count,
                  "key": f.key, "cpu_s_total": f.timings["total"], "timings": f.timings,
                  "peak_rss_mb": own.ru_maxrss / 1024,
                  "process_cpu_s": own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime}))
"""


def analyse_in_child(path: Path, tree: Path | None = None) -> dict[str, Any]:
    env = dict(os.environ)
    if tree is not None:  # that tree's packages shadow the installed ones
        env["PYTHONPATH"] = str(tree.resolve())
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True,
                         text=True, check=True, timeout=900, env=env, cwd=tree or None)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=7200.0)
    parser.add_argument("--baseline", type=Path, default=None,
                        help="source tree of an older analyser to run side by side")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    folder = CORPUS_ROOT / "long"
    folder.mkdir(parents=True, exist_ok=True)
    long_file = folder / f"clicks_{int(args.seconds)}s.mp3"
    short_file = folder / "clicks_30s.mp3"
    for path, seconds in ((long_file, args.seconds), (short_file, 30.0)):
        if not path.exists():
            click_track(path, seconds)
    short = analyse_in_child(short_file)
    runs: dict[str, list[dict[str, Any]]] = {"ours": [], "baseline": []}
    for _ in range(args.repeats):
        runs["ours"].append(analyse_in_child(long_file))
        if args.baseline is not None:
            runs["baseline"].append(analyse_in_child(long_file, args.baseline))
    long = runs["ours"][-1]
    result: dict[str, Any] = {
        "short": short, "long": long,
        "long_median": _medians(runs["ours"]),
        "rss_growth_mb": round(long["peak_rss_mb"] - short["peak_rss_mb"], 1),
        "cpu_s_per_hour_of_audio": round(long["cpu_s_total"] / (long["duration_s"] / 3600), 2),
    }
    if runs["baseline"]:
        base, ours = _medians(runs["baseline"]), result["long_median"]
        result["baseline"] = {"tree": args.baseline.name, "long_median": base,
                              "cpu_ratio_ours_over_baseline": round(
                                  ours["process_cpu_s"] / base["process_cpu_s"], 3),
                              "rss_ratio_ours_over_baseline": round(
                                  ours["peak_rss_mb"] / base["peak_rss_mb"], 3)}
    write_result("analysis_long_file", result)


def _medians(runs: list[dict[str, Any]]) -> dict[str, float]:
    keys = ("process_cpu_s", "cpu_s_total", "peak_rss_mb")
    return {k: round(statistics.median(r[k] for r in runs), 3) for k in keys}


if __name__ == "__main__":
    main()
