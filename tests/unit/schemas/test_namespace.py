"""Every name a prefix derives, pinned byte for byte: stored data and existing topics, queues
and consumer groups are found by these names, so a change here strands them."""

from __future__ import annotations

import pytest

from infra.amqp import Topology
from projections.neo4j.writer import DEFAULT_NS
from projections.postgres.schema import DEFAULT_SCHEMA
from projections.redis.keys import DEFAULT_PREFIX
from schemas.namespace import LIVE, Namespace
from schemas.topics import catalogue


def test_live_names() -> None:
    ns = Namespace()
    assert ns == LIVE and ns.prefix == "tracktion" and ns.is_live
    assert ns.lane_topics == ("tracktion.files.high", "tracktion.files.normal",
                              "tracktion.files.low")
    assert ns.analysis_topic == "tracktion.analysis"
    assert ns.deadletter_topic == "tracktion.deadletter"
    assert ns.source_topics == (*ns.lane_topics, "tracktion.analysis")
    assert ns.amqp_exchange == "tracktion.events"
    assert ns.amqp_queue == "tracktion.bridge"
    assert ns.analysis_group == "tracktion-analysis"  # also the Faust app id
    assert [ns.projection_group(s) for s in ("postgres", "neo4j", "redis", "tags")] == [
        "tracktion.projection.postgres", "tracktion.projection.neo4j",
        "tracktion.projection.redis", "tracktion.projection.tags"]
    assert ns.bridge_client_id("h1") == "tracktion.bridge-h1"
    assert ns.pg_schema == "tracktion"
    assert ns.neo4j_ns == "live"
    assert ns.redis_prefix == "tracktion:"


def test_side_namespace_names() -> None:
    ns = Namespace("t1a2")
    assert not ns.is_live
    assert ns.lane_topic("high") == "t1a2.files.high"
    assert ns.lane_topics == ("t1a2.files.high", "t1a2.files.normal", "t1a2.files.low")
    assert (ns.analysis_topic, ns.deadletter_topic) == ("t1a2.analysis", "t1a2.deadletter")
    assert (ns.amqp_exchange, ns.amqp_queue) == ("t1a2.events", "t1a2.bridge")
    assert ns.analysis_group == "t1a2-analysis"
    assert ns.projection_group("neo4j") == "t1a2.projection.neo4j"
    # A side namespace's read models are named by the prefix itself.
    assert (ns.pg_schema, ns.neo4j_ns, ns.redis_prefix) == ("t1a2", "t1a2", "t1a2:")


def test_the_catalogue_and_topology_spell_the_namespace_names() -> None:
    ns = Namespace("p")
    assert [t.name for t in catalogue(ns)] == [*ns.lane_topics, ns.analysis_topic,
                                               ns.deadletter_topic]
    assert (Topology(ns).exchange, Topology(ns).queue) == (ns.amqp_exchange, ns.amqp_queue)
    assert Topology(ns) == Topology(Namespace("p"))
    # The live system's names, and what the catalogue and topology give with no namespace.
    assert (LIVE.lane_topic("low"), LIVE.analysis_topic, LIVE.deadletter_topic) == (
        "tracktion.files.low", "tracktion.analysis", "tracktion.deadletter")
    assert [t.name for t in catalogue()] == [
        "tracktion.files.high", "tracktion.files.normal", "tracktion.files.low",
        "tracktion.analysis", "tracktion.deadletter"]
    assert (Topology().exchange, Topology().queue) == ("tracktion.events", "tracktion.bridge")
    # The stores' own defaults are the live namespace's names.
    assert [DEFAULT_SCHEMA, DEFAULT_NS, DEFAULT_PREFIX] == ["tracktion", "live", "tracktion:"]
    assert [LIVE.pg_schema, LIVE.neo4j_ns, LIVE.redis_prefix] == [DEFAULT_SCHEMA, DEFAULT_NS,
                                                                  DEFAULT_PREFIX]


def test_a_namespace_is_not_a_string() -> None:
    with pytest.raises(TypeError):
        Namespace(Namespace("p"))  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        Namespace("p").prefix = "q"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Topology("p")  # type: ignore[arg-type]
