"""The worker's HTTP server: /health (liveness), /ready (dependencies), /metrics, and the API."""

from __future__ import annotations

import errno
import time
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams.worker.health import Readiness

RouteAdder = Callable[[web.Application], None]


def build_app(readiness: Readiness, role: str, extra_routes: list[RouteAdder] | None = None,
              ) -> web.Application:
    started = time.time()
    app = web.Application()

    async def health(_: web.Request) -> web.Response:
        # Liveness must not touch dependencies: a slow database must not get us restarted.
        return web.json_response({"status": "ok", "role": role,
                                  "uptime_s": round(time.time() - started, 1)})

    async def ready(_: web.Request) -> web.Response:
        ok, components = await readiness.check()
        return web.json_response({"status": "ready" if ok else "not_ready",
                                  "components": components}, status=200 if ok else 503)

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", metrics)
    for add in extra_routes or []:
        add(app)
    return app


class PortInUse(OSError):
    """The web port is taken: most often another worker on this host with the same port."""


async def serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(exc.errno, f"{host}:{port} is already in use (another worker on "
                            "this host?): stop it, or give this one --port N or WEB_PORT"
                            ) from exc
        raise
    return runner
