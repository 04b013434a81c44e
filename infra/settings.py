"""One frozen settings object, read once from the environment, with defaults for the local stack."""

from __future__ import annotations

import os
import socket
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.namespace import LIVE_PREFIX, Namespace

# A dependency-free constant module (its package __init__ is empty, so no Essentia loads).
from streams.analysis.version import ANALYZER_VERSION

DEFAULT_STACK_DIR = Path(__file__).resolve().parent.parent / ".stack"
# Written by the first `tracktion stack up` (mode 0600): the generated passwords, as the
# connection settings below (DATABASE_URL, REDIS_URL, ...). The environment wins over it,
# so docker-compose or a deployment sets the same names and never needs the file.
CREDENTIALS_FILE = "credentials.env"


def _default_workers() -> int:
    return max(1, os.cpu_count() or 1)


class ConfigurationError(RuntimeError):
    """The settings do not fit the environment; the message says what to change."""


class Settings(BaseSettings):
    """Every tunable of the system. Environment variable names match the tuning guide."""

    model_config = SettingsConfigDict(frozen=True, env_prefix="", case_sensitive=False,
                                      extra="ignore")

    # Where the local stack keeps its state; everything it downloads or writes lives below it.
    stack_dir: Path = DEFAULT_STACK_DIR

    # TRACKTION_PREFIX: the namespace every command and worker uses unless the root option
    # `tracktion --prefix` names another (topics, queue, groups, schema, graph ns, keys).
    tracktion_prefix: str = LIVE_PREFIX

    @property
    def namespace(self) -> Namespace:
        return Namespace(self.tracktion_prefix)

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_partitions: int = 12
    # 1 suits the single local broker; 3 on a cluster (then min.insync.replicas = 2).
    kafka_replication_factor: int = 1
    # Kafka nodes `tracktion stack up` runs: 1 is the single broker on 9092; 3 a local KRaft
    # cluster on 19092-19094 (clients then set the servers and factor it prints).
    kafka_brokers: int = 1
    # No password here: `stack up` generates them into the credentials file (see above).
    database_url: str = "postgresql+asyncpg://tracktion@127.0.0.1:5432/tracktion"
    database_pool_size: int = 10
    database_max_overflow: int = 10
    database_pool_timeout: float = 30.0
    database_pool_recycle: int = 1800
    database_pool_pre_ping: bool = True
    neo4j_uri: str = "bolt://127.0.0.1:7687"
    neo4j_user: str = "neo4j"
    neo4j_password: str = ""
    redis_url: str = "redis://tracktion@127.0.0.1:6379/0"
    rabbitmq_url: str = "amqp://tracktion@127.0.0.1:5672/tracktion"
    otel_exporter_otlp_endpoint: str = "http://127.0.0.1:4317"
    jaeger_query_url: str = "http://127.0.0.1:16686"
    # Jaeger's own web UI where there is one (the docker-compose stack); the native build has
    # none, so by default the track page links only to the worker's /trace page.
    jaeger_ui_url: str = ""
    otel_traces_sampler: str = "parentbased_always_on"

    analysis_max_workers: int = _default_workers()
    analysis_batch_size: int = 32
    analysis_timeout: float = 120.0
    max_memory_mb: int = 450
    cache_size_mb: int = 64
    queue_max_size: int = 1000
    shutdown_timeout: float = 30.0
    # A partition of the analysis lanes with records waiting and no committed progress for
    # this long logs `analysis_stalled` (error) and counts in analysis_stalled_partitions.
    # Above ANALYSIS_TIMEOUT with its retries: one slow file holds its partition's commits.
    stall_timeout: float = 300.0
    # Longest one projection batch write may take before it counts as a failed call of its
    # store (the breaker's business). A store that accepts connections but never answers
    # (Neo4j while it starts, a locked table) would otherwise hang the projection, and
    # its shutdown, for good. Batches are replay-safe, so an abandoned write is retried.
    projection_write_timeout: float = 120.0
    # Largest encoded event accepted: publishers refuse bigger ones, the bridge dead-letters
    # them (an excerpt). Kafka's own per-batch limit (message.max.bytes) is ~1 MiB.
    max_event_bytes: int = 512 * 1024
    # The version the analysis role stamps on its results and keys its result cache with.
    # Defaults to the code's; a deployment may set it (e.g. to roll out or roll back).
    analyzer_version: int = ANALYZER_VERSION
    # Analysis tags written back into the files (`worker --role tags`). TAGS_WRITE=1 adds
    # that role to `--role all`; off by default, as it rewrites the user's files.
    tags_write: bool = False
    # Key notation of the written (and `tags diff`-compared) initial key tag.
    tags_key_notation: Literal["standard", "camelot", "open_key"] = "standard"

    # This worker's name among its peers: the Kafka client.id of each of its consumers and
    # producers (so broker logs and group descriptions say which host holds a partition),
    # the `worker` field of its events, and its Faust state directory. Empty: the hostname.
    # Set it when several workers share one host (two of them would otherwise look alike).
    worker_host: str = ""

    @property
    def host_name(self) -> str:
        return self.worker_host or socket.gethostname()

    web_host: str = "127.0.0.1"
    web_port: int = 6066
    log_format: str = "auto"  # auto | json | console
    log_level: str = "INFO"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the environment (and the stack's credentials file) once; callers share the result."""
    return Settings(_env_file=credentials_path())  # type: ignore[call-arg]  # pydantic-settings init option


def credentials_path() -> Path:
    """Where the local stack keeps its generated credentials (STACK_DIR moves it)."""
    return Path(os.environ.get("STACK_DIR") or DEFAULT_STACK_DIR) / CREDENTIALS_FILE
