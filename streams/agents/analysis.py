"""Faust agents: one per priority lane, all feeding one prioritised process pool.

The high lane's events reach the pool's wait queue with rank 0, so as soon as a worker is
free it takes high-priority work, whatever the backlog on the other lanes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import faust

from schemas.envelope import PRIORITIES
from schemas.namespace import Namespace
from streams.agents.handler import AnalysisHandler


def register_agents(app: faust.App, handler: AnalysisHandler, ns: Namespace,
                    concurrency: int) -> list[Any]:
    agents = []
    for lane in PRIORITIES:
        topic = app.topic(ns.lane_topic(lane), key_serializer="raw", value_serializer="raw")

        async def analyse_files(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
            async for event in stream.events():
                # Headers carry the trace context; Faust hands them over as a list of pairs.
                headers = list(event.headers.items()) if isinstance(event.headers, dict) \
                    else list(event.headers or [])
                await handler.handle(event.value, headers)
                yield None

        agents.append(app.agent(topic, name=f"analyse_files_{lane}",
                                concurrency=concurrency)(analyse_files))
    return agents
