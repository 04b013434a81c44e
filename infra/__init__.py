"""Settings, clients, telemetry, logging, metrics, and the local stack of real servers."""
