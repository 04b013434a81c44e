"""Topic creation requests: partitions, replication and min.insync.replicas per factor."""

from __future__ import annotations

import pytest

from infra.kafka_admin import min_insync_replicas, topic_requests
from schemas.namespace import Namespace
from schemas.topics import catalogue


@pytest.mark.parametrize(("factor", "isr"), [(1, None), (2, 1), (3, 2), (5, 2)])
def test_min_insync_replicas(factor: int, isr: int | None) -> None:
    assert min_insync_replicas(factor) == isr


def test_requests_only_for_missing_topics_with_the_factor() -> None:
    specs = catalogue(Namespace("t"))
    existing = {specs[0].name}
    requests = topic_requests(specs, existing, default_partitions=12, replication_factor=3)
    assert [r.name for r in requests] == [s.name for s in specs[1:]]
    for request, spec in zip(requests, specs[1:], strict=True):
        assert request.replication_factor == 3
        assert request.num_partitions == (spec.partitions or 12)
        assert request.topic_configs["min.insync.replicas"] == "2"
        for key, value in spec.config.items():  # the catalogue's own settings survive
            assert request.topic_configs[key] == value


def test_single_broker_requests_keep_the_broker_default_isr() -> None:
    (request, *_) = topic_requests(catalogue(Namespace("t")), set(), 6)
    assert request.replication_factor == 1
    assert "min.insync.replicas" not in request.topic_configs
