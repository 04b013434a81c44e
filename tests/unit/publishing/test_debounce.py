from __future__ import annotations

from streams.watcher.debounce import Debouncer


def test_a_file_is_due_once_after_it_settles() -> None:
    d = Debouncer(settle_s=2)
    for t in (0.0, 0.5, 1.0):  # a copy in progress fires many events
        d.touch("/a.mp3", t)
    assert d.due(2.5, {"/a.mp3": 100}) == []  # quiet only 1.5 s
    assert d.due(3.1, {"/a.mp3": 100}) == []  # first size sample: re-armed
    assert d.due(5.2, {"/a.mp3": 100}) == ["/a.mp3"]  # stable size for a full settle period
    assert d.due(9.0, {"/a.mp3": 100}) == []  # published once only


def test_growing_file_without_events_is_not_due_until_stable() -> None:
    d = Debouncer(settle_s=1)
    d.touch("/b.flac", 0)
    assert d.due(1.1, {"/b.flac": 10}) == []
    assert d.due(2.2, {"/b.flac": 20}) == []
    assert d.due(3.3, {"/b.flac": 20}) == ["/b.flac"]


def test_vanished_file_is_dropped() -> None:
    d = Debouncer(settle_s=1)
    d.touch("/c.mp3", 0)
    assert d.due(2, {"/c.mp3": None}) == [] and d.pending() == []
