"""A local stand-in for a slow remote site: every ``GET /delay`` answers after a fixed wait, on 127.0.0.1.

It owns the server side of the client scenarios (see ``client.py``) and nothing else. It is run by path with the
current interpreter (``python latency_server.py --port P [--delay-ms D]``) and needs only aiohttp.

    GET /healthz                  200 "ok"
    GET /delay?n=N&ms=D&status=S  waits D ms (default --delay-ms) with asyncio.sleep, then answers status S
                                  (default 200) with {"ok": true, "n": "N", "delay_ms": D}

The wait is a timer on one event loop, so any number of requests wait at the same time: the server adds no
queuing of its own, and what a client measures is its own concurrency. ``status`` exists so that tests can check
that clients fail on a wrong status. Nothing is logged per request: at 100 requests in 100 ms the log would cost
more than the answer.
"""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import web

HOST = "127.0.0.1"
MAX_DELAY_MS = 60_000.0
DELAY_MS = web.AppKey("delay_ms", float)


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def delay(request: web.Request) -> web.Response:
    query = request.query
    try:
        delay_ms = float(query.get("ms", request.app[DELAY_MS]))
        status = int(query.get("status", 200))
    except ValueError:
        raise web.HTTPBadRequest(text="ms must be a number and status an integer") from None
    if not 0 <= delay_ms <= MAX_DELAY_MS or not 200 <= status <= 599:
        raise web.HTTPBadRequest(text=f"ms must be in [0, {MAX_DELAY_MS:g}] and status in [200, 599]")
    await asyncio.sleep(delay_ms / 1000)
    return web.json_response({"ok": True, "n": query.get("n", ""), "delay_ms": delay_ms}, status=status)


def create_app(delay_ms: float) -> web.Application:
    app = web.Application()
    app[DELAY_MS] = delay_ms
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/delay", delay)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=100.0, help="wait when a request gives no ?ms= (100)")
    args = parser.parse_args(argv)
    # A large backlog: the gather scenario opens 100+ connections in the same instant. A short shutdown timeout:
    # the launcher's SIGTERM must not wait for sleeping handlers.
    web.run_app(create_app(args.delay_ms), host=HOST, port=args.port, access_log=None, print=None,
                backlog=1024, shutdown_timeout=0.5)


if __name__ == "__main__":
    main()
