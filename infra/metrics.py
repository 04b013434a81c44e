"""Prometheus metrics of the pipeline's processes (names follow the source documents)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

BRIDGE_EVENTS = Counter("bridge_events_total", "Messages moved from RabbitMQ to Kafka",
                        ["outcome"])
BRIDGE_SEND_STALLS = Counter(
    "bridge_send_stalls_total",
    "Times a bridge batch waited another report interval for Kafka's acknowledgement")
DEADLETTERS = Counter("deadletter_events_total", "Messages sent to the dead-letter topic",
                      ["source", "reason"])

ANALYSIS_FILES = Counter("analysis_files_processed_total", "Files analysed", ["status"])
ANALYSIS_DURATION = Histogram(
    "analysis_processing_duration_seconds", "Time to analyse one file (per feature too)",
    ["feature"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128))
ANALYSIS_QUEUE_DEPTH = Gauge("analysis_queue_depth", "Consumer lag of the analysis group",
                             ["lane"])
ANALYSIS_STALLED_PARTITIONS = Gauge(
    "analysis_stalled_partitions",
    "Analysis lane partitions with records waiting and no committed progress for STALL_TIMEOUT")
ANALYSIS_FAILURES = Counter("analysis_failures_total", "Failed analyses", ["reason"])
ANALYSIS_TIMEOUTS = Counter("analysis_timeouts_total", "Analyses killed after ANALYSIS_TIMEOUT")
ANALYSIS_WORKER_UTILIZATION = Gauge("analysis_worker_utilization",
                                    "Busy analysis workers / ANALYSIS_MAX_WORKERS")
ANALYSIS_CACHE_HITS = Counter("analysis_cache_hits_total", "Results served from the cache")
ANALYSIS_CACHE_MISSES = Counter("analysis_cache_misses_total", "Cache lookups that missed")
