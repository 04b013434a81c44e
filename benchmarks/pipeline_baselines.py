"""The two yardsticks beside the pipeline: the decode-only limit and the naive baseline.

- decode-only limit: the project's own decoder (streams/analysis/decode.py: ffmpeg to
  22.05 kHz float chunks plus the native peak) in a pool of `procs` processes over the same
  files, doing nothing with the samples. No analysis using this decoder can go faster on
  this machine, so pipeline / decode-limit says how much of the machine the rest costs.
- naive baseline: one process analysing file after file with Essentia used as-is, the
  recipe of the source documents: MonoLoader(44.1 kHz) + RhythmExtractor2013(multifeature)
  + KeyExtractor + Danceability on the mono signal, LoudnessEBUR128 on a stereo AudioLoader
  decode (two decodes per file, default parameters).

Both report wall time (what files/hour means) and CPU seconds (less sensitive to the
neighbours on a shared machine).
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.pipeline_common import percentiles


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _decode_one(path: str) -> tuple[float, float, int]:
    from streams.analysis.decode import DecodedStream

    wall, cpu = time.perf_counter(), _cpu()
    frames = sum(chunk.shape[0] for chunk in DecodedStream(Path(path), 2))
    return time.perf_counter() - wall, _cpu() - cpu, frames


def _warm() -> int:
    import numpy  # noqa: F401

    import streams.analysis.decode  # noqa: F401

    return 0


def decode_limit(files: list[Path], procs: int = 2) -> dict[str, Any]:
    """Files per second with `procs` processes doing only the project's decode."""
    with ProcessPoolExecutor(max_workers=procs, mp_context=mp.get_context("spawn")) as pool:
        for fut in [pool.submit(_warm) for _ in range(procs * 2)]:
            fut.result()
        started = time.perf_counter()
        results = list(pool.map(_decode_one, [str(f) for f in files]))
        wall = time.perf_counter() - started
    cpu = sum(r[1] for r in results)
    return {"processes": procs, "files": len(files), "wall_s": round(wall, 2),
            "files_per_s": round(len(files) / wall, 3),
            "files_per_hour": round(3600 * len(files) / wall),
            "cpu_s_per_file": round(cpu / len(files), 3),
            "cpu_bound_files_per_hour_on_2_cores": round(3600 * 2 / (cpu / len(files))),
            "per_file_wall_s": percentiles([r[0] for r in results])}


def naive_recipe(path: str) -> dict[str, Any]:
    from streams.analysis.ess import es

    mono = es.MonoLoader(filename=path, sampleRate=44100)()
    bpm, _, confidence, _, _ = es.RhythmExtractor2013(method="multifeature")(mono)
    key, scale, _ = es.KeyExtractor()(mono)
    danceability, _ = es.Danceability(sampleRate=44100)(mono)
    stereo, rate, *_ = es.AudioLoader(filename=path)()
    _, _, lufs, lra = es.LoudnessEBUR128(sampleRate=rate)(stereo)
    return {"bpm": float(bpm), "confidence": float(confidence), "key": key, "scale": scale,
            "lufs": float(lufs), "lra": float(lra), "danceability": float(danceability)}


def _naive_all(paths: list[str]) -> tuple[list[tuple[float, float]], float]:
    naive_recipe(paths[0])  # warm-up: imports, first-call allocations (not timed)
    out = []
    for path in paths:
        wall, cpu = time.perf_counter(), _cpu()
        naive_recipe(path)
        out.append((time.perf_counter() - wall, _cpu() - cpu))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out, peak_mb


def naive_baseline(files: list[Path]) -> dict[str, Any]:
    """One process, file by file, Essentia as-is; extrapolated to files/hour."""
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        started = time.perf_counter()
        results, peak_mb = pool.submit(_naive_all, [str(f) for f in files]).result()
        total = time.perf_counter() - started
    walls = [r[0] for r in results]
    cpus = [r[1] for r in results]
    mean_wall = sum(walls) / len(walls)
    return {"processes": 1, "files": len(files), "wall_s_incl_warmup": round(total, 1),
            "wall_s_per_file": percentiles(walls),
            "cpu_s_per_file": round(sum(cpus) / len(cpus), 3),
            "files_per_hour": round(3600 / mean_wall),
            "peak_rss_mb": round(peak_mb, 1)}
