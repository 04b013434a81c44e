"""The analysis handler through its `Emit` seam, against an in-memory producer whose acks the
tests control: what is awaited (the outcome, dead letters) and what is not (AnalysisStarted),
what each record carries (key, id headers, ids derived from the cause), and a lost ack."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiokafka.errors import KafkaConnectionError

from schemas import headers as h
from schemas.analysis_events import AnalysisCompleted, AnalysisFailed, AnalysisStarted
from schemas.codec import decode
from schemas.namespace import Namespace
from streams.agents.cache import ResultCache
from streams.agents.handler import AnalysisHandler, RetryPolicy
from streams.pool.pool import PoolTaskError
from streams.pool.reply import Analysed
from tests.fakes.memory_producer import MemoryProducer
from tests.unit.agents.test_handler_version import FakePool, discovered
from tests.unit.schemas.samples import FID

ANALYSIS, DEADLETTER = Namespace("t").analysis_topic, Namespace("t").deadletter_topic
FAST = RetryPolicy(base_delay_s=0.001, io_attempts=4, io_max_delay_s=0.002)


class BrokenFilePool:
    """A pool whose analysis fails for good (a corrupt file)."""

    async def analyse(self, path: str, priority: int = 1) -> Analysed:
        raise PoolTaskError("corrupt", "no audio frames", transient=False)


def handler_for(producer: MemoryProducer, pool: object | None = None) -> AnalysisHandler:
    return AnalysisHandler(pool or FakePool(), ResultCache(1), producer.emit,  # type: ignore[arg-type]
                           Namespace("t"), 2, FAST, worker_name="w1")


async def until(check: Callable[[], bool], what: str) -> None:
    for _ in range(2000):
        if check():
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"timed out waiting for {what}")


async def test_the_record_counts_as_done_only_once_its_outcome_is_acknowledged() -> None:
    producer = MemoryProducer(auto_ack=False)
    task = asyncio.create_task(handler_for(producer).handle(discovered("e1"), None))
    await until(lambda: len(producer.on(ANALYSIS)) == 2, "started and completed sent")
    started, completed = producer.on(ANALYSIS)
    assert isinstance(started.event(), AnalysisStarted)
    assert isinstance(completed.event(), AnalysisCompleted)
    await asyncio.sleep(0.01)
    assert not task.done()  # the agent would commit the offset of an unwritten result
    producer.ack(completed)
    await asyncio.wait_for(task, 1)
    # "started" is informational: the analysis did not wait for its ack.
    assert not started.delivered.done()


async def test_results_are_keyed_by_file_carry_id_headers_and_repeat_their_ids() -> None:
    first, second = MemoryProducer(), MemoryProducer()
    await handler_for(first).handle(discovered("e1"), None)
    await handler_for(second).handle(discovered("e1"), None)  # a redelivery, elsewhere
    for record in first.on(ANALYSIS):
        event = record.event()
        assert record.key == FID.encode() and event.causation_id == "e1"
        assert (record.header(h.EVENT_ID), record.header(h.EVENT_TYPE),
                record.header(h.CORRELATION_ID), record.header(h.FILE_ID)) == (
            event.event_id, event.event_type, "c", FID)
    ids = [[r.event().event_id for r in p.on(ANALYSIS)] for p in (first, second)]
    assert ids[0] == ids[1] and len(set(ids[0])) == 2


async def test_a_lost_ack_is_retried_and_the_result_sent_again_with_the_same_id() -> None:
    producer = MemoryProducer(auto_ack=False)
    task = asyncio.create_task(handler_for(producer).handle(discovered("e1"), None))
    await until(lambda: len(producer.on(ANALYSIS)) == 2, "the first result sent")
    producer.fail(producer.on(ANALYSIS)[1], KafkaConnectionError("leader went away"))
    await until(lambda: len(producer.on(ANALYSIS)) == 3, "the result sent again")
    producer.ack_all()
    await asyncio.wait_for(task, 1)
    first, again = (r.event() for r in producer.on(ANALYSIS)[1:])
    assert isinstance(again, AnalysisCompleted) and again.event_id == first.event_id
    assert again.payload.cached  # the retry found the analysis in the cache
    assert producer.on(DEADLETTER) == []


async def test_an_undecodable_record_is_dead_lettered_as_it_came() -> None:
    producer = MemoryProducer()
    await handler_for(producer).handle(b"not json", [("traceparent", b"00-x")])
    (dead,) = producer.records
    assert (dead.topic, dead.key, dead.value) == (DEADLETTER, None, b"not json")
    assert dead.header(h.DEADLETTER_SOURCE) == "analysis"
    assert (dead.header(h.DEADLETTER_REASON) or "").startswith("malformed: ")
    assert dead.header("traceparent") == "00-x"


async def test_a_failed_analysis_emits_the_failure_and_waits_for_its_dead_letter() -> None:
    producer = MemoryProducer(auto_ack=False)
    task = asyncio.create_task(handler_for(producer, BrokenFilePool()).handle(
        discovered("e1"), None))
    await until(lambda: len(producer.on(ANALYSIS)) == 2, "started and failed sent")
    for record in producer.on(ANALYSIS):
        producer.ack(record)
    await until(lambda: bool(producer.on(DEADLETTER)), "the dead letter sent")
    await asyncio.sleep(0.01)
    assert not task.done()
    (dead,) = producer.on(DEADLETTER)
    producer.ack(dead)
    await asyncio.wait_for(task, 1)
    failed = producer.on(ANALYSIS)[-1].event()
    assert isinstance(failed, AnalysisFailed) and failed.payload.reason == "corrupt"
    assert decode(dead.value).event_id == "e1" and dead.header(h.EVENT_ID) == "e1"
    assert (dead.header(h.DEADLETTER_REASON) or "").startswith("corrupt: no audio frames")
