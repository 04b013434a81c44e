"""End-to-end tests use the same service checks as the integration tests."""

from tests.integration.conftest import _stack_reachable, kafka_topic  # noqa: F401
