"""A process pool for CPU-bound analysis: priorities, per-task timeouts, memory recycling."""
