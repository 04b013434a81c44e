"""The Faust application: broker settings tuned for fast group joins and safe commits."""

from __future__ import annotations

import faust

from infra.settings import Settings

FAUST_DETECTOR_OFF_S = 10 * 365 * 86400.0


def create_app(settings: Settings, app_id: str) -> faust.App:
    """A Faust app that only consumes topics we created (no auto-declare, no leader topic).

    Timeouts are tuned for a small cluster: the defaults make a member wait tens of seconds
    to join a group and to notice a dead peer; 10 s sessions with 1 s heartbeats make a
    killed worker's partitions move within ~10 s.
    """
    # Per host as well as per app: two workers of one group on one machine (a test, or a
    # deployment with WORKER_HOST set per instance) must not share a tables directory.
    datadir = settings.stack_dir / "faust" / app_id / settings.host_name
    datadir.parent.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
    return faust.App(
        app_id,
        broker=f"kafka://{settings.kafka_bootstrap_servers}",
        broker_client_id=f"tracktion-{app_id}-{settings.host_name}",
        key_serializer="raw",
        value_serializer="raw",
        store="memory://",
        # Faust writes a small tables directory even with the memory store; by default it
        # lands in the current directory as `<app id>-data`, one per app id. Keep it in the
        # git-ignored state directory instead of littering wherever the worker was started.
        datadir=str(datadir),
        autodiscover=False,
        web_enabled=False,  # the worker serves /health, /ready, /metrics itself
        topic_allow_declare=False,
        topic_disable_leader=True,
        topic_partitions=settings.kafka_partitions,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=10.0,
        broker_heartbeat_interval=1.0,
        broker_rebalance_timeout=30.0,
        broker_commit_interval=1.0,
        broker_commit_every=100,
        stream_buffer_maxsize=settings.queue_max_size,
        # Small fetches keep the priority lanes honest: with the default (hundreds of records
        # per poll) a high-priority record queued behind a normal backlog waited > 60 s; with
        # a few records per poll it is analysed within ~1 s (benchmarks/pipeline_memory_priority).
        broker_max_poll_records=max(8, 4 * settings.analysis_max_workers),
        producer_acks=-1,
        producer_linger_ms=5,
        processing_guarantee="at_least_once",
        stream_wait_empty=True,  # on shutdown, finish what is in the buffer before committing
        # Faust's stall detector measures from the last event taken in, so the first event
        # after an idle spell "stalled" at once; streams/worker/stall.py replaces it.
        stream_processing_timeout=FAUST_DETECTOR_OFF_S,
        broker_commit_livelock_soft_timeout=FAUST_DETECTOR_OFF_S,
    )
