"""Scoring rows of (label, estimate) the usual MIR way: Acc1/Acc2, error kinds, MIREX, groups.

A row is {"file", "group", "bpm", "key", "scale", <method>: {"bpm", "key", "scale", "cpu_s",
"bpm_confidence"?, "key_confidence"?}}; `key`/`scale` are None where the clip has no key
label (tempo is still scored there).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import numpy as np

from benchmarks.analysis_common import ACC2_FACTORS, MIREX_WEIGHTS, mirex_category, tempo_hit
from benchmarks.confidence_fit import split_80_20

# Ratio estimate/label -> error kind, checked in this order within the Acc1 tolerance.
TEMPO_ERROR_KINDS = (("x2", 2.0), ("x1/2", 0.5), ("x3/2", 1.5), ("x2/3", 2.0 / 3.0),
                     ("x3", 3.0), ("x1/3", 1.0 / 3.0))


def tempo_error_kind(estimate: float, truth: float) -> str:
    if tempo_hit(estimate, truth):
        return "correct"
    for kind, factor in TEMPO_ERROR_KINDS:
        if tempo_hit(estimate, truth, factors=(factor,)):
            return kind
    return "other"


def _mean(values: list[float]) -> float | None:
    return round(float(np.mean(values)), 4) if values else None


def _scores(rows: list[dict[str, Any]], method: str) -> dict[str, Any]:
    acc1 = [tempo_hit(r[method]["bpm"], r["bpm"]) for r in rows]
    acc2 = [tempo_hit(r[method]["bpm"], r["bpm"], factors=ACC2_FACTORS) for r in rows]
    keyed = [r for r in rows if r["key"] is not None]
    cats = [mirex_category(r[method]["key"], r[method]["scale"], r["key"], r["scale"])
            for r in keyed]
    return {"tempo_acc1": _mean([float(h) for h in acc1]),
            "tempo_acc2": _mean([float(h) for h in acc2]),
            "key_mirex": _mean([MIREX_WEIGHTS[c] for c in cats]),
            "clips": len(rows), "clips_with_key": len(keyed)}


def summarise(rows: list[dict[str, Any]], method: str) -> dict[str, Any]:
    """Scores, error breakdowns, per-group scores, CPU and confidence split for one method."""
    keyed = [r for r in rows if r["key"] is not None]
    by_group: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_group[row["group"]].append(row)
    out = _scores(rows, method)
    tempo_kinds = Counter(tempo_error_kind(r[method]["bpm"], r["bpm"]) for r in rows)
    key_kinds = Counter(mirex_category(r[method]["key"], r[method]["scale"], r["key"], r["scale"])
                        for r in keyed)
    out.update({
        "tempo_errors": {k: tempo_kinds.get(k, 0)
                         for k in ("x2", "x1/2", "x3/2", "x2/3", "x3", "x1/3", "other")},
        "key_errors": {k: key_kinds.get(k, 0)
                       for k in ("fifth", "relative", "parallel", "other")},
        "by_group": {g: _scores(rs, method) for g, rs in sorted(by_group.items())}
        if len(by_group) > 1 else {},
        "cpu_s_per_clip": round(float(np.mean([r[method]["cpu_s"] for r in rows])), 4),
        "misses": [{"file": r["file"], "bpm": r["bpm"], "got": r[method]["bpm"],
                    "kind": tempo_error_kind(r[method]["bpm"], r["bpm"])}
                   for r in rows if not tempo_hit(r[method]["bpm"], r["bpm"])],
    })
    if "tuning_cents" in rows[0][method]:
        cents = np.array([r[method]["tuning_cents"] for r in rows])
        out["tuning_cents"] = {"min": float(cents.min()), "median": float(np.median(cents)),
                               "max": float(cents.max()),
                               "within_10_cents": round(float((np.abs(cents) <= 10).mean()), 3)}
    if "bpm_confidence" in rows[0][method]:
        out["confidence_split"] = {
            "tempo_acc1_by_bpm_confidence": split_80_20(
                [r[method]["bpm_confidence"] for r in rows],
                [float(tempo_hit(r[method]["bpm"], r["bpm"])) for r in rows]),
            "key_mirex_by_key_confidence": split_80_20(
                [r[method]["key_confidence"] for r in keyed],
                [MIREX_WEIGHTS[mirex_category(r[method]["key"], r[method]["scale"], r["key"],
                                              r["scale"])] for r in keyed]),
        }
    return out


def side_by_side(results: dict[str, dict[str, Any]], reference: str = "essentia") -> dict[str, Any]:
    """The headline figures of every method and its CPU relative to the reference's."""
    ref_cpu = results[reference]["cpu_s_per_clip"]
    return {m: {"tempo_acc1": r["tempo_acc1"], "tempo_acc2": r["tempo_acc2"],
                "key_mirex": r["key_mirex"], "cpu_s_per_clip": r["cpu_s_per_clip"],
                f"cpu_vs_{reference}": round(r["cpu_s_per_clip"] / ref_cpu, 3) if ref_cpu else None}
            for m, r in results.items()}
