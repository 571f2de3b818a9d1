"""The built-in load generator against real servers (aiohttp keeps connections, Flask's dev server closes them)."""

from __future__ import annotations

import json
import math
import sys
import time

import pytest

from benchmarks.harness.errors import LoadFailed
from benchmarks.harness.launcher import free_port, launch
from benchmarks.harness.loadgen.base import LoadSettings, run_load
from benchmarks.harness.loadgen.builtin import CLIENT, Builtin

AIOHTTP = [sys.executable, "-m", "aiohttp.web", "-H", "127.0.0.1", "-P", "{port}",
           "planet_tracker.aiohttp_app:create_app"]
FLASK = [sys.executable, "-m", "flask", "--app", "planet_tracker.flask_app", "run", "--host", "127.0.0.1",
         "--port", "{port}"]
PLANET = "/planets/mars?lon=2.35&lat=48.85&elevation=35"


@pytest.fixture(scope="module")
def aiohttp_server():
    with launch(AIOHTTP) as server:
        yield server


@pytest.fixture(scope="module")
def flask_server():
    with launch(FLASK) as server:
        yield server


def no_errors(result) -> bool:
    return not any(result.socket_errors.values())


def test_keepalive_run_against_aiohttp(aiohttp_server):
    result = run_load(Builtin(), aiohttp_server.url(PLANET), LoadSettings(concurrency=10, duration_s=1.0))
    assert result.generator == "builtin"
    assert result.completed > 0
    assert result.problems() == []
    assert result.keepalive_requests == result.completed
    assert 0.9 < result.duration_s < 3
    assert result.requests_per_s == pytest.approx(result.completed / result.duration_s)
    assert 0 < result.latency_ms["50"] <= result.latency_ms["90"] <= result.latency_ms["99"]
    assert result.extra["loop"] == "uvloop"
    assert result.generator_cpu_s > 0


def test_server_that_closes_every_connection(flask_server):
    result = run_load(Builtin(), flask_server.url(PLANET), LoadSettings(concurrency=5, duration_s=1.0))
    assert result.completed > 0
    assert result.problems() == []
    assert result.keepalive_requests == 0


def test_fixed_request_count_is_exact(aiohttp_server):
    result = run_load(Builtin(), aiohttp_server.url(PLANET), LoadSettings(concurrency=7, requests=137,
                                                                          duration_s=None))
    assert result.completed == 137
    assert result.problems() == []


def test_fixed_request_count_on_asyncio_loop(flask_server):
    result = run_load(Builtin(use_uvloop=False), flask_server.url(PLANET),
                      LoadSettings(concurrency=3, requests=30, duration_s=None))
    assert result.completed == 30
    assert result.problems() == []
    assert result.extra["loop"] == "asyncio"
    assert "--no-uvloop" in result.argv


def test_not_found_counts_as_non_2xx(aiohttp_server):
    result = run_load(Builtin(), aiohttp_server.url("/planets/vulcan"), LoadSettings(concurrency=5, requests=50,
                                                                                     duration_s=None))
    assert result.completed == 50
    assert result.non_2xx == 50
    assert no_errors(result)
    assert result.problems() == ["50 non-2xx responses"]


def test_nothing_listening_gives_connect_errors_not_a_hang():
    url = f"http://127.0.0.1:{free_port()}/healthz"
    started = time.monotonic()
    try:
        result = run_load(Builtin(), url, LoadSettings(concurrency=4, requests=40, duration_s=None, timeout_s=2))
    except LoadFailed:
        pass
    else:
        assert result.completed == 0
        assert result.socket_errors["connect"] == 40
        assert math.isnan(result.latency_ms["50"])
        assert "no response completed" in result.problems()
    assert time.monotonic() - started < 10


def test_slow_answers_count_as_timeouts(aiohttp_server):
    started = time.monotonic()
    result = run_load(Builtin(), aiohttp_server.url("/planets/mars?io_ms=1000"),
                      LoadSettings(concurrency=4, requests=8, duration_s=None, timeout_s=0.3))
    assert result.socket_errors["timeout"] == 8
    assert result.completed == 0
    assert time.monotonic() - started < 5


def test_no_keepalive_opens_a_connection_per_request(aiohttp_server):
    result = run_load(Builtin(), aiohttp_server.url(PLANET), LoadSettings(concurrency=5, requests=200,
                                                                          duration_s=None, keepalive=False))
    assert result.completed == 200
    assert result.problems() == []
    assert result.keepalive_requests == 0


def test_command_line():
    argv = Builtin().command("http://127.0.0.1:8080/healthz",
                             LoadSettings(concurrency=3, duration_s=2.5, timeout_s=4, keepalive=False))
    assert argv == [sys.executable, str(CLIENT), "--url", "http://127.0.0.1:8080/healthz", "--concurrency", "3",
                    "--timeout", "4", "--duration", "2.5", "--no-keepalive"]
    assert CLIENT.is_file()


def test_parse_reads_every_field():
    output = {
        "completed": 1200, "requests": 1203, "duration_s": 0.5, "requests_per_s": 2400.0, "non_2xx": 7,
        "status_classes": {"2xx": 1193, "4xx": 7},
        "socket_errors": {"connect": 1, "read": 2, "write": 0, "timeout": 0},
        "keepalive_requests": 1180, "reused_requests": 1180, "connections": 23,
        "latency_ms": {"50": 1.5, "90": 2.25, "99": 4.0, "mean": 1.75},
        "loop": "uvloop", "uvloop": "0.23.0", "python": "3.11.7",
    }
    argv = ["python", "builtin_client.py", "--url", "http://127.0.0.1:1/"]
    result = Builtin().parse(json.dumps(output) + "\n", "", 0, argv)
    assert result.generator == "builtin"
    assert result.version == Builtin().version()
    assert result.version.startswith("builtin-1 (python ")
    assert result.argv == tuple(argv)
    assert result.completed == 1200
    assert result.duration_s == 0.5
    assert result.requests_per_s == 2400.0
    assert result.non_2xx == 7
    assert result.socket_errors == {"connect": 1, "read": 2, "write": 0, "timeout": 0}
    assert result.failed == 0
    assert result.keepalive_requests == 1180
    assert result.latency_ms == {"50": 1.5, "90": 2.25, "99": 4.0, "mean": 1.75}
    assert result.extra == {"loop": "uvloop"}
    assert result.problems() == ["7 non-2xx responses", "socket errors connect 1, read 2"]


def test_parse_without_json_fails_with_the_last_error_line():
    with pytest.raises(LoadFailed, match=r"exit status 2\): builtin_client: need an http:// URL"):
        Builtin().parse("", "Traceback ...\nbuiltin_client: need an http:// URL with a host\n", 2, [])
    with pytest.raises(LoadFailed, match="no output on stderr"):
        Builtin().parse("not json\n", "", 0, [])
