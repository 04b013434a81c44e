"""Decode-path options for the analyser: CPU per 4-minute track and anti-aliasing quality.

Each option turns a file into 22.05 kHz (or native) float samples. CPU = process+children
(ffmpeg) from getrusage, median of repeats, same files, interleaved. Quality: a 15 kHz
sine (44.1 kHz WAV) has no business below 11.025 kHz, so whatever survives resampling to
22.05 kHz is aliasing; reported in dB relative to the input level (lower is better).

    .venv/bin/python -m benchmarks.analysis_decode [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.analysis_common import CORPUS_ROOT, ensure_corpus, timed
from benchmarks.analysis_speed import FORMATS
from benchmarks.machine import write_result
from streams.analysis.decode import DecodedStream
from streams.analysis.ess import es


def ffmpeg_pipe(path: str, channels: int) -> np.ndarray:
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-ac", str(channels), "-ar",
           "22050", "-f", "f32le", "-"]
    raw = subprocess.run(cmd, capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype=np.float32)


def mono44_then(quality: int) -> Callable[[str], np.ndarray]:
    def run(path: str) -> np.ndarray:
        audio = es.MonoLoader(filename=path, sampleRate=44100)()
        return np.asarray(es.Resample(inputSampleRate=44100, outputSampleRate=22050,
                                      quality=quality)(audio))
    return run


def ours(path: str) -> np.ndarray:
    chunks = [(c[:, 0] + c[:, 1]) * np.float32(0.5) for c in DecodedStream(Path(path), 2)]
    return np.concatenate(chunks)


OPTIONS: dict[str, Callable[[str], Any]] = {
    "essentia AudioLoader (native rate, stereo)": lambda p: es.AudioLoader(filename=p)()[0],
    "essentia MonoLoader 44.1k": lambda p: es.MonoLoader(filename=p, sampleRate=44100)(),
    "essentia MonoLoader 22.05k (resampleQuality=1, default)":
        lambda p: es.MonoLoader(filename=p, sampleRate=22050)(),
    "essentia MonoLoader 22.05k (resampleQuality=4, linear)":
        lambda p: es.MonoLoader(filename=p, sampleRate=22050, resampleQuality=4)(),
    "essentia MonoLoader 44.1k + Resample(quality=0, best sinc)": mono44_then(0),
    "essentia MonoLoader 44.1k + Resample(quality=2, fastest sinc)": mono44_then(2),
    "ffmpeg pipe -ac 1 -ar 22050": lambda p: ffmpeg_pipe(p, 1),
    "ffmpeg pipe -ac 2 -ar 22050": lambda p: ffmpeg_pipe(p, 2),
    "ours: ffmpeg stereo 22.05k chunks + native peak (volumedetect)": ours,
}


NO_RESAMPLING = {"essentia AudioLoader (native rate, stereo)", "essentia MonoLoader 44.1k"}


def aliasing_db(option: Callable[[str], Any], folder: Path) -> float:
    probe = folder / "tone15k.wav"
    if not probe.exists():
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                        "sine=frequency=15000:sample_rate=44100:duration=5", "-af", "volume=0.5",
                        str(probe)], check=True)
    out = np.asarray(option(str(probe)), dtype=np.float64).ravel()
    if out.size > 30000:
        out = out[10000:-10000]  # skip filter warm-up at the edges
    level = np.sqrt(np.mean(out ** 2)) + 1e-12
    return round(float(20 * np.log10(level / (0.5 / np.sqrt(2)))), 1)


def run(repeats: int) -> dict[str, Any]:
    labels = ensure_corpus(CORPUS_ROOT / "speed", 6, 240.0, FORMATS, 99)
    for option in OPTIONS.values():
        option(labels[0]["path"])
    cpu: dict[str, list[float]] = {name: [] for name in OPTIONS}
    for label in labels:
        for name, option in OPTIONS.items():
            cpu[name].append(statistics.median(
                timed(lambda o=option, p=label["path"]: o(p))[1] for _ in range(repeats)))
    with tempfile.TemporaryDirectory() as tmp:
        alias = {name: aliasing_db(option, Path(tmp)) for name, option in OPTIONS.items()
                 if name not in NO_RESAMPLING}
    return {
        "corpus": {"files": len(labels), "seconds_each": 240.0,
                   "formats": [lab["format"] for lab in labels]},
        "mean_cpu_s_per_4min_track": {n: round(statistics.mean(v), 3) for n, v in cpu.items()},
        "per_file_cpu_s": {n: [round(x, 3) for x in v] for n, v in cpu.items()},
        "aliasing_of_15khz_tone_db": alias,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    write_result("analysis_decode", run(parser.parse_args().repeats))


if __name__ == "__main__":
    main()
