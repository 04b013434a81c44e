"""Read the facts of one audio file: stat, content hash (XXH3-128) and tags (mutagen)."""

from __future__ import annotations

import os
import stat as stat_mode
from collections.abc import Callable, Iterator
from pathlib import Path

import xxhash

from schemas.file_events import FileInfo, Tags

AUDIO_EXTENSIONS = frozenset({".mp3", ".flac", ".wav", ".m4a", ".aac", ".ogg", ".opus",
                              ".aiff", ".aif"})
_CHUNK = 1 << 20


class NotPublishable(OSError):
    """A path that cannot become a file event, with the reason in words.

    An OSError, so every caller that already reports an unreadable file (publish lists it as
    not published, the watcher logs it) reports these the same way instead of crashing."""


def printable(path: Path | str) -> str:
    """The path as text that can be printed and logged: a name that is not UTF-8 shows its
    undecodable bytes as \\xNN instead of raising UnicodeEncodeError on the way out."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def utf8_name(path: Path | str) -> bool:
    """Whether the path is valid UTF-8. Events carry paths as UTF-8 text (JSON), so a name
    with other bytes (Latin-1 from an old rip, say) cannot be published until it is renamed."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_publishable(path: Path) -> os.stat_result:
    if not utf8_name(path):
        raise NotPublishable("the file name is not valid UTF-8; events carry paths as UTF-8 "
                             "text, so rename it (convmv can)")
    try:
        st = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise NotPublishable(f"a broken symbolic link (to {os.readlink(path)})") from None
        raise
    if not stat_mode.S_ISREG(st.st_mode):
        # Opening a FIFO to hash it waits for a writer for ever: refuse anything not a file.
        raise NotPublishable(f"not a regular file but a {_kind(st.st_mode)}")
    return st


def _kind(mode: int) -> str:
    for test, name in ((stat_mode.S_ISFIFO, "named pipe"), (stat_mode.S_ISSOCK, "socket"),
                       (stat_mode.S_ISCHR, "character device"),
                       (stat_mode.S_ISBLK, "block device"), (stat_mode.S_ISDIR, "directory")):
        if test(mode):
            return name
    return "special file"


def is_audio(path: Path) -> bool:
    return path.suffix.lower() in AUDIO_EXTENSIONS and not path.name.startswith(".")


# Told about a folder that is not scanned, with the reason in words.
Skipped = Callable[[Path, str], None]
# Told about each linked folder scanned (the watcher watches it: inotify does not follow).
Linked = Callable[[Path], None]


def iter_audio_files(paths: list[Path], skipped: Skipped | None = None,
                     linked: Linked | None = None) -> Iterator[tuple[Path, Path]]:
    """Yield (library_root, file) for each audio file under `paths`, in a stable sorted order.

    A file argument is its own library root's child: its parent directory is the root.
    See `walk_audio` for linked folders and the folders it skips.
    """
    for given in paths:
        given = given.resolve()
        if given.is_file():
            if is_audio(given):
                yield given.parent, given
            continue
        for path in walk_audio(given, skipped, linked):
            yield given, path


def walk_audio(top: Path, skipped: Skipped | None = None,
               linked: Linked | None = None) -> Iterator[Path]:
    """Audio files under `top`, sorted, their paths under `top` as written (not resolved).

    Symbolic links to folders are followed (a drive or a share linked into the library is
    part of it) and handed to `linked`; a folder reached twice (a link loop, or one folder
    linked from two places) is scanned once, the second way reported to `skipped`, so no
    track is published under two ids. A folder that cannot be listed (permissions, an I/O
    error) is reported too: os.walk drops it silently otherwise, and every track under it.
    """
    def unreadable(exc: OSError) -> None:
        if skipped is not None:
            skipped(Path(exc.filename), f"cannot list this folder ({exc.strerror})")

    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(top, onerror=unreadable, followlinks=True):
        here = Path(dirpath)
        try:
            st = here.stat()
        except OSError as exc:
            dirnames[:] = []
            unreadable(exc)
            continue
        if (st.st_dev, st.st_ino) in seen:
            dirnames[:] = []
            if skipped is not None:
                target = os.readlink(here) if here.is_symlink() else "a bind mount"
                skipped(here, f"a link to a folder scanned already ({target})")
            continue
        seen.add((st.st_dev, st.st_ino))
        if linked is not None and here != top and here.is_symlink():
            linked(here)
        dirnames.sort()
        for name in sorted(filenames):
            candidate = here / name
            if is_audio(candidate):
                yield candidate


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
    """Raises OSError for a file that cannot be read, NotPublishable for one that cannot be
    an event (a name that is not UTF-8, a broken link, a named pipe or other special file)."""
    stat = _check_publishable(path)
    return FileInfo(
        path=str(path), library_root=str(root), relative_path=path.relative_to(root).as_posix(),
        size=stat.st_size, mtime=stat.st_mtime, content_hash=content_hash(path),
        format=path.suffix.lower().lstrip("."), tags=read_tags(path))
