"""The example multi-host deployment (infra/deploy/) names only settings, roles and commands
that exist, so a rename in the code cannot leave the example silently wrong."""

from __future__ import annotations

import re
from pathlib import Path

from infra.settings import Settings
from infra.stack.kafka import NODE_PROPERTIES
from streams.cli.worker_cmd import ROLES

DEPLOY = Path(__file__).resolve().parents[3] / "infra" / "deploy"
# Read by libraries we configure, not by Settings (OpenTelemetry's own variables).
LIBRARY_VARIABLES = {"OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"}


def _assignments(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines()
                if line and not line.startswith("#") and "=" in line)


def test_the_env_file_sets_only_real_settings() -> None:
    names = set(_assignments((DEPLOY / "systemd" / "tracktion.env.example").read_text()))
    fields = {name.upper() for name in Settings.model_fields}
    assert names - fields - LIBRARY_VARIABLES == set()
    assert {"KAFKA_BOOTSTRAP_SERVERS", "KAFKA_REPLICATION_FACTOR", "WORKER_HOST"} <= names


def test_each_unit_runs_a_real_worker_role_with_the_env_file() -> None:
    units = sorted((DEPLOY / "systemd").glob("tracktion-*.service"))
    assert len(units) == 3
    roles = set()
    for unit in units:
        text = unit.read_text()
        assert "EnvironmentFile=/etc/tracktion/tracktion.env" in text, unit.name
        (role,) = re.findall(r"ExecStart=\S+/tracktion worker --role (\w+)", text)
        assert "KillSignal=SIGTERM" in text, unit.name  # graceful shutdown, no data loss
        roles.add(role)
    assert roles == {"bridge", "analysis", "projections"} and roles <= set(ROLES)


def test_the_kafka_node_example_keeps_the_tested_replication_settings() -> None:
    example = _assignments((DEPLOY / "kafka" / "node.properties.example").read_text())
    tested = _assignments(NODE_PROPERTIES.format(
        node=1, broker=19092, controller=19192, quorum="q", data="d", rf=3, isr=2))
    for key in ("process.roles", "default.replication.factor", "min.insync.replicas",
                "offsets.topic.replication.factor", "auto.create.topics.enable",
                "broker.session.timeout.ms", "transaction.state.log.min.isr"):
        assert example[key] == tested[key], key
