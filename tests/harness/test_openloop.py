"""The open-loop generator (``openloop_client.py``) on loopback: on schedule and every answer checked, wrong answers,
transport errors of each kind, dropped and late requests, connections that close; and how its output is read."""

from __future__ import annotations

import json
import socket
import sys

import pytest

from benchmarks.harness import openloop, results
from benchmarks.harness.errors import LoadFailed
from benchmarks.harness.launcher import free_port, launch
from benchmarks.harness.openloop import OpenLoopResult, OpenLoopSettings
from benchmarks.harness.results import OpenLoopRun

from ..servers import COMMANDS

PLANET = "/planets/mars?lon=145.051&lat=-39.754&elevation=0"


@pytest.fixture(scope="module")
def aiohttp_server():
    with launch(COMMANDS["aiohttp-dev"]) as server:
        yield server


def test_a_run_on_schedule_checks_every_answer(aiohttp_server):
    result = openloop.run(aiohttp_server.url(PLANET), OpenLoopSettings(rate=200, duration_s=2))
    assert (result.scheduled, result.sent, result.answered) == (400, 400, 400)
    assert (result.dropped, result.failed, result.transport_errors) == (0, 0, 0)
    assert 0 < result.latency_ms["50"] <= result.latency_ms["99"] <= result.latency_ms["99.9"] <= \
        result.latency_ms["max"]
    # Last in, first out: at 200 req/s of sub-millisecond answers a handful of connections carry everything.
    assert 1 <= result.connections <= 20
    assert result.generator_cpu_s > 0 and result.wall_s >= 2 and result.lateness_ms["50"] >= 0


def test_answers_that_are_not_a_verified_2xx_are_wrong_answers(aiohttp_server):
    result = openloop.run(aiohttp_server.url("/planets/pluto"), OpenLoopSettings(rate=50, duration_s=1))
    assert result.failed == result.answered == result.sent == 50 and result.transport_errors == 0


def test_a_server_that_closes_every_connection_gets_a_new_one_per_request():
    # Werkzeug's development server answers "Connection: close" to every request.
    with launch(COMMANDS["flask-dev"]) as server:
        result = openloop.run(server.url(PLANET), OpenLoopSettings(rate=50, duration_s=1))
    assert result.answered == result.sent == 50 and result.failed == 0 and result.connections == 50


def test_a_refused_connection_is_a_transport_error_not_a_wrong_answer():
    result = openloop.run(f"http://127.0.0.1:{free_port()}{PLANET}", OpenLoopSettings(rate=20, duration_s=1))
    assert result.transport_errors == result.sent == 20 and result.answered == 0 and result.failed == 0
    assert result.transport_error_kinds == {"connect": 20, "read": 0, "timeout": 0}


def test_no_answer_within_the_timeout_is_a_transport_error_and_not_in_the_latency():
    with socket.socket() as silent:  # accepts connections (the kernel does) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}{PLANET}"
        result = openloop.run(url, OpenLoopSettings(rate=5, duration_s=1, timeout_s=1))
    assert result.transport_error_kinds == {"connect": 0, "read": 0, "timeout": 5} and result.answered == 0
    assert all(value != value for value in result.latency_ms.values())  # NaN: no answer, no latency


def test_requests_that_find_every_connection_waiting_are_dropped(aiohttp_server, monkeypatch):
    # Five connections allowed, answers that take a second, and 20 requests a second: after the fifth, every
    # connection is waiting for as long as the schedule lasts.
    monkeypatch.setattr(OpenLoopSettings, "connections", property(lambda self: 5))
    result = openloop.run(aiohttp_server.url(PLANET + "&io_ms=1000"), OpenLoopSettings(rate=20, duration_s=1))
    assert (result.connections, result.sent, result.answered, result.dropped) == (5, 5, 5, 15)
    assert not result.on_schedule and result.latency_ms["50"] >= 1000


def test_requests_sent_later_than_the_limit_are_late(aiohttp_server):
    result = openloop.run(aiohttp_server.url(PLANET), OpenLoopSettings(rate=100, duration_s=1, late_ms=0))
    assert result.late > 0 and result.off_schedule == result.late and not result.on_schedule


