"""The RabbitMQ to Kafka bridge: at-least-once, keyed by file, priority lanes, dead letters."""
