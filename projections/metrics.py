"""Prometheus metrics of the projection runners, defined once per process at import."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

CIRCUIT_BREAKER_STATE = Gauge(
    "circuit_breaker_state",
    "Circuit breaker state per dependency: 0=closed, 1=open, 2=half-open.",
    ["dependency"],
)
PROJECTION_EVENTS_APPLIED = Counter(
    "projection_events_applied_total",
    "Events applied by a projection and durably written with their checkpoint.",
    ["projection"],
)
PROJECTION_EVENTS_SKIPPED = Counter(
    "projection_events_skipped_total",
    "Records a projection could not decode; their offsets still advance the checkpoint.",
    ["projection", "reason"],
)
PROJECTION_WRITE_FAILURES = Counter(
    "projection_write_failures_total",
    "Batch writes not done: reason=error, timeout (past PROJECTION_WRITE_TIMEOUT) or"
    " breaker_open (not tried); the batch is kept and retried.",
    ["projection", "reason"],
)
PROJECTION_LAG = Gauge(
    "projection_lag",
    "Records on assigned partitions not yet written by the projection (sum over partitions).",
    ["projection"],
)
