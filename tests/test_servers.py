"""The documented commands really start each app, and ``planet-tracker serve`` refuses what cannot work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from benchmarks.harness.launcher import launch

from .servers import BIN, COMMANDS, request

PLANET_TRACKER = os.path.join(BIN, "planet-tracker")
PATH = "/planets/mars?lon=145.051&lat=-39.754&when=2018-11-26T10:00:00Z"


def assert_serves(port: int) -> None:
    status, _headers, body = request(port, PATH)
    assert status == 200 and json.loads(body)["name"] == "mars"


def group(pgid: int) -> list[str]:
    return subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True, text=True).stdout.split()


def assert_group_gone(pgid: int) -> None:
    with pytest.raises(ProcessLookupError):
        os.killpg(pgid, 0)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_documented_commands(name):
    with launch(COMMANDS[name]) as server:
        assert_serves(server.port)
        # Past the server's own request-line limit the server answers, not the app: still a 4xx.
        assert 400 <= request(server.port, "/planets/mars?lon=" + "1" * 70000)[0] < 500
        pgid = server.proc.pid
    assert_group_gone(pgid)


@pytest.mark.parametrize("args", [
    ["aiohttp"],
    ["flask"],
    ["aiohttp", "--server", "gunicorn"],
    ["flask", "--server", "gunicorn", "--workers", "4"],
    ["flask", "--server", "gunicorn", "--worker-class", "gthread"],
    ["aiohttp", "--server", "gunicorn", "--workers", "2", "--worker-class", "aiohttp.GunicornUVLoopWebWorker"],
], ids=" ".join)
def test_serve(args):
    with launch([PLANET_TRACKER, "serve", *args, "--port", "{port}"]) as server:
        assert_serves(server.port)
        if "--workers" in args:
            # Workers boot one after another after the first answers: wait for all, the arbiter included.
            expected = int(args[args.index("--workers") + 1]) + 1
            end = time.monotonic() + 20
            while len(group(server.proc.pid)) != expected and time.monotonic() < end:
                time.sleep(0.1)
            assert len(group(server.proc.pid)) == expected
        pgid = server.proc.pid
    assert_group_gone(pgid)


@pytest.mark.parametrize("framework", ["aiohttp", "flask"])
@pytest.mark.parametrize("server", ["dev", "gunicorn"])
def test_access_log_only_when_asked(framework, server):
    base = [PLANET_TRACKER, "serve", framework, "--server", server, "--port", "{port}"]
    with launch(base) as quiet:
        request(quiet.port, "/planets/venus?io_ms=1")
        request(quiet.port, "/healthz")  # a second request: the first one's line would be out by now
        assert "io_ms=1" not in quiet.log_tail(1000)
    with launch([*base, "--access-log"]) as loud:
        request(loud.port, "/planets/venus?io_ms=1")
        end = time.monotonic() + 5  # the line is written just after the response
        while "/planets/venus?io_ms=1" not in loud.log_tail(1000) and time.monotonic() < end:
            time.sleep(0.05)
        assert "/planets/venus?io_ms=1" in loud.log_tail(1000)


@pytest.mark.parametrize("args,message", [
    (["serve", "aiohttp", "--server", "gunicorn", "--worker-class", "sync"], "answer every request with 500"),
    (["serve", "aiohttp", "--server", "gunicorn", "--worker-class", "gthread"], "answer every request with 500"),
    (["serve", "flask", "--server", "gunicorn", "--worker-class", "aiohttp.GunicornWebWorker"], "WSGI"),
    (["serve", "flask", "--workers", "4"], "--server gunicorn only"),
    (["serve", "flask", "--server", "gunicorn", "--workers", "0"], "--workers"),
    (["serve", "flask", "--port", "70000"], "--port"),
    (["serve", "django"], "invalid choice"),
    (["position", "pluto"], "unknown planet"),
    (["position", "mars", "--lon", "200"], "'lon' must be between -180 and 180"),
    (["position", "mars", "--when", "2018-13-01"], "'when' is not a real date"),
    ([], "required"),
])
def test_bad_arguments(args, message):
    result = subprocess.run([PLANET_TRACKER, *args], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and result.stdout == ""
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("planet-tracker") and message in last


def test_position_prints_the_api_body(servers):
    when = "2018-11-26T10:00:00Z"
    result = subprocess.run(
        [sys.executable, "-m", "planet_tracker", "position", "Mars", "--lon", "145.051", "--lat", "-39.754",
         "--elevation", "0", "--when", when], capture_output=True, check=True, timeout=30,
    )
    for port in servers.values():
        assert result.stdout == request(port, PATH + "&elevation=0")[2] + b"\n"
