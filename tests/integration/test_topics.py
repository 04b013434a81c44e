"""Topic creation against the real broker: idempotent, and a replication factor the cluster
cannot honour is refused with a message that says what to change, creating nothing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from infra.kafka_admin import TopicSetupError, ensure_topics
from infra.settings import Settings
from schemas.namespace import Namespace
from schemas.topics import catalogue
from tests.e2e.support import cleanup_namespace
from tests.integration.kafka_utils import REPO

SERVICES = ("kafka",)


async def topic_names(bootstrap: str, prefix: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return {t for t in await admin.list_topics() if t.startswith(f"{prefix}.")}
    finally:
        await admin.close()


async def test_create_is_idempotent(settings: Settings, uid: str) -> None:
    prefix = f"tp{uid}"
    try:
        created = await ensure_topics(settings.kafka_bootstrap_servers, 3, Namespace(prefix))
        assert set(created) == {t.name for t in catalogue(Namespace(prefix))}
        assert await ensure_topics(settings.kafka_bootstrap_servers, 3, Namespace(prefix)) == []
        assert await topic_names(settings.kafka_bootstrap_servers, prefix) == set(created)
    finally:
        await cleanup_namespace(settings, prefix)


async def test_too_many_replicas_is_refused_clearly(settings: Settings, uid: str) -> None:
    prefix = f"tr{uid}"
    with pytest.raises(TopicSetupError, match=r"KAFKA_REPLICATION_FACTOR=2 .* 1 broker"):
        await ensure_topics(settings.kafka_bootstrap_servers, 3, Namespace(prefix),
                            replication_factor=2)
    assert await topic_names(settings.kafka_bootstrap_servers, prefix) == set()


def test_cli_reports_the_setting_to_change(uid: str) -> None:
    env = {**os.environ, "KAFKA_REPLICATION_FACTOR": "2"}
    result = subprocess.run(
        [sys.executable, "-m", "streams.cli.main", "topics", "create", "--prefix", f"tc{uid}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "KAFKA_REPLICATION_FACTOR=2" in result.stderr
    assert "Traceback" not in result.stderr
