"""The aiohttp adapter: routes and error mapping over planet_tracker.core, nothing else.

``create_app`` is a coroutine function so that it serves both of aiohttp's own launchers:
``gunicorn planet_tracker.aiohttp_app:create_app --worker-class aiohttp.GunicornWebWorker`` awaits it with no
arguments, and ``python -m aiohttp.web planet_tracker.aiohttp_app:create_app [--access-log]`` passes it the
command line's leftover arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from aiohttp import web

from . import core
from .errors import PlanetTrackerError
from .page import page_bytes

JSON = "application/json"
log = logging.getLogger(__name__)


async def planet(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if "/" in name:
        # An encoded slash (%2F): Werkzeug decodes it before routing, so Flask finds no route; answer alike.
        raise web.HTTPNotFound()
    try:
        query = core.parse_query(name, request.query.items())
    except PlanetTrackerError as error:
        return web.Response(status=error.status, body=core.error_body(error), content_type=JSON)
    if query.io_ms:
        await asyncio.sleep(query.io_ms / 1000)  # stands in for a downstream call: yields to other requests
    return web.Response(body=core.position_body(query), content_type=JSON)


async def healthz(request: web.Request) -> web.Response:
    return web.Response(body=core.HEALTH_BODY, content_type=JSON)


@web.middleware
async def json_errors(request: web.Request, handler) -> web.StreamResponse:
    """Give the router's own errors (unknown path, wrong method) the same JSON bodies Flask gives."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        allowed = getattr(exc, "allowed_methods", None)
        headers = {"Allow": core.allow_header(allowed)} if allowed else None
        return web.Response(status=exc.status, body=core.status_body(exc.status), content_type=JSON, headers=headers)
    except Exception:
        log.exception("unhandled error for %s %s", request.method, request.path)
        return web.Response(status=500, body=core.status_body(500), content_type=JSON)


async def create_app(argv: list[str] | None = None, *, access_log: bool = False) -> web.Application:
    """Build the aiohttp application. ``--access-log`` in ``argv`` (or ``access_log=True``) keeps access logs."""
    parser = argparse.ArgumentParser(prog="planet_tracker.aiohttp_app:create_app")
    parser.add_argument("--access-log", action="store_true", help="log every request (off: it costs throughput)")
    access_log = parser.parse_args(argv or []).access_log or access_log
    if not access_log:
        # aiohttp formats no access line when its logger is disabled for INFO; `python -m aiohttp.web` turns
        # on DEBUG logging for everything, so say so explicitly.
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)

    page = page_bytes()

    async def index(request: web.Request) -> web.Response:
        return web.Response(body=page, content_type="text/html", charset="utf-8")

    app = web.Application(middlewares=[json_errors])
    app.router.add_get("/", index)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/planets/{name}", planet)
    return app

