"""A moved file is answered under its new id: from the cache when its bytes were analysed
(no decoding), by analysing it at its new path when they were not. Before, moves were not
analysed at all, so a file moved before its discovery's turn (a tagger renaming an import,
a worker hours behind) failed with not_found at the old path and stayed failed."""

from __future__ import annotations

import msgspec

from schemas.analysis_events import AnalysisCompleted, AnalysisStarted
from schemas.codec import decode, encode
from schemas.envelope import file_id_for
from schemas.file_events import FileMoved, FileMovedPayload
from schemas.namespace import Namespace
from streams.agents.cache import ResultCache
from streams.agents.handler import AnalysisHandler
from tests.unit.agents.test_handler_version import FakePool, Sent, discovered
from tests.unit.schemas.samples import FID, INFO, ROOT

NEW_INFO = msgspec.structs.replace(INFO, path=f"{ROOT}/sorted/track.mp3",
                                   relative_path="sorted/track.mp3")
NEW_FID = file_id_for(ROOT, NEW_INFO.relative_path)


def moved(event_id: str) -> bytes:
    return encode(FileMoved.create(file_id=NEW_FID, correlation_id="watch", event_id=event_id,
                                   payload=FileMovedPayload(file=NEW_INFO,
                                                            previous_file_id=FID,
                                                            previous_path=INFO.path)))


def analysis_events(sent: Sent) -> list[object]:
    return [decode(v) for t, v in sent.records if t == Namespace("t").analysis_topic]


async def test_a_move_of_analysed_bytes_is_a_cached_result_under_the_new_id() -> None:
    cache, pool, sent = ResultCache(1), FakePool(), Sent()
    handler = AnalysisHandler(pool, cache, sent.emit, Namespace("t"), 2)  # type: ignore[arg-type]
    await handler.handle(discovered("e1"), None)
    await handler.handle(moved("e2"), None)
    assert pool.calls == 1  # the move decoded nothing
    *_, result = analysis_events(sent)
    assert isinstance(result, AnalysisCompleted) and result.payload.cached
    assert (result.file_id, result.payload.path, result.causation_id) == (
        NEW_FID, NEW_INFO.path, "e2")


async def test_a_move_of_bytes_never_analysed_is_analysed_at_the_new_path() -> None:
    pool, sent = FakePool(), Sent()
    handler = AnalysisHandler(pool, ResultCache(1), sent.emit, Namespace("t"), 2)  # type: ignore[arg-type]
    await handler.handle(moved("e2"), None)
    started, completed = analysis_events(sent)
    assert isinstance(started, AnalysisStarted) and isinstance(completed, AnalysisCompleted)
    assert pool.calls == 1 and not completed.payload.cached
    assert {started.file_id, completed.file_id} == {NEW_FID}
    assert completed.payload.path == NEW_INFO.path
