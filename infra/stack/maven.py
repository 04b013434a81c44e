"""Fetch a pom's dependency jars into a folder with Maven, with a heartbeat for long downloads."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from infra.stack.base import Progress, StackError


def copy_dependencies(mvn: str, pom: Path, out_dir: Path, repo: Path, log_file: Path,
                      progress: Progress, label: str) -> None:
    """`mvn dependency:copy-dependencies` into `out_dir`, logging Maven's output to `log_file`.

    Maven prints hundreds of lines; the user gets a line every ~5 s with the jar count.
    """
    cmd = [mvn, "-B", f"-Dmaven.repo.local={repo}", "-f", str(pom),
           "dependency:copy-dependencies", f"-DoutputDirectory={out_dir}"]
    with log_file.open("a") as log:
        log.write(f"$ {' '.join(cmd)}\n")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True)
        assert proc.stdout is not None
        jars, last = 0, time.monotonic()
        for line in proc.stdout:
            log.write(line)
            if "Downloaded from" in line and ".jar " in line:
                jars += 1
                if time.monotonic() - last > 5:
                    progress(f"{label}: downloaded {jars} jars so far")
                    last = time.monotonic()
        if proc.wait() != 0:
            raise StackError(f"Maven could not fetch {label}'s jars; see {log_file}")
