"""Paths that cannot become file events: a named pipe, a name that is not UTF-8, a broken
link. Each is refused with its reason (an OSError, so callers report it like an unreadable
file) instead of hanging the publisher or crashing it, on the real filesystem."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from streams.publishing.fileinfo import (
    NotPublishable,
    iter_audio_files,
    printable,
    read_file_info,
)

NOT_UTF8 = os.fsdecode(b"caf\xe9.mp3")  # a Latin-1 name, as old rips have


def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.mp3"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def read() -> None:
        try:
            read_file_info(tmp_path, fifo)
            outcome.append(None)
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(5)
    if reader.is_alive():
        # Before, hashing opened the pipe and waited for a writer for ever (publish hung):
        # be that writer, so the blocked thread ends, and fail.
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(5)
        pytest.fail("read_file_info blocked on a named pipe")
    assert isinstance(outcome[0], NotPublishable)
    assert str(outcome[0]) == "not a regular file but a named pipe"


def test_a_name_that_is_not_utf8_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / NOT_UTF8
    path.write_bytes(b"audio")
    # Before, the event's file id (uuid5 of the path) raised UnicodeEncodeError, which is not
    # an OSError: `tracktion publish` crashed with a traceback and published nothing after.
    with pytest.raises(NotPublishable, match=r"not valid UTF-8.*rename it"):
        read_file_info(tmp_path, path)
    assert printable(path) == f"{tmp_path}/caf\\xe9.mp3"


def test_a_broken_link_names_its_missing_target(tmp_path: Path) -> None:
    link = tmp_path / "gone.mp3"
    link.symlink_to(tmp_path / "unplugged" / "gone.mp3")
    with pytest.raises(NotPublishable, match=r"broken symbolic link \(to .*unplugged/gone.mp3\)"):
        read_file_info(tmp_path, link)


def test_a_link_to_a_file_is_read_as_the_file(tmp_path: Path) -> None:
    (tmp_path / "real.mp3").write_bytes(b"audio")
    (tmp_path / "link.mp3").symlink_to(tmp_path / "real.mp3")
    info = read_file_info(tmp_path, tmp_path / "link.mp3")
    assert (info.size, info.relative_path) == (5, "link.mp3")


def test_a_folder_that_cannot_be_listed_is_reported_not_skipped_silently(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "open").mkdir()
    (tmp_path / "open" / "a.mp3").write_bytes(b"audio")
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "b.mp3").write_bytes(b"audio")
    real_scandir = os.scandir

    def scandir(path: object) -> object:
        # What a folder without read permission does (the tests run as root, which reads all).
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    skipped: list[tuple[Path, str]] = []
    found = [p.name for _, p in iter_audio_files(
        [tmp_path], lambda d, reason: skipped.append((d, reason)))]
    assert found == ["a.mp3"]
    # Before, os.walk dropped the folder and every track in it without a word.
    assert skipped == [(tmp_path.resolve() / "locked",
                        "cannot list this folder (Permission denied)")]


def test_a_linked_folder_is_scanned_under_the_links_path_and_a_loop_once(
        tmp_path: Path) -> None:
    lib, drive = tmp_path / "lib", tmp_path / "drive"
    (lib / "local").mkdir(parents=True)
    (lib / "local" / "a.mp3").write_bytes(b"audio")
    (drive / "album").mkdir(parents=True)
    (drive / "album" / "b.mp3").write_bytes(b"audio")
    (lib / "usb").symlink_to(drive)  # a drive linked into the library
    (lib / "usb again").symlink_to(drive)  # the same folder a second way
    (drive / "album" / "up").symlink_to(lib)  # a loop
    skipped: list[tuple[str, str]] = []
    linked: list[str] = []
    found = [p.relative_to(lib.resolve()).as_posix() for _, p in iter_audio_files(
        [lib], lambda d, reason: skipped.append((d.name, reason)),
        lambda d: linked.append(d.name))]
    # Before, os.walk did not follow links: the drive's tracks were missing, unreported.
    assert found == ["local/a.mp3", "usb/album/b.mp3"]
    assert linked == ["usb"]
    assert skipped == [("up", f"a link to a folder scanned already ({lib})"),
                       ("usb again", f"a link to a folder scanned already ({drive})")]
