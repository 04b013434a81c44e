"""Shared pieces of the tags projection tests: a namespace, analysed files, a runner."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import msgspec
from prometheus_client import REGISTRY

from infra.settings import Settings
from projections.runner import ProjectionRunner
from projections.tags.writer import tags_spec
from schemas.analysis_events import AnalysisCompleted
from schemas.envelope import file_id_for
from schemas.namespace import Namespace
from streams.publishing.fileinfo import content_hash
from tests import builders as build
from tests.builders import file_info
from tests.unit.schemas.samples import FEATURES

CODECS = {"mp3": ["-c:a", "libmp3lame", "-b:a", "128k"], "flac": ["-c:a", "flac"],
          "wav": ["-c:a", "pcm_s16le"]}


def make(path: Path, seconds: float = 1.0, frequency: int = 440) -> Path:
    """A short sine with artist/title tags, encoded by extension."""
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"sine=frequency={frequency}:duration={seconds}",
                    "-metadata", "artist=Somebody", "-metadata", "title=Some Song",
                    *CODECS[path.suffix.lstrip(".")], str(path)], check=True)
    return path


def copies(template: Path, folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        target = folder / f"{i:04d}{template.suffix}"
        shutil.copyfile(template, target)
        out.append(target)
    return out


def file_id(root: Path, path: Path) -> str:
    """The id the watcher and the publisher give the file."""
    root = root.resolve()
    return file_id_for(str(root), path.resolve().relative_to(root).as_posix())


def completed(root: Path, path: Path, bpm: float = FEATURES.bpm,
              analysed_hash: str | None = None) -> AnalysisCompleted:
    root = root.resolve()
    info = file_info(path.resolve().relative_to(root).as_posix(), root=str(root),
                     content_hash=analysed_hash or content_hash(path))
    return build.completed(info, msgspec.structs.replace(FEATURES, bpm=bpm),
                           analysis_id=f"a-{path.name}-{bpm}")


def runner(settings: Settings, prefix: str) -> ProjectionRunner[object]:
    spec = tags_spec(settings.redis_url, f"{prefix}:", "standard")
    return ProjectionRunner(spec, settings, [Namespace(prefix).analysis_topic],  # type: ignore[arg-type]
                            group_id=f"{prefix}.projection.tags", batch_size=64)


async def project(settings: Settings, prefix: str) -> int:
    """Run the tags projection in-process until it has caught up; returns events applied."""
    r = runner(settings, prefix)
    try:
        return await r.run_until_caught_up(timeout_s=60)
    finally:
        await r.stop()


def counter(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0
