"""The local Kafka cluster's pure parts: node names, ports, identity, service names."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.stack.base import StackError, StackPaths
from infra.stack.kafka import (
    NODE_JVM_FLAGS,
    KafkaNode,
    client_env,
    cluster_replication,
    cluster_size,
    ensure_identity,
    load_identity,
    parse_node_name,
    reset_cluster,
)
from infra.stack.manager import expand_names, load_services


def paths(tmp_path: Path) -> StackPaths:
    return StackPaths(repo=Path(__file__).resolve().parents[3], state=tmp_path)


def test_node_names() -> None:
    assert parse_node_name("kafka-1") == 1
    assert parse_node_name("kafka-12") == 12
    for other in ("kafka", "kafka-", "kafka-0", "kafka-x", "redis", "kafka-cluster"):
        assert parse_node_name(other) is None


def test_client_environment_and_replication() -> None:
    assert client_env(3) == ("KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092,127.0.0.1:19093,"
                             "127.0.0.1:19094 KAFKA_REPLICATION_FACTOR=3")
    assert cluster_replication(3) == (3, 2)
    assert cluster_replication(5) == (3, 2)
    assert cluster_replication(2) == (2, 1)


def test_identity_is_generated_once_and_fixed_in_size(tmp_path: Path) -> None:
    p = paths(tmp_path)
    assert load_identity(p) is None and cluster_size(p) == 3
    first = ensure_identity(p, 3)
    assert ensure_identity(p, 3) == first == load_identity(p)
    assert cluster_size(p, 5) == 3
    assert len({first.cluster_id, *first.directory_ids.values()}) == 4
    voters = first.initial_controllers().split(",")
    assert [v.split(":")[:2] for v in voters] == [
        ["1@127.0.0.1", "19192"], ["2@127.0.0.1", "19193"], ["3@127.0.0.1", "19194"]]
    with pytest.raises(StackError, match="formatted with 3 nodes, not 5"):
        ensure_identity(p, 5)
    reset_cluster(p)
    assert load_identity(p) is None


def test_node_config(tmp_path: Path) -> None:
    node = KafkaNode(paths(tmp_path), 2, 3)
    node._write_config()
    text = node.config.read_text()
    for line in ("node.id=2", "listeners=PLAINTEXT://127.0.0.1:19093,CONTROLLER://127.0.0.1:19193",
                 "controller.quorum.bootstrap.servers=127.0.0.1:19192,127.0.0.1:19193,"
                 "127.0.0.1:19194", "default.replication.factor=3", "min.insync.replicas=2",
                 "transaction.state.log.min.isr=2", "share.coordinator.state.topic.min.isr=2",
                 f"log.dirs={tmp_path / 'kafka-2' / 'data'}"):
        assert line in text.splitlines(), line
    assert "-Xmx384m" in NODE_JVM_FLAGS and not any(f.startswith("-Xmx7") for f in NODE_JVM_FLAGS)
    with pytest.raises(StackError):
        KafkaNode(paths(tmp_path), 4, 3)


def test_service_names(tmp_path: Path) -> None:
    p = paths(tmp_path)
    assert expand_names(p, None, 1) == ["postgres", "redis", "rabbitmq", "kafka", "neo4j",
                                        "jaeger"]
    assert expand_names(p, None, 3) == ["postgres", "redis", "rabbitmq", "kafka-1", "kafka-2",
                                        "kafka-3", "neo4j", "jaeger"]
    assert expand_names(p, ["kafka", "kafka-2"], 3) == ["kafka-1", "kafka-2", "kafka-3"]
    assert expand_names(p, ["kafka"], 1) == ["kafka"]
    (node,) = load_services(p, ["kafka-3"], 1)
    assert isinstance(node, KafkaNode) and node.port == 19094 and node.size == 3
    ensure_identity(p, 3)
    with pytest.raises(StackError, match="formatted with 3 nodes"):
        expand_names(p, ["kafka"], 5)
    with pytest.raises(StackError, match="unknown service"):
        load_services(p, ["kafka-x"])
