"""Read the facts of one audio file: stat, content hash (XXH3-128) and tags (mutagen)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import xxhash

from schemas.file_events import FileInfo, Tags

AUDIO_EXTENSIONS = frozenset({".mp3", ".flac", ".wav", ".m4a", ".aac", ".ogg", ".opus",
                              ".aiff", ".aif"})
_CHUNK = 1 << 20


def is_audio(path: Path) -> bool:
    return path.suffix.lower() in AUDIO_EXTENSIONS and not path.name.startswith(".")


def iter_audio_files(paths: list[Path]) -> Iterator[tuple[Path, Path]]:
    """Yield (library_root, file) for each audio file under `paths`, in a stable sorted order.

    A file argument is its own library root's child: its parent directory is the root.
    """
    for given in paths:
        given = given.resolve()
        if given.is_file():
            if is_audio(given):
                yield given.parent, given
            continue
        for dirpath, dirnames, filenames in os.walk(given):
            dirnames.sort()
            for name in sorted(filenames):
                candidate = Path(dirpath) / name
                if is_audio(candidate):
                    yield given, candidate


def content_hash(path: Path) -> str:
    digest = xxhash.xxh3_128()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _first(tags: object, key: str) -> str | None:
    try:
        values = tags[key]  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        return None
    if isinstance(values, list) and values:
        return str(values[0]).strip() or None
    return None


def _number(text: str | None) -> int | None:
    if not text:
        return None
    head = text.split("/")[0].split("-")[0].strip()
    return int(head) if head.isdigit() else None


def read_tags(path: Path) -> Tags:
    """Tags where present; unreadable or absent tags give empty Tags, never an error."""
    try:
        import mutagen

        audio = mutagen.File(path, easy=True)
    except Exception:
        return Tags()
    if audio is None or audio.tags is None:
        return Tags()
    t = audio.tags
    return Tags(artist=_first(t, "artist"), title=_first(t, "title"), album=_first(t, "album"),
                genre=_first(t, "genre"), year=_number(_first(t, "date")),
                track_number=_number(_first(t, "tracknumber")))


def read_file_info(root: Path, path: Path) -> FileInfo:
    stat = path.stat()
    return FileInfo(
        path=str(path), library_root=str(root), relative_path=path.relative_to(root).as_posix(),
        size=stat.st_size, mtime=stat.st_mtime, content_hash=content_hash(path),
        format=path.suffix.lower().lstrip("."), tags=read_tags(path))
