"""A 25-minute file (DJ-set length class) analyses with memory that does not grow with it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from infra.corpus.bad_files import click_track

# Runs in a fresh interpreter so ru_maxrss (a high-water mark) belongs to this check only:
# analyse a 30 s file first (imports, buffers warmed up), then the long one.
CHILD = """
import json, resource, sys
from streams.analysis.core import analyse_file
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
analyse_file(sys.argv[1]); short_rss = rss()
f = analyse_file(sys.argv[2])
print(json.dumps({"short_rss": short_rss, "long_rss": rss(), "duration": f.duration_s,
                  "bpm": f.bpm, "beats": f.beats_count}))
"""


@pytest.mark.slow
def test_25_minute_file_bounded_memory(tmp_path: Path,
                                       bad_files: dict[str, Path]) -> None:
    long_file = click_track(tmp_path / "set.mp3", 25 * 60)  # 8 kHz mono: quick to make
    short_file = bad_files["long"]  # 30 s of the same clicks
    out = subprocess.run([sys.executable, "-c", CHILD, str(short_file), str(long_file)],
                         capture_output=True, text=True, check=True, timeout=300)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["duration"] == pytest.approx(1500.0, abs=0.5)
    assert result["bpm"] == pytest.approx(120.0, rel=0.01)
    assert result["beats"] == pytest.approx(3000, rel=0.02)
    # Whole-file buffers would need ~130 MB at 22.05 kHz for 25 minutes; streaming keeps
    # the growth over a 30 s file to the per-frame feature series (a few MB).
    assert result["long_rss"] - result["short_rss"] < 60.0, result
