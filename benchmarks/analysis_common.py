"""Shared pieces of the analysis benchmarks: CPU clock, corpus set-up, baseline recipes, scores."""

from __future__ import annotations

import json
import resource
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from infra.corpus.generate import LABELS_FILE, generate_corpus, load_labels
from streams.analysis.ess import es
from streams.analysis.notation import KEYS, normalize_key

CORPUS_ROOT = Path(__file__).resolve().parent / "corpus"
# Opus is left out: Essentia's bundled FFmpeg cannot decode it ("Unsupported codec"), so the
# as-is baseline would fail those files outright (ours decodes them; see the unit tests).
FORMATS = ("mp3", "flac", "ogg", "wav", "m4a")


def cpu_seconds() -> float:
    """User+system CPU of this process and its reaped children (ffmpeg decoders)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = cpu_seconds()
    result = fn()
    return result, cpu_seconds() - start


def ensure_corpus(folder: Path, count: int, seconds: float, formats: tuple[str, ...],
                  seed: int) -> list[dict[str, Any]]:
    """Labels of the corpus in `folder`, generating it first if absent or different."""
    labels_path = folder / LABELS_FILE
    if labels_path.exists():
        doc = json.loads(labels_path.read_text())
        formats_ok = {t["format"] for t in doc["tracks"]} <= set(formats)
        if (doc["count"], doc["seconds"], doc["seed"]) == (count, seconds, seed) and formats_ok:
            return load_labels(folder)
        for old in load_labels(folder):  # a different corpus: do not leave stale tracks
            Path(old["path"]).unlink(missing_ok=True)
    generate_corpus(folder, count=count, seconds=seconds, formats=formats, seed=seed)
    return load_labels(folder)


# --- Essentia as-is: the documented one-liners with default parameters ---------------------

def essentia_tempo_key(path: str) -> tuple[float, str, str]:
    audio = es.MonoLoader(filename=path, sampleRate=44100)()
    bpm = es.RhythmExtractor2013(method="multifeature")(audio)[0]
    key, scale, _ = es.KeyExtractor()(audio)
    return float(bpm), normalize_key(key), scale


def percival_tempo_key(path: str) -> tuple[float, str, str]:
    """Essentia's PercivalBpmEstimator (Percival & Tzanetakis 2014) + KeyExtractor defaults."""
    audio = es.MonoLoader(filename=path, sampleRate=44100)()
    bpm = es.PercivalBpmEstimator(sampleRate=44100)(audio)
    key, scale, _ = es.KeyExtractor()(audio)
    return float(bpm), normalize_key(key), scale


def essentia_full_recipe(path: str) -> dict[str, Any]:
    """Tempo, key, EBU R128 loudness and danceability the straightforward Essentia way."""
    stereo, rate, *_ = es.AudioLoader(filename=path)()
    if rate != 44100:
        left = es.Resample(inputSampleRate=rate, outputSampleRate=44100)(
            np.ascontiguousarray(stereo[:, 0]))
        right = es.Resample(inputSampleRate=rate, outputSampleRate=44100)(
            np.ascontiguousarray(stereo[:, 1]))
        stereo = np.ascontiguousarray(np.stack([left, right], axis=1))
    mono = np.ascontiguousarray(stereo.mean(axis=1), dtype=np.float32)
    bpm, _, confidence, _, _ = es.RhythmExtractor2013(method="multifeature")(mono)
    key, scale, _ = es.KeyExtractor()(mono)
    _, _, lufs, lra = es.LoudnessEBUR128(sampleRate=44100)(stereo)
    danceability, _ = es.Danceability(sampleRate=44100)(mono)
    return {"bpm": float(bpm), "confidence": float(confidence), "key": key, "scale": scale,
            "lufs": float(lufs), "lra": float(lra), "danceability": float(danceability)}


def essentia_loudness_reference(path: str) -> float:
    """Essentia LoudnessEBUR128 on the native-rate stereo decode (the loudness reference).

    Raises RuntimeError for codecs Essentia's bundled FFmpeg lacks (Opus, notably)."""
    stereo, rate, *_ = es.AudioLoader(filename=path)()
    return float(es.LoudnessEBUR128(sampleRate=rate)(stereo)[2])


# --- scores ----------------------------------------------------------------------------------

def tempo_hit(estimate: float, truth: float, tolerance: float = 0.04,
              factors: tuple[float, ...] = (1.0,)) -> bool:
    return any(abs(estimate - truth * f) <= tolerance * truth * f for f in factors)


ACC2_FACTORS = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)


def mirex_category(key: str, scale: str, true_key: str, true_scale: str) -> str:
    """MIREX key categories: correct, fifth, relative, parallel, other."""
    est, ref = KEYS.index(normalize_key(key)), KEYS.index(normalize_key(true_key))
    shift = (est - ref) % 12
    if scale == true_scale:
        if shift == 0:
            return "correct"
        return "fifth" if shift in (5, 7) else "other"
    if shift == 0:
        return "parallel"
    relative = 9 if true_scale == "major" else 3
    return "relative" if shift == relative else "other"


MIREX_WEIGHTS = {"correct": 1.0, "fifth": 0.5, "relative": 0.3, "parallel": 0.2, "other": 0.0}
