"""Benchmark of duplicate detection: fingerprint cost, precision/recall, query time.

    .venv/bin/python -m benchmarks.duplicates [--originals 40] [--corpus DIR] [--tracks 100000]

- Corpus: `originals` rendered recordings each encoded as flac, 320k mp3, 128k mp3 and ogg
  (one duplicate group each), plus one decoy per original (same key, tempo, style and
  chord progression, another seed: a different recording) as flac and 128k mp3 (a group of
  its own). 40 originals give 240 files (infra/corpus/duplicates.py); --corpus reuses one.
- Fingerprint cost: `fpcalc` as the pool child runs it (streams/pool/fingerprint.py), wall
  and CPU (the child process's user+sys) per file, on the corpus and on the full-length
  tracks of benchmarks/corpus/speed/ (fpcalc reads the first 120 s).
- Precision/recall over pairs: the files' AnalysisCompleted events (real fingerprints;
  codec, bit rate and duration probed) go through the real projection into a fresh schema;
  `find_duplicates` (what `tracktion query duplicates` runs) groups them; a pair is
  predicted when both files are in one group, true when they share a label. Also: whether
  every found group would keep its lossless copy.
- Query time at `tracks`: the same schema topped up with synthetic tracks (fingerprints
  with per-bit biases like music's, durations ~ N(240 s, 60 s)), then `find_duplicates`
  timed. Targets (issue 11): precision and recall >= 0.95.
Writes benchmarks/results/duplicates.json; the schema is dropped unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from itertools import combinations
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import structlog
from sqlalchemy import text

from benchmarks.machine import write_result
from infra.corpus.duplicates import LABELS_FILE, generate_duplicate_sets
from infra.settings import get_settings
from projections.base import Positioned
from projections.postgres.apply import PostgresProjector
from projections.postgres.duplicates import find_duplicates
from projections.postgres.fingerprints import DEFAULT_THRESHOLD, items_of, raw_of_text, similarity
from projections.postgres.writer import PostgresWriter
from schemas.analysis_events import AnalysisCompleted, AnalysisCompletedPayload
from streams.analysis.probe import probe
from streams.pool.fingerprint import fingerprint
from tests.unit.schemas.samples import FEATURES

ROOT = Path(__file__).resolve().parent
TARGET = 0.95
SWEEP = (0.85, 0.9, 0.93, 0.95, 0.97)


def timed_fingerprint(path: str) -> tuple[str | None, float, float]:
    before, started = os.times(), time.perf_counter()
    fp = fingerprint(path)
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system
                                                          - before.children_system)
    return fp, time.perf_counter() - started, cpu


def cost_summary(walls: list[float], cpus: list[float]) -> dict[str, Any]:
    return {"files": len(walls), "wall_ms_median": round(statistics.median(walls) * 1e3, 1),
            "wall_ms_max": round(max(walls) * 1e3, 1),
            "cpu_ms_median": round(statistics.median(cpus) * 1e3, 1),
            "cpu_ms_mean": round(statistics.fmean(cpus) * 1e3, 1)}


def completed_event(i: int, path: str, fp: str | None, duration: float | None,
                    codec: str, bit_rate: int | None) -> AnalysisCompleted:
    features = msgspec.structs.replace(FEATURES, fingerprint=fp, codec=codec,
                                       bit_rate=bit_rate, duration_s=duration or 0.0)
    return AnalysisCompleted.create(
        file_id=f"f{i:06d}", correlation_id="bench", payload=AnalysisCompletedPayload(
            analysis_id=f"a{i:06d}", path=path, content_hash=f"{i:032x}", features=features,
            processing_ms=1.0))


def synthetic(i: int, rng: np.random.Generator) -> AnalysisCompleted:
    duration = float(np.clip(rng.normal(240, 60), 60, 900))
    share = rng.beta(0.6, 0.6, size=32)
    bits = rng.random((int(min(duration, 120) * 7.8), 32)) < share
    items = (bits * (1 << np.arange(32, dtype=np.uint64))).sum(axis=1).astype("<u4")
    return completed_event(i, f"/synthetic/{i:06d}.mp3",
                           base64.b64encode(items.tobytes()).decode(), round(duration, 2),
                           "mp3", 320_000)


async def project(writer: PostgresWriter, events: list[AnalysisCompleted], start: int) -> None:
    projector = PostgresProjector()
    for k in range(0, len(events), 500):
        batch = [Positioned(e, "t", 0, start + k + n) for n, e in enumerate(events[k:k + 500])]
        await writer.write("postgres", projector.apply(batch), {})


def pair_scores(groups: list[list[str]], labels: dict[str, str]) -> dict[str, Any]:
    predicted = {frozenset(p) for g in groups for p in combinations(sorted(g), 2)}
    by_label: dict[str, list[str]] = {}
    for path, label in labels.items():
        by_label.setdefault(label, []).append(path)
    truth = {frozenset(p) for g in by_label.values() for p in combinations(sorted(g), 2)}
    hits = len(predicted & truth)
    precision = hits / len(predicted) if predicted else 1.0
    recall = hits / len(truth) if truth else 1.0
    return {"true_pairs": len(truth), "predicted_pairs": len(predicted), "correct_pairs": hits,
            "precision": round(precision, 4), "recall": round(recall, 4)}


def similarities(labels: list[dict[str, Any]], fps: list[str | None]) -> dict[str, Any]:
    """Copies against their flac, and each decoy's flac against its original's flac."""
    items = {lab["path"]: items_of(raw_of_text(fp) or b"") for lab, fp in zip(labels, fps,
                                                                                strict=True)}
    flac = {lab["group"]: lab["path"] for lab in labels if lab["variant"] == "flac"}
    copies = [similarity(items[flac[lab["group"]]], items[lab["path"]])
              for lab in labels if lab["variant"] != "flac"]
    decoys = [similarity(items[flac[g]], items[flac[g.removesuffix("-decoy")]])
              for g in flac if g.endswith("-decoy")]
    return {"copy_vs_its_flac": {"min": round(min(copies), 4),
                                 "median": round(statistics.median(copies), 4)},
            "decoy_vs_original": {"max": round(max(decoys), 4),
                                  "median": round(statistics.median(decoys), 4)}}


async def run(args: argparse.Namespace, corpus: Path) -> dict[str, Any]:
    labels = json.loads((corpus / LABELS_FILE).read_text())["files"]
    fps, walls, cpus, events = [], [], [], []
    for i, label in enumerate(labels):
        fp, wall, cpu = timed_fingerprint(label["path"])
        walls.append(wall)
        cpus.append(cpu)
        fps.append(fp)
        meta = probe(Path(label["path"]))
        events.append(completed_event(i, label["path"], fp,
                                      meta.declared_s if meta else None,
                                      meta.codec if meta else label["variant"],
                                      meta.bit_rate if meta else None))
    speed = sorted(p for p in (ROOT / "corpus" / "speed").iterdir() if p.suffix != ".json")
    long_costs = [timed_fingerprint(str(p))[1:] for p in speed]
    schema = f"bench_dups_{uuid.uuid4().hex[:8]}"
    writer = PostgresWriter(get_settings(), schema)
    await writer.setup()
    try:
        await project(writer, events, 0)
        async with writer.engine.connect() as conn:
            started = time.perf_counter()
            report = await find_duplicates(conn, writer.tables)
            small_s = time.perf_counter() - started
        truth = {lab["path"]: lab["group"] for lab in labels}
        groups = [[c.path for c in g.copies] for g in report.groups]
        scores = pair_scores(groups, truth)
        sweep = {}
        for threshold in SWEEP:
            async with writer.engine.connect() as conn:
                swept = await find_duplicates(conn, writer.tables, threshold)
            sweep[str(threshold)] = pair_scores([[c.path for c in g.copies]
                                                 for g in swept.groups], truth)
        keeps_lossless = all(g.copies[0].lossless for g in report.groups)
        large = await query_at_scale(writer, args.tracks, len(events))
    finally:
        if not args.keep:
            async with writer.engine.begin() as conn:
                await conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        await writer.close()
    return {
        "corpus": {"files": len(labels), "groups": len({lab["group"] for lab in labels}),
                   "fingerprinted": sum(fp is not None for fp in fps)},
        "fingerprint_cost": {"corpus_30s_files": cost_summary(walls, cpus),
                             "full_length_tracks": cost_summary([c[0] for c in long_costs],
                                                                [c[1] for c in long_costs])},
        "quality": {**scores, "threshold": DEFAULT_THRESHOLD,
                    "groups_found": len(report.groups),
                    "every_group_keeps_a_lossless_copy": keeps_lossless,
                    "query_seconds": round(small_s, 3),
                    "meets_target": scores["precision"] >= TARGET and scores["recall"] >= TARGET,
                    "threshold_sweep": sweep},
        "similarities": similarities(labels, fps),
        "at_scale": large}


async def query_at_scale(writer: PostgresWriter, tracks: int, have: int) -> dict[str, Any]:
    rng = np.random.default_rng(5)
    started = time.perf_counter()
    for start in range(have, tracks, 5000):
        await project(writer, [synthetic(i, rng) for i in range(start, min(tracks, start + 5000))],
                      start)
    fill_s = time.perf_counter() - started
    async with writer.engine.begin() as conn:
        await conn.execute(text(f"ANALYZE {writer.schema}.tracks"))
    timings = []
    for _ in range(3):
        async with writer.engine.connect() as conn:
            started = time.perf_counter()
            report = await find_duplicates(conn, writer.tables)
            timings.append(time.perf_counter() - started)
    return {"tracks": report.tracks_with_fingerprint, "fill_seconds": round(fill_s, 1),
            "query_seconds_median": round(statistics.median(timings), 2),
            "query_seconds_max": round(max(timings), 2),
            "candidate_pairs": report.candidate_pairs, "confirmed_pairs": report.confirmed_pairs,
            "groups": len(report.groups)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--originals", type=int, default=40)
    parser.add_argument("--corpus", type=Path, help="reuse a generated corpus")
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--seed", type=int, default=11, help="corpus seed (when generating)")
    parser.add_argument("--result", default="duplicates",
                        help="results file name (a calibration run writes its own)")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    with tempfile.TemporaryDirectory() as tmp:
        corpus = args.corpus or Path(tmp)
        generate_s = None
        if not (corpus / LABELS_FILE).exists():
            started = time.perf_counter()
            generate_duplicate_sets(corpus, args.originals, seconds=30.0, seed=args.seed)
            generate_s = round(time.perf_counter() - started, 1)
        result = asyncio.run(run(args, corpus))
    write_result(args.result, {"command": "python -m benchmarks.duplicates "
                                           + " ".join(sys.argv[1:]),
                                "generate_seconds": generate_s, **result})


if __name__ == "__main__":
    main()
