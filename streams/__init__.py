"""The running side: the Faust app, the RabbitMQ to Kafka bridge, agents and the CLI."""
