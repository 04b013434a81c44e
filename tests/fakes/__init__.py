"""In-memory stand-ins for the three I/O loops' brokers and stores (Kafka, RabbitMQ, writers)."""
