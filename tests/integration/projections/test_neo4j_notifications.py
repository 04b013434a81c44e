"""The project's Neo4j driver does not log server notifications: `query mix` on a graph
whose tracks had no title printed the driver's "property title does not exist" warning
to the user as a raw log line."""

from __future__ import annotations

import logging

import pytest

from infra.settings import Settings
from projections.neo4j.writer import connect

SERVICES = ("neo4j",)


async def test_queries_naming_absent_properties_log_no_notifications(
        settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    driver = connect(settings)
    try:
        with caplog.at_level(logging.INFO, logger="neo4j"):
            result = await driver.execute_query(
                "MATCH (t:NoSuchLabelInTracktion) RETURN t.no_such_property_in_tracktion AS v")
    finally:
        await driver.close()
    assert result.records == []
    assert [r.getMessage()[:200] for r in caplog.records
            if r.name.startswith("neo4j.notifications")] == []
