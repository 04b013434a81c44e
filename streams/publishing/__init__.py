"""Publishing file events: scanning a library, reading file facts, and sending events."""
