"""`publish --wait` follows its batch through the read layer's ProgressReads (no Redis server:
the reader's wait and close are stubbed, the expected total recorded in a list)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from infra.settings import Settings
from projections.reads import ProgressReads
from projections.redis.progress import BatchProgress
from schemas.namespace import Namespace
from streams.cli import wait


def batch(cid: str, succeeded: int, failed: int, done: bool) -> BatchProgress:
    total = succeeded + failed
    return BatchProgress(cid, total, 0, 0, succeeded, failed, 0, total, None, None, None, None,
                         None, done)


@pytest.fixture
def followed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, object]]:
    """What the command did, in order: the expected total it wrote, the reader it opened,
    the batch it waited on, and the reader's close."""
    seen: list[tuple[str, object]] = []

    async def set_expected(_: Settings, key_prefix: str, cid: str, n: int) -> None:
        seen.append(("expected", (key_prefix, cid, n)))

    async def wait_for(reads: ProgressReads, cid: str, timeout: float | None = None,
                       on_update: Callable[[BatchProgress], object] | None = None,
                       ) -> BatchProgress:
        seen.append(("wait", (reads.prefix, cid, timeout)))
        assert on_update is not None
        on_update(batch(cid, 1, 0, done=False))
        return batch(cid, 2, 1, done=True)

    async def close(_: ProgressReads) -> None:
        seen.append(("close", None))

    monkeypatch.setattr(wait, "set_expected", set_expected)
    monkeypatch.setattr(ProgressReads, "wait", wait_for)
    monkeypatch.setattr(ProgressReads, "close", close)
    return seen


def test_waits_through_progress_reads_of_the_namespace(
        followed: list[tuple[str, object]]) -> None:
    done = wait.wait_for_batch_cli(Settings(), "c1", 3, 60.0, quiet=True, ns=Namespace("p1"))
    assert (done["succeeded"], done["failed"]) == (2, 1)
    assert isinstance(done["seconds"], float)
    assert followed == [("expected", ("p1:", "c1", 3)), ("wait", ("p1:", "c1", 60.0)),
                        ("close", None)]


def test_a_timeout_propagates_and_the_reader_is_closed(
        followed: list[tuple[str, object]], monkeypatch: pytest.MonkeyPatch) -> None:
    async def never(*_: object, **__: object) -> BatchProgress:
        raise TimeoutError("batch c1 not done after 1.0 s: None")

    monkeypatch.setattr(ProgressReads, "wait", never)
    with pytest.raises(TimeoutError, match="not done after"):
        wait.wait_for_batch_cli(Settings(), "c1", 3, 1.0, quiet=True)
    assert followed == [("expected", ("tracktion:", "c1", 3)), ("close", None)]
