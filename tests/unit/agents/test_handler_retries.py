"""Bounded retries in the analysis handler: a deterministic error is final at once (reason
`internal`, dead-lettered, the partition moves on); transient I/O is retried, then given up."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError

from schemas.analysis_events import AnalysisCompleted, AnalysisFailed
from schemas.codec import decode
from schemas.namespace import Namespace
from streams.agents.cache import ResultCache
from streams.agents.handler import AnalysisHandler, RetryPolicy
from tests.unit.agents.test_handler_version import FakePool, Sent, discovered

IO_ATTEMPTS = 4


def fast() -> RetryPolicy:
    return RetryPolicy(base_delay_s=0.001, io_attempts=IO_ATTEMPTS, io_max_delay_s=0.002)


class Flaky(Sent):
    """Kafka refusing the first `failures` produces with a connection error."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.attempts = 0

    async def emit(self, topic: str, key: bytes | None, value: bytes,
                   headers: list[tuple[str, bytes]]) -> Any:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise KafkaConnectionError("broker unreachable")
        return await super().emit(topic, key, value, headers)


def outcomes(sent: Sent) -> list[Any]:
    return [decode(v) for t, v in sent.records if t == Namespace("t").analysis_topic]


async def test_a_result_the_schema_rejects_fails_as_internal_and_is_deadlettered() -> None:
    sent = Sent()
    handler = AnalysisHandler(FakePool(bpm="fast"), ResultCache(1), sent.emit, Namespace("t"), 2)  # type: ignore[arg-type]
    # Before: retried forever while holding the file's lock and the actor.
    await asyncio.wait_for(handler.handle(discovered("e1"), None), timeout=5)
    (failed,) = [e for e in outcomes(sent) if isinstance(e, AnalysisFailed)]
    assert failed.payload.reason == "internal" and not failed.payload.transient
    assert failed.payload.message.startswith("msgspec.ValidationError: Expected `float`"), \
        failed.payload.message
    (dead,) = [v for t, v in sent.records if t == Namespace("t").deadletter_topic]
    assert decode(dead).event_id == "e1"
    assert not [e for e in outcomes(sent) if isinstance(e, AnalysisCompleted)]


async def test_transient_io_is_retried_until_it_succeeds() -> None:
    sent = Flaky(failures=2)
    handler = AnalysisHandler(FakePool(), ResultCache(1), sent.emit, Namespace("t"), 2, fast())  # type: ignore[arg-type]
    await asyncio.wait_for(handler.handle(discovered("e1"), None), timeout=5)
    assert not [e for e in outcomes(sent) if isinstance(e, AnalysisFailed)]
    assert len([e for e in outcomes(sent) if isinstance(e, AnalysisCompleted)]) == 1


async def test_transient_io_that_never_recovers_gives_up_after_the_limit() -> None:
    sent = Flaky(failures=10**9)
    handler = AnalysisHandler(FakePool(), ResultCache(1), sent.emit, Namespace("t"), 2, fast())  # type: ignore[arg-type]
    with pytest.raises(KafkaConnectionError):
        await asyncio.wait_for(handler.handle(discovered("e1"), None), timeout=5)
    # io_attempts for the analysis step (2 produces each: started, completed), then for the
    # AnalysisFailed: bounded, not forever.
    assert sent.attempts <= 3 * IO_ATTEMPTS
