"""Real servers for the tests: started from the documented commands, stopped with their whole process group."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def request(port: int, path: str, method: str = "GET", timeout: float = 10) -> tuple[int, dict, bytes]:
    """One raw HTTP request: the path goes on the wire exactly as given."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@dataclass
class Server:
    port: int
    proc: subprocess.Popen
    log: IO[bytes]

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


@contextlib.contextmanager
def running(argv: list[str], env: dict[str, str] | None = None, deadline: float = 20) -> Iterator[Server]:
    """Start argv (with {port} filled in) in its own process group; yield once /healthz answers 200."""
    port = free_port()
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [arg.replace("{port}", str(port)) for arg in argv],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, **(env or {})},
    )
    try:
        end = time.monotonic() + deadline
        while True:
            if proc.poll() is not None or time.monotonic() > end:
                log.seek(0)
                raise RuntimeError(f"server {argv} did not become ready:\n{log.read().decode()[-2000:]}")
            with contextlib.suppress(OSError):
                if request(port, "/healthz", timeout=1)[0] == 200:
                    break
            time.sleep(0.05)
        yield Server(port, proc, log)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
