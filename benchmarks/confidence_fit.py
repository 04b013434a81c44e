"""Fitting and judging calibrated confidences: Platt scaling, the 80/20 split, reliability bins."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from streams.analysis.confidence import Platt


def fit_platt(scores: Sequence[float], targets: Sequence[float], l2: float = 1e-2) -> Platt:
    """Logistic regression of targets (0..1, soft labels allowed) on one score, by Newton's
    method with a small ridge so that a separable fold does not diverge.

    A confidence must not fall as its evidence grows: when the fitted slope comes out
    negative (the score carries no usable signal in this sample), the map is refitted as a
    constant, the sample's base rate."""
    y = np.asarray(targets, dtype=float)
    platt = _newton(np.column_stack([np.ones(len(scores)), np.asarray(scores, dtype=float)]), y, l2)
    if platt.slope >= 0:
        return platt
    return _newton(np.ones((len(y), 1)), y, l2)


def _newton(x: np.ndarray, y: np.ndarray, l2: float) -> Platt:
    w = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))
        grad = x.T @ (p - y) + l2 * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + l2 * np.eye(x.shape[1])
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    slope = float(w[1]) if len(w) > 1 else 0.0
    return Platt(bias=round(float(w[0]), 3), slope=round(slope, 3))


def log_loss(probabilities: Sequence[float], targets: Sequence[float]) -> float:
    p = np.clip(np.asarray(probabilities, dtype=float), 1e-6, 1 - 1e-6)
    y = np.asarray(targets, dtype=float)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


def split_80_20(confidence: Sequence[float], outcome: Sequence[float]) -> dict[str, Any]:
    """Mean outcome of the most confident 80 % against the least confident 20 %."""
    order = np.argsort(np.asarray(confidence, dtype=float), kind="stable")
    ranked = np.asarray(outcome, dtype=float)[order]
    cut = max(1, round(0.2 * len(ranked)))
    return {"least_confident_20pct": round(float(ranked[:cut].mean()), 3),
            "most_confident_80pct": round(float(ranked[cut:].mean()), 3),
            "n_least": int(cut), "n_most": int(len(ranked) - cut)}


def reliability(confidence: Sequence[float], outcome: Sequence[float],
                edges: Sequence[float] = (0.0, 0.4, 0.6, 0.8, 1.0)) -> list[dict[str, Any]]:
    """Per confidence bin: how many, their mean confidence and how often they were right."""
    conf = np.asarray(confidence, dtype=float)
    out = np.asarray(outcome, dtype=float)
    rows = []
    for lo, hi in itertools.pairwise(edges):
        inside = (conf >= lo) & ((conf < hi) | (hi >= 1.0))
        if inside.any():
            rows.append({"bin": [lo, hi], "n": int(inside.sum()),
                         "mean_confidence": round(float(conf[inside].mean()), 3),
                         "accuracy": round(float(out[inside].mean()), 3)})
    return rows