def test_the_command_runs_this_interpreter_and_can_be_pinned_to_a_cpu():
    argv = openloop.command("http://127.0.0.1:1/x", OpenLoopSettings(rate=200, duration_s=3), ("taskset", "-c", "1"))
    assert argv[:5] == ["taskset", "-c", "1", sys.executable, str(openloop.CLIENT)]
    assert argv[5:] == ["--url", "http://127.0.0.1:1/x", "--rate", "200", "--duration", "3", "--connections", "200",
                        "--timeout", "10", "--late-ms", "100"]


@pytest.mark.parametrize(("rate", "connections"), [(10, 50), (400, 400), (4000, 4000), (9000, 5000)])
def test_connections_cover_a_second_of_requests_waiting(rate, connections):
    # k6's 100 ms of VUs was too few: a stall of the shared machine or a queue at 80 % of capacity outlasted it.
    assert OpenLoopSettings(rate=rate).connections == connections


@pytest.mark.parametrize(("kwargs", "message"), [({"rate": 0.5}, "at least 1"), ({"rate": 10, "duration_s": 2.5},
                                                                                  "whole seconds")])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        OpenLoopSettings(**kwargs)


@pytest.mark.parametrize(("stdout", "returncode", "message"), [
    ("", 2, r"printed no result \(exit status 2\): openloop_client: need an http:// URL"),
    ("not json", 0, r"printed no result \(exit status 0\): openloop_client: need an http:// URL"),
    ('{"sent": 0}', 0, "sent no request"),
    ('{"sent": 3}', 0, r"unreadable result \(KeyError"),
])
def test_output_that_measured_nothing_is_a_clear_error(stdout, returncode, message):
    with pytest.raises(LoadFailed, match=message):
        openloop.parse(stdout, "openloop_client: need an http:// URL with a host, got 'x'\n", returncode)


def test_a_bad_url_is_the_generators_own_error():
    with pytest.raises(LoadFailed, match="need an http:// URL with a host"):
        openloop.run("ftp://nowhere/", OpenLoopSettings(rate=1, duration_s=1))


def run_record() -> OpenLoopResult:
    return OpenLoopResult(scheduled=1000, sent=998, dropped=2, failed=0, late=1, transport_errors=3,
                          latency_ms={"50": 0.7, "99": 9.7, "99.9": 18.5, "max": 18.8},
                          transport_error_kinds={"connect": 0, "read": 3, "timeout": 0},
                          lateness_ms={"50": 0.3, "99": 0.9, "max": 60.0}, connections=12, generator_cpu_s=0.4,
                          wall_s=10.1, server_cpu_s=2.0, steal_share=0.01, other_cpu_share=0.02)


def test_records_round_trip_and_refuse_inconsistent_states(tmp_path):
    ok = run_record()
    assert (ok.off_schedule, ok.dropped_share, ok.answered) == (3, 0.003, 995)
    records = (OpenLoopRun("aiohttp-dev", {"share": 0.5, "rate": 500}, "ok", None, ok),
               OpenLoopRun("aiohttp-dev", {"share": 0.8}, "not measured", "missed the schedule", ok),
               OpenLoopRun("flask-dev", {"share": 0.5}, "failed", "server died"))
    results.dump(results.Results({}, records), tmp_path / "r.json")
    assert results.load(tmp_path / "r.json").records == records
    with pytest.raises(ValueError):
        OpenLoopRun("x", {}, "failed", "why", ok)  # a failed run has no numbers
    with pytest.raises(ValueError):
        OpenLoopRun("x", {}, "not measured", None, ok)  # and one not measured says why


def test_a_record_of_a_k6_run_still_reads():
    # What the sweep wrote before 2026-12-01, when k6 was its open-loop generator.
    k6 = {"scheduled": 1501, "sent": 1501, "dropped": 0, "failed": 0, "generator_cpu_s": 0.8, "wall_s": 3.3,
          "latency_ms": {"50": 0.68, "99": 9.69, "99.9": 18.46, "max": 18.82}, "dropped_share": 0.0}
    result = OpenLoopResult.from_dict(json.loads(json.dumps(k6)))
    assert result.sent == 1501 and result.transport_errors == 0 and result.late == 0 and result.on_schedule
