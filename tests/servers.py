"""Real servers for the tests: the documented commands, started and stopped by the harness's launcher."""

from __future__ import annotations

import http.client
import os
import sys

HOST = "127.0.0.1"
PYTHON = sys.executable
BIN = os.path.dirname(sys.executable)

# The documented ways to serve each app; {port} is filled in.
COMMANDS = {
    "aiohttp-dev": [PYTHON, "-m", "aiohttp.web", "-H", HOST, "-P", "{port}", "planet_tracker.aiohttp_app:create_app"],
    "flask-dev": [PYTHON, "-m", "flask", "--app", "planet_tracker.flask_app", "run",
                  "--host", HOST, "--port", "{port}"],
    "aiohttp-gunicorn": [os.path.join(BIN, "gunicorn"), "-b", f"{HOST}:{{port}}", "--no-control-socket",
                         "planet_tracker.aiohttp_app:create_app", "--worker-class", "aiohttp.GunicornWebWorker"],
    "flask-gunicorn": [os.path.join(BIN, "gunicorn"), "-b", f"{HOST}:{{port}}", "--no-control-socket",
                       "planet_tracker.flask_app:create_app()"],
}


def request(port: int, path: str, method: str = "GET", timeout: float = 10) -> tuple[int, dict, bytes]:
    """One raw HTTP request: the path goes on the wire exactly as given."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()
