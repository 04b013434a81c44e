"""The bridge role: RabbitMQ queue to Kafka lanes (see streams/bridge/bridge.py)."""

from __future__ import annotations

from infra.kafka_admin import ensure_catalogue
from infra.settings import Settings
from schemas.namespace import Namespace
from streams.bridge.bridge import Bridge
from streams.worker.web import RouteAdder


class BridgeRole:
    name = "bridge"
    dependencies: tuple[str, ...] = ("kafka", "rabbitmq")

    def __init__(self, settings: Settings, ns: Namespace) -> None:
        self._settings = settings
        self._ns = ns
        self.bridge = Bridge(settings.rabbitmq_url, settings.kafka_bootstrap_servers, ns,
                             max_event_bytes=settings.max_event_bytes,
                             client_id=ns.bridge_client_id(settings.host_name))

    async def start(self) -> None:
        await ensure_catalogue(self._settings, self._ns)
        await self.bridge.start()

    async def run(self) -> None:
        await self.bridge.run()

    async def stop(self) -> None:
        await self.bridge.stop()

    def routes(self) -> list[RouteAdder]:
        return []
